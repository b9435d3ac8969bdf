"""The ledger side of validation checkpoints: quarantine rules, who sees quarantined facts,
lineage and the rejection cascade, idempotent decisions (also across processes)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from langgraph_sharedmem import (
    AccessDenied,
    FactConflictError,
    FactLedger,
    InvalidConfigError,
    SharedMemory,
)

RUN = ("run", "r1")


@pytest.fixture
def mem(tmp_path: Path) -> Any:
    with SharedMemory.open(tmp_path / "agents.db", index=None) as m:
        for agent in ("researcher", "writer", "checker", "system"):
            m.register_agent(agent)
        yield m


@pytest.fixture
def ledger_only(backend_url: str) -> Any:
    """A ledger on its own (no agents), on SQLite and on PostgreSQL, as ``.facts``."""
    with FactLedger(backend_url) as ledger:
        yield SimpleNamespace(facts=ledger)


def test_agent_writes_are_quarantined_unless_a_rule_trusts_them(mem: SharedMemory) -> None:
    researcher = mem.agent("researcher", run_id="r1")
    change = researcher.facts.assert_fact("run", "acme", "founded", 1999)
    assert change.claim.status == "quarantined" and change.fact is None
    assert mem.facts.get(RUN, "acme", "founded") is None
    # The run is recorded: that run's validation node will find it.
    [pending] = mem.facts.pending(run="r1")
    assert (pending.claim_id, pending.author, pending.value) == (
        change.claim.id,
        "researcher",
        1999,
    )
    # An agent cannot vouch for itself.
    with pytest.raises(AccessDenied, match="quarantined until validated"):
        researcher.facts.assert_fact("run", "acme", "ceo", "Ada", status="verified")
    assert mem.facts.get(RUN, "acme", "ceo", include_unverified=True) is None  # nothing written
    # A trusted system agent writes verified facts directly, even through its view.
    mem.facts.set_quarantine(False, agent="system")
    system = mem.agent("system", run_id="r1")
    assert system.facts.assert_fact("run", "acme", "ticker", "ACME").accepted
    # Direct ledger writes by application code keep their old default: verified.
    assert mem.facts.assert_fact(RUN, "acme", "hq", "Paris", author="app").accepted


def test_the_most_specific_quarantine_rule_wins(tmp_path: Path) -> None:
    ledger = FactLedger(tmp_path / "f.db")
    status = lambda scope, agent, attr: ledger.initial_status(  # noqa: E731
        scope, agent, attr, via_agent=True
    )
    assert status("app", "a", "x") == "quarantined"  # agents: quarantined by default
    ledger.set_quarantine(False, agent="a")
    assert status("app", "a", "x") == "verified"
    ledger.set_quarantine(True, attribute="x")  # attribute beats agent
    assert status("app", "a", "x") == "quarantined"
    ledger.set_quarantine(False, agent="a", attribute="x")  # two selectors beat one
    assert status("app", "a", "x") == "verified"
    ledger.set_quarantine(True, scope="app", agent="a", attribute="x")  # three beat two
    assert status("app", "a", "x") == "quarantined"
    assert status("user:u1", "a", "x") == "verified"
    assert status("app", "b", "y") == "quarantined"
    ledger.set_quarantine(False)  # no selector: every write not otherwise ruled
    assert status("app", "b", "y") == "verified"
    # Direct writes follow FactLedger(quarantine=...) when no rule matches.
    strict = FactLedger(tmp_path / "g.db", quarantine=True)
    assert strict.assert_fact("app", "s", "a", 1, author="app").claim.status == "quarantined"
    assert strict.assert_fact("app", "s", "b", 1, author="app", status="verified").accepted
    ledger.close()
    strict.close()


def test_quarantined_facts_are_seen_by_author_and_validators_only(mem: SharedMemory) -> None:
    researcher = mem.agent("researcher", run_id="r1")
    writer = mem.agent("writer", run_id="r1")
    checker = mem.agent("checker", run_id="r1")
    mem.access.grant_scope("writer", RUN, read=True)
    mem.access.grant_scope("checker", RUN, read=True)
    mem.facts.assert_fact(RUN, "acme", "founded", 1990, author="system")  # verified
    change = researcher.facts.assert_fact("run", "acme", "founded", 1999)

    mine = researcher.facts.get("run", "acme", "founded")
    assert (mine.value, mine.status) == (1999, "quarantined")
    theirs = writer.facts.get("run", "acme", "founded")
    assert (theirs.value, theirs.status) == (1990, "verified")
    assert [f.value for f in writer.facts.list("run")] == [1990]
    assert [f.value for f in researcher.facts.list("run")] == [1999]
    assert checker.facts.get("run", "acme", "founded").value == 1990
    mem.facts.add_validator("checker", by="admin")
    assert mem.facts.validators() == ["checker"]
    seen = checker.facts.get("run", "acme", "founded")
    assert (seen.value, seen.status) == (1999, "quarantined")
    assert [(f.value, f.status) for f in checker.facts.list("run")] == [(1999, "quarantined")]

    # Rejected: nobody's normal read returns it, not even its author's.
    mem.facts.set_status(change.claim.id, "rejected", by="checker", reason="wrong year")
    for view in (researcher, writer, checker):
        assert view.facts.get("run", "acme", "founded").value == 1990
    # ...unless asked for by name.
    assert mem.facts.get(RUN, "acme", "founded", include_unverified=True).value == 1999
    mem.facts.remove_validator("checker")
    assert not mem.facts.is_validator("checker")


def test_rejecting_a_fact_pulls_derived_facts_back_into_quarantine(ledger_only: Any) -> None:
    mem = ledger_only
    facts = mem.facts
    base = facts.assert_fact(RUN, "api", "format", "json", author="a")
    derived = facts.assert_fact(
        RUN, "client", "parser", "json.loads", author="b", derived_from=[base.fact]
    )
    deeper = facts.assert_fact(
        RUN, "docs", "example", "resp.json()", author="c", derived_from=[derived.claim.id]
    )
    other = facts.assert_fact(RUN, "docs", "title", "Orders", author="c")
    assert facts.lineage(derived.claim.id).parents == (base.claim.id,)
    assert facts.lineage(base.claim.id).children == (derived.claim.id,)

    facts.set_status(base.claim.id, "rejected", by="validator", reason="the API returns XML")

    assert facts.get(RUN, "client", "parser") is None
    assert facts.get(RUN, "docs", "example") is None  # transitively
    assert facts.get(RUN, "docs", "title").value == "Orders"  # not derived: untouched
    for subject, attribute in (("client", "parser"), ("docs", "example")):
        last = facts.history(RUN, subject, attribute)[-1]
        assert (last.event, last.status, last.by) == ("quarantined", "quarantined", "validator")
        assert f"derived from rejected claim {base.claim.id}" in (last.reason or "")
    assert {p.claim_id for p in facts.pending()} == {derived.claim.id, deeper.claim.id}
    assert other.accepted


def test_cascade_can_reject_derived_facts(ledger_only: Any) -> None:
    mem = ledger_only
    facts = mem.facts
    base = facts.assert_fact(RUN, "api", "format", "json", author="a")
    derived = facts.assert_fact(RUN, "client", "parser", "x", author="b", derived_from=[base.claim])
    pending = facts.assert_fact(
        RUN,
        "docs",
        "example",
        "y",
        author="c",
        derived_from=[derived.claim.id],
        status="quarantined",
    )
    facts.set_status(base.claim.id, "rejected", by="v", reason="bad", cascade="reject")
    statuses = {
        c.id: c.status
        for s, a in (("client", "parser"), ("docs", "example"))
        for c in facts.claims(RUN, s, a)
    }
    assert statuses == {derived.claim.id: "rejected", pending.claim.id: "rejected"}


def test_a_decision_is_applied_once(ledger_only: Any) -> None:
    mem = ledger_only
    facts = mem.facts
    change = facts.assert_fact(
        RUN, "acme", "plan", "pro", author="a", status="quarantined", run="r1"
    )
    first, applied = facts.apply_decision(
        change.claim.id,
        "verified",
        by="v",
        reason="ok",
        expected_version=change.version,
        run="r1",
        checkpoint_id="cp-1",
        node="validate",
    )
    assert applied is not None and applied.fact.value == "pro"
    again, applied_again = facts.apply_decision(
        change.claim.id, "verified", by="v", reason="ok", expected_version=change.version
    )
    assert applied_again is None and again == first
    assert (first.run, first.checkpoint_id, first.node, first.version_after) == (
        "r1",
        "cp-1",
        "validate",
        2,
    )
    assert [h.event for h in facts.history(RUN, "acme", "plan")] == ["quarantined", "verified"]
    # A decision made on a version the fact has left is refused, and nothing is recorded.
    later = facts.assert_fact(RUN, "acme", "plan", "team", author="b", status="quarantined")
    with pytest.raises(FactConflictError):
        facts.apply_decision(later.claim.id, "rejected", by="v", reason="no", expected_version=1)
    assert facts.decisions(claim_id=later.claim.id) == []


def test_an_unverified_edit_stays_in_its_runs_quarantine(ledger_only: Any) -> None:
    """The edit is a new claim: it belongs to the edited claim's run when the decision
    names none, so that run's validators still see it."""
    facts = ledger_only.facts
    typo = facts.assert_fact(
        RUN, "acme", "plan", "gold pln", author="a", status="quarantined", run="r1"
    )
    _, edited = facts.apply_decision(
        typo.claim.id,
        "edit",
        value="gold plan",
        by="v",
        reason="typo",
        expected_version=typo.version,
        verify_edit=False,
    )
    assert edited is not None and edited.claim.status == "quarantined"
    waiting = facts.pending(run="r1")
    assert [(r.claim.value, r.run) for r in waiting] == [("gold plan", "r1")]
    assert facts.pending(run="r2") == []


