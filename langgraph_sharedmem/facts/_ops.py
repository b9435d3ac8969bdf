"""The ledger's operations, each run by `FactLedger` inside one write transaction.

Arguments arrive validated; every function either records exactly one new version of one fact
or, for a restatement of the value readers already see, only a new source.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import _schema
from langgraph_sharedmem.facts._core import (
    Key,
    Matcher,
    Tx,
    claim_fact_id,
    load_claim,
    load_fact_by_id,
)
from langgraph_sharedmem.facts._model import FactChange
from langgraph_sharedmem.facts._policies import Policy, PolicyTable
from langgraph_sharedmem.facts._values import Scope, Status


def assert_fact(
    conn: sqlite3.Connection,
    key: Key,
    *,
    value: Any,
    value_text: str,
    author: str,
    source_text: str,
    confidence: float,
    status: Status,
    reason: str | None,
    expected_version: int | None,
    policy: Policy,
    matcher: Matcher | None,
) -> FactChange:
    tx = Tx.open(conn, key, policy, expected_version)
    claim, source_id = tx.add_source(value_text, value, author, source_text, confidence, matcher)
    fact = tx.fact
    if claim.id == fact.verified_claim:  # a restatement: one more source, nothing changes
        return tx.result(claim, fact.open_disagreement)
    tx.set_status(claim.id, "quarantined")  # a live candidate until decided below

    def done(event: str, disagreement_id: int | None = None) -> FactChange:
        return tx.commit(
            event=event,
            by=author,
            claim_id=claim.id,
            source_id=source_id,
            disagreement_id=disagreement_id,
            reason=reason,
            head=claim.id,
        )

    if fact.open_disagreement is not None:  # the fact is held: the new value joins the dispute
        return done("contested", tx.settle([claim], reason=reason))
    if status == "quarantined":  # held for validation by its own author's wish
        return done("quarantined")
    if fact.verified_claim is None:
        tx.set_status(claim.id, "verified")
        fact.verified_claim = claim.id
        return done("asserted")
    current = load_claim(conn, fact.verified_claim)
    if current.authors == {author}:  # an author may overrule itself, and no one else
        tx.set_status(current.id, "superseded")
        tx.set_status(claim.id, "verified")
        fact.verified_claim = claim.id
        return done("updated")
    disagreement_id = tx.settle([current, claim], reason=reason)
    return done("contested" if fact.open_disagreement is not None else "settled", disagreement_id)


def resolve(
    conn: sqlite3.Connection,
    disagreement_id: int,
    *,
    claim_id: int | None,
    value: Any,
    value_text: str | None,
    by: str,
    reason: str,
    expected_version: int | None,
    policies: PolicyTable,
    matcher: Matcher | None,
) -> FactChange:
    row = conn.execute(_schema.SELECT_DISAGREEMENT, (disagreement_id,)).fetchone()
    if row is None:
        raise InvalidConfigError(f"no disagreement with id {disagreement_id!r}")
    fact = load_fact_by_id(conn, row[1])
    if fact.open_disagreement not in (None, disagreement_id):
        raise InvalidConfigError(
            f"disagreement {disagreement_id} is closed and disagreement "
            f"{fact.open_disagreement} now holds the fact; resolve that one instead"
        )
    key = Key(Scope.from_key(fact.scope), fact.subject, fact.attribute)
    tx = Tx.open(conn, key, policies.lookup(fact.scope, fact.attribute), expected_version)
    source_id = None
    if value_text is not None:  # the resolver's own value: a claim like any other
        winner, source_id = tx.add_source(
            value_text, value, by, f'{{"resolved": {disagreement_id}}}', 1.0, matcher
        )
        conn.execute(_schema.ADD_DISAGREEMENT_CLAIM, (disagreement_id, winner.id))
        tx.fact.head_claim = winner.id
    else:
        member = conn.execute(
            "SELECT 1 FROM fact_disagreement_claims WHERE disagreement_id = ? AND claim_id = ?",
            (disagreement_id, claim_id),
        ).fetchone()
        if member is None:
            raise InvalidConfigError(
                f"claim {claim_id!r} is not part of disagreement {disagreement_id}; pick one of "
                "its claims or pass value="
            )
        winner = load_claim(conn, int(claim_id))  # type: ignore[arg-type]
    tx.decide(disagreement_id, winner, by=by, reason=reason, manual=True)
    return tx.commit(
        event="resolved",
        by=by,
        claim_id=winner.id,
        source_id=source_id,
        disagreement_id=disagreement_id,
        reason=reason,
    )


def set_status(
    conn: sqlite3.Connection,
    claim_id: int,
    status: Status,
    *,
    by: str,
    reason: str,
    expected_version: int | None,
    policies: PolicyTable,
) -> FactChange:
    claim = load_claim(conn, claim_id)
    fact = load_fact_by_id(conn, claim_fact_id(conn, claim_id))
    key = Key(Scope.from_key(fact.scope), fact.subject, fact.attribute)
    tx = Tx.open(conn, key, policies.lookup(fact.scope, fact.attribute), expected_version)
    open_id = tx.fact.open_disagreement
    if open_id is not None and status == "verified":
        in_dispute = conn.execute(
            "SELECT 1 FROM fact_disagreement_claims WHERE disagreement_id = ? AND claim_id = ?",
            (open_id, claim_id),
        ).fetchone()
        if in_dispute:  # verifying a disputed claim settles the dispute in its favour
            tx.decide(open_id, claim, by=by, reason=reason, manual=True)
            return tx.commit(
                event="resolved", by=by, claim_id=claim_id, disagreement_id=open_id, reason=reason
            )
    if claim.status == status:
        return tx.result(claim, open_id)
    if status == "verified":
        if tx.fact.verified_claim is not None:
            tx.set_status(tx.fact.verified_claim, "superseded")
        tx.fact.verified_claim = claim_id
    elif tx.fact.verified_claim == claim_id:  # un-verifying what readers see: they see nothing
        tx.fact.verified_claim = None
    tx.set_status(claim_id, status)
    return tx.commit(event=status, by=by, claim_id=claim_id, reason=reason)
