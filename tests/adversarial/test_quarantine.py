"""I2: no claim that arrived quarantined is returned as verified without a validation decision.

The attacker is an agent whose writes are quarantined (no `set_quarantine` rule trusts it):
it asserts, re-asserts values others hold, races CAS updates and rides on the disagreements a
validation cross-check opens (`FactLedger.dispute`), hoping a fact's policy (latest wins, trust
ranking, first wins...) picks its value, a matcher folds it into a verified claim, or an
update path promotes it.

What "vouched" means, from the code: a value may be read as verified only if

* an assertion *arrived verified* with exactly that value: ``assert_fact`` resolved its
  status to ``"verified"`` (a direct ledger write by application code, or an agent a
  quarantine rule trusts), and no validation decision rejected or quarantined that claim
  since; or
* a validation decision made that claim verified: ``apply_decision(..., "verified")``,
  ``set_status(..., "verified")``, ``resolve(...)`` by hand (a resolver's own value too), or a
  validator's edit.

After every step, every read path a downstream agent has must agree: `get`, `list`,
``include_unverified`` reads, `claims`, agent views' `get`/`list`, and memory as of now.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph_sharedmem import (
    Check,
    FactConflictError,
    SharedMemory,
    TrustRanking,
    validation_node,
)
from langgraph_sharedmem.core.values import canonical_json
from tests._servers import fresh_database
from tests._spawn import run_together
from tests.adversarial import _quarantine_workers as workers
from tests.adversarial._stress import SCALE, race_seconds

SCOPE = ("app",)
SUBJECT = "acct"
TRUSTED = ("ops", "ops2")  # agents a quarantine rule trusts
UNTRUSTED = ("writer", "mallory")  # agents whose writes are quarantined
VALIDATOR = "checker"
READER = "reader"  # a downstream agent: reads, never writes
# One fact per policy; mallory ranks highest under trust ranking, so only the rule keeps its
# quarantined claims out of the ranking.
POLICIES: dict[str, Any] = {
    "plan": "latest_wins",
    "tier": TrustRanking({"mallory": 9, "writer": 5, "ops": 2, "ops2": 1}),
    "limit": "require_validation",
    "region": "first_wins",
}
ATTRS = tuple(POLICIES)
# Fewer on PostgreSQL: a database of its own per example costs ~0.3 s more.
POSTGRES_EXAMPLES = max(5, int(15 * SCALE))
# Near-identical spellings: the default matcher folds them into one claim.
VALUES = ("basic", "Basic.", "premium", "FREE", "free", "gold plan", "Gold plan!")


def _key(value: Any) -> str:
    return canonical_json(value, what="value")


class QuarantineMachine(RuleBasedStateMachine):
    """Trusted and quarantined agents, a validator and a human on four facts."""

    def __init__(self, server_url: str | None = None) -> None:
        """On a new SQLite file, or on a new database of the PostgreSQL server at
        ``server_url``."""
        super().__init__()
        self._cleanup = ExitStack()
        if server_url is None:
            root = tempfile.mkdtemp(prefix="i2-")
            self._cleanup.callback(shutil.rmtree, root, ignore_errors=True)
            where = str(Path(root) / "agents.db")
        else:
            where = self._cleanup.enter_context(fresh_database(server_url))
        self.mem = SharedMemory.open(where, index=None)
        mem = self.mem
        for agent in (*TRUSTED, *UNTRUSTED, VALIDATOR, READER):
            mem.register_agent(agent)
            mem.access.grant_scope(agent, "app", read=True, write=agent != READER)
        for agent in TRUSTED:
            mem.facts.set_quarantine(False, agent=agent)
        mem.facts.add_validator(VALIDATOR)
        for attr, policy in POLICIES.items():
            mem.facts.set_policy(policy, attribute=attr)
        # (attribute, canonical value) pairs that may be read as verified.
        self.vouched: set[tuple[str, str]] = set()

    def teardown(self) -> None:
        self.mem.close()
        self._cleanup.close()

    # -- helpers -----------------------------------------------------------------------------

    def _version(self, attr: str) -> int:
        fact = self.mem.facts.get(SCOPE, SUBJECT, attr, include_unverified=True)
        return 0 if fact is None else fact.version

    def _pending(self, attr: str, pick: int) -> Any:
        found = [p for p in self.mem.facts.pending(scopes=[SCOPE]) if p.attribute == attr]
        return found[pick % len(found)] if found else None

    def _vouch(self, attr: str, value: Any) -> None:
        self.vouched.add((attr, _key(value)))

    def _unvouch(self, claim_id: int) -> None:
        [record] = self.mem.facts.claim_records([claim_id])
        self.vouched.discard((record.attribute, _key(record.value)))

    # -- writes ------------------------------------------------------------------------------

    @initialize(values=st.lists(st.sampled_from(VALUES), min_size=len(ATTRS), max_size=len(ATTRS)))
    def seed(self, values: list[str]) -> None:
        """Application code sets every fact first, as it would in production."""
        for attr, value in zip(ATTRS, values, strict=True):
            self.mem.facts.assert_fact(SCOPE, SUBJECT, attr, value, author="app")
            self._vouch(attr, value)

    @rule(
        agent=st.sampled_from((*TRUSTED, "app")),
        attr=st.sampled_from(ATTRS),
        value=st.sampled_from(VALUES),
        cas=st.booleans(),
        stale=st.booleans(),
    )
    def trusted_assert(self, agent: str, attr: str, value: str, cas: bool, stale: bool) -> None:
        expected = None if not cas else max(self._version(attr) - int(stale), 0)
        try:
            if agent == "app":  # application code: a direct write is verified by default
                self.mem.facts.assert_fact(
                    SCOPE, SUBJECT, attr, value, author="app", expected_version=expected
                )
            else:
                self.mem.agent(agent).facts.assert_fact(
                    SCOPE, SUBJECT, attr, value, expected_version=expected
                )
        except FactConflictError:
            return
        self._vouch(attr, value)

    @rule(
        agent=st.sampled_from((*UNTRUSTED, "ops")),
        attr=st.sampled_from(ATTRS),
        value=st.sampled_from(VALUES),
        cas=st.booleans(),
        checked=st.booleans(),
    )
    def quarantined_assert(
        self, agent: str, attr: str, value: str, cas: bool, checked: bool
    ) -> None:
        expected = self._version(attr) if cas else None
        # A trusted agent may also submit a value for validation (status="quarantined").
        change = self.mem.agent(agent).facts.assert_fact(
            SCOPE, SUBJECT, attr, value, status="quarantined", expected_version=expected
        )
        if checked:  # a validation node's cross-check ran on it: a contradiction is disputed
            self.mem.facts.dispute(change.claim.id, by=VALIDATOR, reason="contradiction")

    @rule(attr=st.sampled_from(ATTRS), pick=st.integers(0, 9))
    def cross_check_dispute(self, attr: str, pick: int) -> None:
        """What the validation node's `CrossCheck` does with a contradicting claim."""
        record = self._pending(attr, pick)
        if record is not None:
            self.mem.facts.dispute(record.claim_id, by=VALIDATOR, reason="contradiction")

    # -- decisions ---------------------------------------------------------------------------

    @rule(
        attr=st.sampled_from(ATTRS),
        pick=st.integers(0, 9),
        decision=st.sampled_from(("verified", "rejected", "edit")),
        edit=st.sampled_from(VALUES),
    )
    def validator_decides(self, attr: str, pick: int, decision: str, edit: str) -> None:
        record = self._pending(attr, pick)
        if record is None:
            return
        extra = {"value": edit} if decision == "edit" else {}
        try:
            _, change = self.mem.facts.apply_decision(
                record.claim_id,
                decision,  # type: ignore[arg-type]
                by=VALIDATOR,
                reason="checked",
                expected_version=record.fact_version,
                **extra,
            )
        except FactConflictError:
            return
        if decision == "verified":
            self._vouch(attr, record.value)
        else:
            self.vouched.discard((attr, _key(record.value)))
        if decision == "edit" and change is not None:  # the validator's own words, exactly
            self._vouch(attr, edit)

    @rule(
        attr=st.sampled_from(ATTRS),
        pick=st.integers(0, 9),
        status=st.sampled_from(("verified", "rejected", "quarantined")),
    )
    def human_sets_status(self, attr: str, pick: int, status: str) -> None:
        claims = self.mem.facts.claims(SCOPE, SUBJECT, attr)
        if not claims:
            return
        claim = claims[pick % len(claims)]
        self.mem.facts.set_status(claim.id, status, by="human", reason="looked")  # type: ignore[arg-type]
        if status == "verified":
            self._vouch(attr, claim.value)
        else:
            self._unvouch(claim.id)

    @rule(
        attr=st.sampled_from(ATTRS),
        pick=st.integers(0, 9),
        value=st.none() | st.sampled_from(VALUES),
    )
    def human_resolves(self, attr: str, pick: int, value: str | None) -> None:
        [*_, last] = [None, *self.mem.facts.disagreements(SCOPE, SUBJECT, attr)]
        if last is None:
            return
        if value is None:
            claim = last.claims[pick % len(last.claims)]
            change = self.mem.facts.resolve(last.id, claim_id=claim.id, by="human", reason="mine")
        else:
            change = self.mem.facts.resolve(last.id, value, by="human", reason="mine")
        self._vouch(attr, change.claim.value)

    # -- what every reader sees --------------------------------------------------------------

    def _check(self, where: str, attr: str, value: Any, status: str) -> None:
        if status == "verified":
            assert (attr, _key(value)) in self.vouched, (
                f"{where}: {attr}={value!r} is read as verified, but no trusted author "
                f"asserted it and no validation decision verified it; vouched: "
                f"{sorted(self.vouched)}"
            )

    @invariant()
    def only_vouched_values_read_as_verified(self) -> None:
        facts, mem = self.mem.facts, self.mem
        reader, mallory = mem.agent(READER).facts, mem.agent("mallory").facts
        for attr in ATTRS:
            claims = facts.claims(SCOPE, SUBJECT, attr)
            assert sum(c.status == "verified" for c in claims) <= 1
            for c in claims:
                self._check("claims()", attr, c.value, c.status)
            for how, fact in (
                ("get", facts.get(SCOPE, SUBJECT, attr)),
                (
                    "get(include_unverified)",
                    facts.get(SCOPE, SUBJECT, attr, include_unverified=True),
                ),
                ("reader view get", reader.get("app", SUBJECT, attr)),
                ("mallory view get", mallory.get("app", SUBJECT, attr)),
            ):
                if fact is not None:
                    self._check(how, attr, fact.value, fact.status)
            plain = facts.get(SCOPE, SUBJECT, attr)
            assert plain is None or plain.status == "verified"
        for how, listed in (
            ("list", facts.list(SCOPE)),
            ("list(include_unverified)", facts.list(SCOPE, include_unverified=True)),
            ("reader view list", reader.list("app")),
            ("mallory view list", mallory.list("app", SUBJECT)),
            ("as_of(now)", mem.as_of(datetime.now(UTC)).facts(SCOPE)),
        ):
            for fact in listed:
                self._check(how, fact.attribute, fact.value, fact.status)
        for fact in reader.list("app"):  # the reader wrote nothing: it sees verified only
            assert fact.status == "verified"