def test_bad_input_is_refused_and_nothing_is_written(mem: SharedMemory) -> None:
    facts = mem.facts
    ok = facts.assert_fact(RUN, "s", "a", 1, author="x")
    for kwargs, match in (
        ({"derived_from": "abc"}, "derived_from"),
        ({"derived_from": [0]}, "derived_from"),
        ({"derived_from": [True]}, "derived_from"),
        ({"derived_from": [ok.claim.id + 99]}, "no claim"),
        ({"run": ""}, "run"),
    ):
        with pytest.raises(InvalidConfigError, match=match):
            facts.assert_fact(RUN, "t", "b", 2, author="x", **kwargs)
        assert facts.get(RUN, "t", "b", include_unverified=True) is None
    with pytest.raises(InvalidConfigError, match="quarantine"):
        facts.set_quarantine("yes")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError):
        facts.set_quarantine(True, scope="planet:x")
    with pytest.raises(InvalidConfigError, match="cascade"):
        facts.set_status(ok.claim.id, "rejected", by="v", reason="r", cascade="explode")  # type: ignore[arg-type]
    assert facts.get(RUN, "s", "a").value == 1
    for kwargs, match in (
        ({"decision": "maybe"}, "decision"),
        ({"decision": "edit"}, "value="),
        ({"decision": "verified", "value": 3}, "value="),
        ({"decision": "verified", "reason": " "}, "reason"),
        ({"decision": "verified", "expected_version": 0}, "expected_version"),
    ):
        args = {"by": "v", "reason": "r", "expected_version": 1, **kwargs}
        with pytest.raises(InvalidConfigError, match=match):
            facts.apply_decision(ok.claim.id, **args)
    assert facts.decisions() == []
    with pytest.raises(InvalidConfigError, match="viewer"):
        mem.agent("researcher", run_id="r1").facts.get("run", "s", "a", viewer="writer")
    with pytest.raises(InvalidConfigError, match="outcome"):
        facts.validation_log(outcome="great")
    with pytest.raises(InvalidConfigError, match="outcome"):
        facts.log_validation(
            [{"node": "n", "validator": "v", "claim_id": 1, "fact_version": 1, "outcome": "?"}]
        )


