"""The fact ledger on a real SQLite file: versions, sources, policies, statuses and history."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from langgraph_sharedmem import (
    FactConflictError,
    FactLedger,
    InvalidConfigError,
    RequireValidation,
    Scope,
    SharedMemory,
    TrustRanking,
)

USER = ("user", "u1")


@pytest.fixture
def ledger(backend_url: str) -> Iterator[FactLedger]:
    with FactLedger(backend_url) as ledger:
        yield ledger


def test_assert_get_and_versions(ledger: FactLedger) -> None:
    first = ledger.assert_fact(
        USER,
        "order:42",
        "status",
        "processing",
        author="fulfilment",
        source={"tool": "wms.lookup"},
        confidence=0.9,
    )
    assert (first.version, first.accepted) == (1, True)
    fact = ledger.get(USER, "order:42", "status")
    assert fact is not None
    assert (fact.value, fact.status, fact.version, fact.author) == (
        "processing",
        "verified",
        1,
        "fulfilment",
    )
    assert fact.scope == Scope.user("u1") and fact.confidence == 0.9
    assert fact.sources[0].source == {"tool": "wms.lookup"} and not fact.contested
    # The same author updating its own value: a new version, the old one superseded.
    second = ledger.assert_fact(
        USER,
        "order:42",
        "status",
        "shipped",
        author="fulfilment",
        expected_version=1,
        reason="carrier scan",
    )
    assert second.version == 2 and second.fact and second.fact.value == "shipped"
    statuses = {c.value: c.status for c in ledger.claims(USER, "order:42", "status")}
    assert statuses == {"processing": "superseded", "shipped": "verified"}
    assert ledger.get(USER, "order:42", "missing") is None
    assert ledger.get(("user", "u2"), "order:42", "status") is None  # scopes never meet


def test_compare_and_set_refuses_a_stale_version(ledger: FactLedger) -> None:
    ledger.assert_fact("app", "acme", "seats", 10, author="billing", expected_version=0)
    with pytest.raises(FactConflictError) as info:
        ledger.assert_fact("app", "acme", "seats", 11, author="billing", expected_version=0)
    assert (info.value.expected_version, info.value.current_version) == (0, 1)
    ledger.assert_fact("app", "acme", "seats", 11, author="billing", expected_version=1)
    with pytest.raises(FactConflictError, match="version 2, not 1"):
        ledger.assert_fact("app", "acme", "seats", 12, author="billing", expected_version=1)
    fact = ledger.get("app", "acme", "seats")
    assert fact and (fact.value, fact.version) == (11, 2)
    assert [v.version for v in ledger.history("app", "acme", "seats")] == [1, 2]


def test_identical_value_is_one_fact_with_several_sources(ledger: FactLedger) -> None:
    ledger.assert_fact(
        USER,
        "u1",
        "address",
        {"city": "Oslo", "zip": "0150"},
        author="crm",
        source={"run_id": "r1"},
        confidence=0.6,
    )
    again = ledger.assert_fact(
        USER,
        "u1",
        "address",
        {"zip": "0150", "city": "Oslo"},
        author="support",
        source={"checkpoint_id": "c9"},
        confidence=0.8,
    )
    assert again.version == 1  # a restatement changes nothing readers see
    [claim] = ledger.claims(USER, "u1", "address")
    assert [(s.author, s.source) for s in claim.sources] == [
        ("crm", {"run_id": "r1"}),
        ("support", {"checkpoint_id": "c9"}),
    ]
    assert claim.confidence == 0.8 and claim.authors == {"crm", "support"}
    assert ledger.disagreements(status=None) == []
    # 1 and 1.0 are different JSON, hence different claims.
    ledger.assert_fact("app", "x", "n", 1, author="a")
    ledger.assert_fact("app", "x", "n", 1.0, author="a")
    assert len(ledger.claims("app", "x", "n")) == 2


def test_matcher_hook_folds_near_identical_values(db_path: Path) -> None:
    def same_text(value: object, claims: list) -> object:
        for claim in claims:
            if str(claim.value).strip().lower() == str(value).strip().lower():
                return claim
        return None

    with FactLedger(db_path, matcher=same_text) as ledger:
        ledger.assert_fact("app", "acme", "ceo", "Ada Lovelace", author="a")
        ledger.assert_fact("app", "acme", "ceo", " ada lovelace", author="b")
        [claim] = ledger.claims("app", "acme", "ceo")
        assert claim.value == "Ada Lovelace" and claim.authors == {"a", "b"}


def test_latest_wins_by_default_and_keeps_the_disagreement(ledger: FactLedger) -> None:
    ledger.assert_fact("app", "acme", "plan", "pro", author="billing")
    change = ledger.assert_fact("app", "acme", "plan", "free", author="sales")
    assert change.accepted and change.disagreement_id is not None
    assert ledger.get("app", "acme", "plan").value == "free"  # type: ignore[union-attr]
    assert not ledger.is_contested("app", "acme", "plan")
    [d] = ledger.disagreements(status="settled")
    assert d.policy == "latest_wins" and d.decided_by == "policy:latest_wins"
    assert {c.value: c.status for c in d.claims} == {"pro": "superseded", "free": "verified"}


def test_first_wins_rejects_the_newcomer(ledger: FactLedger) -> None:
    ledger.set_policy("first_wins", attribute="founded")
    ledger.assert_fact("app", "acme", "founded", 1999, author="a")
    change = ledger.assert_fact("app", "acme", "founded", 2001, author="b")
    assert not change.accepted and change.claim.status == "rejected"
    assert change.fact and change.fact.value == 1999
    rejected = ledger.get("app", "acme", "founded", include_unverified=True)
    assert rejected and (rejected.value, rejected.status) == (2001, "rejected")


def test_trust_ranking_either_order(ledger: FactLedger) -> None:
    ledger.set_policy({"fulfilment": 2, "support": 1}, attribute="status")
    ledger.assert_fact(USER, "o1", "status", "processing", author="fulfilment")
    ledger.assert_fact(USER, "o1", "status", "shipped", author="support")
    ledger.assert_fact(USER, "o2", "status", "shipped", author="support")
    ledger.assert_fact(USER, "o2", "status", "processing", author="fulfilment")
    for order in ("o1", "o2"):
        assert ledger.get(USER, order, "status").value == "processing"  # type: ignore[union-attr]
    by_order = {d.subject: d for d in ledger.disagreements(USER, status="settled")}
    o1 = {c.value: c.status for c in by_order["o1"].claims}
    o2 = {c.value: c.status for c in by_order["o2"].claims}
    assert o1 == {"processing": "verified", "shipped": "rejected"}
    assert o2 == {"processing": "verified", "shipped": "superseded"}


def test_trust_ranking_tie_break_and_unknown_agents(ledger: FactLedger) -> None:
    ledger.set_policy(TrustRanking({"lead": 5}, tie_break=RequireValidation()), scope="app")
    ledger.assert_fact("app", "k", "a", 1, author="x")
    ledger.assert_fact("app", "k", "a", 2, author="y")  # both rank 0: held
    assert ledger.is_contested("app", "k", "a")
    ledger.assert_fact("app", "k", "a", 3, author="lead")  # joins, and outranks
    assert not ledger.is_contested("app", "k", "a")
    assert ledger.get("app", "k", "a").value == 3  # type: ignore[union-attr]


def test_require_validation_holds_until_resolved(ledger: FactLedger) -> None:
    ledger.set_policy("require_validation", scope=USER, attribute="email")
    ledger.assert_fact(USER, "u1", "email", "a@x.org", author="crm")
    held = ledger.assert_fact(USER, "u1", "email", "b@x.org", author="chat", reason="user said")
    assert held.claim.status == "quarantined" and held.fact and held.fact.value == "a@x.org"
    fact = ledger.get(USER, "u1", "email")
    assert fact and fact.value == "a@x.org" and fact.contested
    assert ledger.get(USER, "u1", "email", include_unverified=True).value == "b@x.org"  # type: ignore[union-attr]
    # A third value joins the same open disagreement.
    ledger.assert_fact(USER, "u1", "email", "c@x.org", author="crm2")
    [d] = ledger.disagreements(USER)
    assert d.status == "open" and [c.value for c in d.claims] == ["a@x.org", "b@x.org", "c@x.org"]
    b = next(c for c in d.claims if c.value == "b@x.org")
    done = ledger.resolve(d.id, claim_id=b.id, by="reviewer", reason="confirmed by the user")
    assert done.fact and done.fact.value == "b@x.org" and not done.fact.contested
    decided = ledger.disagreement(d.id)
    assert (decided.status, decided.decided_by, decided.winner_claim) == (
        "resolved",
        "reviewer",
        b.id,
    )
    assert {c.value: c.status for c in decided.claims} == {
        "a@x.org": "superseded",
        "b@x.org": "verified",
        "c@x.org": "rejected",
    }
    events = [(v.event, v.by, v.value) for v in ledger.history(USER, "u1", "email")]
    assert events == [
        ("asserted", "crm", "a@x.org"),
        ("contested", "chat", "b@x.org"),
        ("contested", "crm2", "c@x.org"),
        ("resolved", "reviewer", "b@x.org"),
    ]
    assert ledger.history(USER, "u1", "email")[-1].reason == "confirmed by the user"


def test_nothing_verified_means_readers_see_nothing(ledger: FactLedger) -> None:
    ledger.set_policy("require_validation")
    ledger.assert_fact("app", "k", "a", "x", author="a", status="quarantined")
    assert ledger.get("app", "k", "a") is None
    assert ledger.list("app") == []
    assert [f.value for f in ledger.list("app", include_unverified=True)] == ["x"]


def test_resolve_with_a_new_value_and_custom_resolver(ledger: FactLedger) -> None:
    def most_confident(claims: list) -> object:
        best = max(claims, key=lambda c: c.confidence)
        return best if best.confidence >= 0.9 else None

    ledger.set_policy(most_confident, attribute="price")
    ledger.assert_fact("app", "sku1", "price", 10, author="a", confidence=0.5)
    held = ledger.assert_fact("app", "sku1", "price", 12, author="b", confidence=0.6)
    assert ledger.is_contested("app", "sku1", "price") and held.disagreement_id
    assert ledger.disagreement(held.disagreement_id).policy == "most_confident"
    done = ledger.resolve(held.disagreement_id, 11, by="pricing-lead", reason="list price")
    assert done.fact and done.fact.value == 11 and done.fact.author == "pricing-lead"
    ledger.assert_fact("app", "sku2", "price", 10, author="a", confidence=0.5)
    won = ledger.assert_fact("app", "sku2", "price", 12, author="b", confidence=0.95)
    assert won.accepted and won.fact and won.fact.value == 12


def test_set_status_verify_reject_quarantine(ledger: FactLedger) -> None:
    pending = ledger.assert_fact("app", "k", "a", "x", author="tool", status="quarantined")
    assert ledger.get("app", "k", "a") is None
    ledger.set_status(pending.claim.id, "verified", by="validator", reason="schema ok")
    assert ledger.get("app", "k", "a").value == "x"  # type: ignore[union-attr]
    ledger.set_status(pending.claim.id, "rejected", by="validator", reason="source retracted")
    assert ledger.get("app", "k", "a") is None
    assert [v.event for v in ledger.history("app", "k", "a")] == [
        "quarantined",
        "verified",
        "rejected",
    ]
    with pytest.raises(InvalidConfigError, match="unknown status 'superseded'"):
        ledger.set_status(pending.claim.id, "superseded", by="v", reason="r")
    with pytest.raises(InvalidConfigError, match="no claim with id 999"):
        ledger.set_status(999, "verified", by="v", reason="r")


def test_list_and_persistence_across_reopen(db_path: Path) -> None:
    with SharedMemory.open(db_path, index=None) as mem:
        mem.facts.assert_fact(USER, "u1", "name", "Ada", author="crm")
        mem.facts.assert_fact(USER, "u1", "tier", "gold", author="crm")
        mem.facts.assert_fact(USER, "order:1", "status", "open", author="crm")
    with SharedMemory.open(db_path, index=None) as mem:
        assert [(f.subject, f.attribute) for f in mem.facts.list(USER)] == [
            ("order:1", "status"),
            ("u1", "name"),
            ("u1", "tier"),
        ]
        assert [f.value for f in mem.facts.list("user:u1", "u1")] == ["Ada", "gold"]
        assert mem.facts.list("app") == []


async def test_async_methods_share_the_sync_core(ledger: FactLedger) -> None:
    change = await ledger.aassert_fact("app", "k", "a", [1, 2], author="x")
    fact = await ledger.aget("app", "k", "a")
    assert fact and fact.value == [1, 2] and fact.version == change.version
    await ledger.aassert_fact("app", "k", "a", [3], author="y")
    assert len(await ledger.ahistory("app", "k", "a")) == 2
    assert [d.status for d in await ledger.adisagreements(status=None)] == ["settled"]
    assert not await ledger.ais_contested("app", "k", "a")
    with pytest.raises(FactConflictError):
        await ledger.aassert_fact("app", "k", "a", [4], author="y", expected_version=1)