QuarantineMachine.TestCase.settings = settings(
    settings.get_profile("adversarial"), stateful_step_count=30
)
test_quarantined_claims_never_read_as_verified = QuarantineMachine.TestCase


def test_quarantined_claims_never_read_as_verified_on_postgresql(postgres_url: str) -> None:
    """The same machine where the ledger's SQL is PostgreSQL's: a database per example."""
    run_state_machine_as_test(
        lambda: QuarantineMachine(postgres_url),
        settings=settings(QuarantineMachine.TestCase.settings, max_examples=POSTGRES_EXAMPLES),
    )


def test_the_issue_repro_stays_closed(backend_url: str) -> None:
    """Issue 16's sequence: a quarantined claim rides a cross-check's open disagreement."""
    with SharedMemory.open(backend_url, index=None) as mem:
        for agent in ("writer", "mallory"):
            mem.register_agent(agent)
            mem.access.grant_scope(agent, "app", read=True, write=True)
        mem.facts.assert_fact("app", "acct", "plan", "basic", author="ops")
        c = mem.agent("writer").facts.assert_fact("app", "acct", "plan", "premium")
        assert c.claim.status == "quarantined"
        assert mem.facts.dispute(c.claim.id, by="v", reason="x") is not None
        evil = mem.agent("mallory").facts.assert_fact("app", "acct", "plan", "FREE")
        assert evil.claim.status == "quarantined" and not evil.accepted
        assert mem.facts.get("app", "acct", "plan").value == "basic"
        # It waits for a validator like any quarantined claim, in the same disagreement.
        assert evil.claim.id in {p.claim_id for p in mem.facts.pending()}
        [open_] = mem.facts.disagreements("app")
        assert {cl.value for cl in open_.claims} == {"basic", "premium", "FREE"}