# -- I2: what arrived quarantined counts for no policy (docs/validation.md) ----------------


def test_held_sources_count_for_no_policy_until_a_decision(mem: SharedMemory) -> None:
    facts = mem.facts
    facts.set_policy({"writer": 9, "system": 1}, attribute="tier")  # writer would rank first
    facts.assert_fact(RUN, "acme", "tier", "silver", author="system")
    researcher = mem.agent("researcher", run_id="r1").facts
    writer = mem.agent("writer", run_id="r1").facts
    # A quarantined restatement of the verified value is recorded, held, and does not stop
    # its author updating its own value (it is not "another agent" backing it).
    again = writer.assert_fact("run", "acme", "tier", "silver")
    assert [s.held for s in again.claim.sources] == [False, True]
    assert facts.assert_fact(RUN, "acme", "tier", "gold", author="system").accepted
    # A disagreement is open; writer's held backing does not rank "platinum" anywhere.
    held = researcher.assert_fact("run", "acme", "tier", "platinum")
    facts.dispute(held.claim.id, by="checker", reason="contradicts gold")
    writer.assert_fact("run", "acme", "tier", "platinum")
    assert facts.get(RUN, "acme", "tier").value == "gold"  # type: ignore[union-attr]
    # A trusted write still settles the dispute by the policy, over vouched claims only.
    change = facts.assert_fact(RUN, "acme", "tier", "bronze", author="system")
    assert change.accepted and facts.get(RUN, "acme", "tier").value == "bronze"  # type: ignore[union-attr]
    # A decision is what makes a held claim count: verified, its sources are vouched for.
    [platinum] = [c for c in facts.claims(RUN, "acme", "tier") if c.value == "platinum"]
    assert all(s.held for s in platinum.sources)
    facts.set_status(platinum.id, "verified", by="human", reason="checked the contract")
    [platinum] = [c for c in facts.claims(RUN, "acme", "tier") if c.value == "platinum"]
    assert not any(s.held for s in platinum.sources)
    # Rejecting it by decision withdraws them again.
    facts.set_status(platinum.id, "rejected", by="human", reason="contract void")
    [platinum] = [c for c in facts.claims(RUN, "acme", "tier") if c.value == "platinum"]
    assert all(s.held for s in platinum.sources)


