"""Quarantine on the ledger alone, on both backends: held sources, who sees a pending claim,
validators, the validation log and disputes."""

from __future__ import annotations

import threading

from langgraph_sharedmem import FactLedger, Scope
from langgraph_sharedmem.facts import _core

RUN = Scope("run", "r1")


def test_held_claims_validators_and_the_validation_log(backend_url: str) -> None:
    with FactLedger(backend_url, quarantine=True) as facts:
        facts.set_quarantine(False, agent="system")
        facts.assert_fact(RUN, "acme", "tier", "silver", author="system")
        held = facts.assert_fact(RUN, "acme", "tier", "gold", author="writer", run="r1")
        # Fail closed: a write no rule trusts is held, readers keep the verified value.
        assert held.claim.status == "quarantined" and held.fact is not None
        assert facts.get(RUN, "acme", "tier").value == "silver"  # type: ignore[union-attr]
        assert [s.held for s in held.claim.sources] == [True]
        # Its author sees it; another agent does not, until it is a validator.
        assert facts.get(RUN, "acme", "tier", viewer="writer").value == "gold"  # type: ignore[union-attr]
        assert facts.get(RUN, "acme", "tier", viewer="checker").value == "silver"  # type: ignore[union-attr]
        facts.add_validator("checker", by="admin")
        assert facts.validators() == ["checker"] and facts.is_validator("checker")
        assert [f.value for f in facts.list(RUN, viewer="checker")] == ["gold"]
        [pending] = facts.pending(run="r1")
        assert (pending.claim_id, pending.value) == (held.claim.id, "gold")
        assert (
            facts.log_validation(
                [
                    {
                        "run": "r1",
                        "thread": "t1",
                        "checkpoint": "cp-1",
                        "node": "validate",
                        "claim_id": held.claim.id,
                        "fact_version": held.version,
                        "validator": "checker",
                        "outcome": "review",
                        "reason": "needs a human",
                    }
                ]
            )
            == 1
        )
        [entry] = facts.validation_log(run="r1")
        assert (entry.claim_id, entry.outcome) == (held.claim.id, "review")
        # A dispute holds the fact for a decision; the decision vouches for the sources.
        disagreement = facts.dispute(held.claim.id, by="checker", reason="contradicts silver")
        assert disagreement is not None and facts.is_contested(RUN, "acme", "tier")
        version = facts.get(RUN, "acme", "tier").version  # type: ignore[union-attr]
        _, change = facts.apply_decision(
            held.claim.id,
            "verified",
            by="human",
            reason="contract says gold",
            expected_version=version,
        )
        assert change is not None and facts.get(RUN, "acme", "tier").value == "gold"  # type: ignore[union-attr]
        assert not facts.is_contested(RUN, "acme", "tier")
        assert [h.event for h in facts.history(RUN, "acme", "tier")] == [
            "asserted",
            "quarantined",
            "disputed",
            "resolved",
        ]


def test_a_fact_write_waits_only_for_writers_of_that_fact(postgres_db: str) -> None:
    """PostgreSQL: a one-fact write locks its fact, not the ledger; a write that may touch
    several facts (a rejection cascades over derived claims) still waits for all of them."""
    with FactLedger(postgres_db) as holder, FactLedger(postgres_db) as other:
        claim = holder.assert_fact("app", "acme", "plan", "pro", author="billing").claim
        other.setup()
        waiting: dict[str, threading.Thread] = {}
        with holder._write_one() as conn:
            _core.lock_fact(conn, Scope("app").key, "acme", "plan")  # a writer mid-transaction
            # Another fact is written at once.
            assert other.assert_fact("app", "acme", "seats", 5, author="billing").version == 1
            for name, write in {
                "same fact": lambda: other.assert_fact(
                    "app", "acme", "plan", "team", author="billing", expected_version=1
                ),
                "whole ledger": lambda: other.set_status(
                    claim.id, "rejected", by="checker", reason="wrong"
                ),
            }.items():
                waiting[name] = threading.Thread(target=write)
                waiting[name].start()
                waiting[name].join(0.5)
                assert waiting[name].is_alive(), f"{name} did not wait for the fact's writer"
        for thread in waiting.values():
            thread.join(20)
            assert not thread.is_alive()
        assert [v.event for v in holder.history("app", "acme", "plan")] == [
            "asserted",
            "updated",
            "rejected",
        ]


def test_adding_a_validator_twice_logs_one_change(backend_url: str) -> None:
    """The validator writes read ``rowcount`` (log only a real change), which PostgreSQL's
    pipeline mode knows only once the statement's result is read."""
    from langgraph_sharedmem import ChangeFeed

    with FactLedger(backend_url) as facts:
        for _ in range(2):
            facts.add_validator("checker", by="admin")
        facts.remove_validator("checker", by="admin")
        facts.remove_validator("nobody", by="admin")
        with ChangeFeed(facts.db) as feed:
            logged = [(c.op, c.key) for c in feed.read(kinds=["validator"])]
    assert logged == [("add", "checker"), ("remove", "checker")]