def test_quarantined_writers_race_readers(backend_url: str) -> None:
    """Quarantined writer processes assert and dispute while a trusted one keeps updating the
    facts; reader processes never see a value only quarantined claims hold (on SQLite and on
    PostgreSQL, where the ledger runs under its advisory lock)."""
    path = backend_url
    workers.prepare(path)
    seconds = race_seconds(2)
    roles = [("trusted", 0), ("attacker", 1), ("attacker", 2), ("reader", 3), ("reader", 4)]
    outcomes = run_together(workers.act, [(path, role, i, seconds) for role, i in roles])
    errors = [o for o in outcomes if o[0] == "error"]
    assert errors == []
    by_role: dict[str, list[Any]] = {}
    for role, _i, n, seen in outcomes:
        by_role.setdefault(role, []).append((n, seen))
    assert all(n > 0 for n, _ in by_role["reader"])  # the readers really read
    assert all(n > 0 for n, _ in by_role["attacker"])  # and the attack really ran
    poisoned = sorted({v for _, seen in by_role["reader"] for v in seen})
    assert poisoned == [], f"readers saw values only quarantined claims held: {poisoned}"
    # After the race the ledger agrees: every verified value is one a trusted writer asserted.
    with SharedMemory.open(path, index=None) as mem:
        for fact in mem.facts.list("app"):
            assert fact.value.startswith("good-"), fact