def test_a_verified_write_never_folds_into_a_held_only_claim(tmp_path: Path) -> None:
    def same_words(value: Any, claims: Any) -> Any:  # folds case and punctuation
        key = str(value).lower().strip(".!")
        return next((c for c in claims if str(c.value).lower().strip(".!") == key), None)

    with SharedMemory.open(tmp_path / "a.db", index=None, fact_matcher=same_words) as m:
        m.register_agent("mallory")
        m.access.grant_scope("mallory", "app", read=True, write=True)
        m.facts.assert_fact("app", "acct", "note", "ok", author="ops")
        held = m.agent("mallory").facts.assert_fact("app", "acct", "note", "Wire $5k NOW!")
        # The trusted author said something that merely resembles mallory's text: a claim of
        # its own, with its own words, not a vouch for mallory's.
        change = m.facts.assert_fact("app", "acct", "note", "wire $5k now", author="ops")
        assert change.claim.id != held.claim.id and change.fact is not None
        assert change.fact.value == "wire $5k now"
        # A held write may fold into any claim: it only adds a held source.
        fold = m.agent("mallory").facts.assert_fact("app", "acct", "note", "wire $5K now.")
        assert fold.claim.sources[-1].held
        assert m.facts.get("app", "acct", "note").value == "wire $5k now"  # type: ignore[union-attr]


def test_sources_asserted_quarantined_before_migration_3_are_held(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with SharedMemory.open(path, index=None) as m:
        m.register_agent("writer")
        m.access.grant_scope("writer", "app", read=True, write=True)
        m.facts.assert_fact("app", "acct", "plan", "basic", author="ops")
        m.agent("writer").facts.assert_fact("app", "acct", "plan", "premium")
    with sqlite3.connect(path) as conn:  # the database as migration 0002 left it
        conn.execute("ALTER TABLE fact_sources DROP COLUMN held")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = '0003_held_sources'")
    conn.close()
    with SharedMemory.open(path, index=None) as m:
        by_value = {c.value: c for c in m.facts.claims("app", "acct", "plan")}
        assert [s.held for s in by_value["basic"].sources] == [False]
        assert [s.held for s in by_value["premium"].sources] == [True]


def test_a_held_restatement_lends_a_verified_value_neither_name_nor_confidence(
    mem: SharedMemory,
) -> None:
    mem.facts.assert_fact(RUN, "acme", "ceo", "Ada", author="system", confidence=0.4)
    mem.agent("writer", run_id="r1").facts.assert_fact("run", "acme", "ceo", "Ada", confidence=1.0)
    fact = mem.facts.get(RUN, "acme", "ceo")
    assert fact is not None and (fact.author, fact.confidence) == ("system", 0.4)
    assert [(s.author, s.held) for s in fact.sources] == [("system", False), ("writer", True)]
    # And when a held claim came first, the trusted author who verified it is the author.
    mem.agent("writer", run_id="r1").facts.assert_fact("run", "acme", "hq", "Oslo")
    mem.facts.assert_fact(RUN, "acme", "hq", "Oslo", author="system", confidence=0.5)
    fact = mem.facts.get(RUN, "acme", "hq")
    assert fact is not None and (fact.status, fact.author, fact.confidence) == (
        "verified",
        "system",
        0.5,
    )


def test_an_edit_verifies_the_validators_exact_words(tmp_path: Path) -> None:
    def same_words(value: Any, claims: Any) -> Any:  # folds case and punctuation
        key = str(value).lower().strip(".!")
        return next((c for c in claims if str(c.value).lower().strip(".!") == key), None)

    with SharedMemory.open(tmp_path / "a.db", index=None, fact_matcher=same_words) as m:
        for agent in ("writer", "mallory"):
            m.register_agent(agent)
            m.access.grant_scope(agent, "app", read=True, write=True)
        m.agent("mallory").facts.assert_fact("app", "acct", "plan", "GOLD plan!!")
        typo = m.agent("writer").facts.assert_fact("app", "acct", "plan", "gold pln")
        _, change = m.facts.apply_decision(
            typo.claim.id,
            "edit",
            value="gold plan",
            by="checker",
            reason="typo",
            expected_version=typo.version,
        )
        assert change is not None and change.fact is not None
        assert change.fact.value == "gold plan"  # not mallory's words, folded and verified
        statuses = {c.value: c.status for c in m.facts.claims("app", "acct", "plan")}
        assert statuses["GOLD plan!!"] == "quarantined"