class _GraphState(TypedDict, total=False):
    validation: dict[str, Any]
    seen: list[Any]


@pytest.mark.parametrize(
    "policy",
    ["latest_wins", "first_wins", {"mallory": 9, "writer": 5, "ops": 1}],
    ids=["latest_wins", "first_wins", "trust_ranking"],
)
def test_a_validation_node_run_twice_never_clears_a_ride(backend_url: str, policy: Any) -> None:
    """A real graph: the writer's claim contradicts the verified value, so the node's
    cross-check disputes it; mallory then writes into that open disagreement, and a second
    validation node (a retry of the first's work) runs. Downstream readers and both reports
    never show mallory's value as verified, even with a validator that approves everything."""
    with SharedMemory.open(backend_url, index=None) as mem:
        for agent in ("writer", "mallory", "reader"):
            mem.register_agent(agent)
            mem.access.grant_scope(agent, "app", read=True, write=agent != "reader")
        mem.facts.set_policy(policy)
        mem.facts.assert_fact("app", "acct", "plan", "basic", author="ops")

        def agent_writes(agent: str, value: str) -> Any:
            def node(state: _GraphState, config: RunnableConfig) -> dict[str, Any]:
                view = mem.agent(agent, run_id=config["configurable"]["thread_id"])
                view.facts.assert_fact("app", "acct", "plan", value)
                return {}

            return node

        def reader(state: _GraphState, config: RunnableConfig) -> dict[str, Any]:
            view = mem.agent("reader", run_id=config["configurable"]["thread_id"])
            fact = view.facts.get("app", "acct", "plan")
            listed = [f.value for f in view.facts.list("app")]
            return {"seen": [*state.get("seen", []), None if fact is None else fact.value, *listed]}

        approve_all = Check(lambda claim: True, name="approve_all")
        builder = StateGraph(_GraphState)
        builder.add_node("writer", agent_writes("writer", "premium"))
        builder.add_node("validate", validation_node(mem, [approve_all]))
        builder.add_node("mallory", agent_writes("mallory", "FREE"))
        builder.add_node("validate_again", validation_node(mem, [approve_all], name="again"))
        builder.add_node("read_1", reader)
        builder.add_node("read_2", reader)
        builder.add_edge(START, "writer")
        builder.add_edge("writer", "validate")
        builder.add_edge("validate", "mallory")
        builder.add_edge("mallory", "read_1")
        builder.add_edge("read_1", "validate_again")
        builder.add_edge("validate_again", "read_2")
        builder.add_edge("read_2", END)
        graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)
        out = graph.invoke({}, {"configurable": {"thread_id": "t1"}})

        assert set(out["seen"]) == {"basic"}
        verified = [f["value"] for f in out["validation"]["verified"]]
        assert "FREE" not in verified and "premium" not in verified
        assert mem.facts.get("app", "acct", "plan").value == "basic"  # type: ignore[union-attr]
        free = next(c for c in mem.facts.claims("app", "acct", "plan") if c.value == "FREE")
        assert free.status == "quarantined" and all(s.held for s in free.sources)
