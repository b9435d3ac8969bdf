"""The ledger's operations, each run by `FactLedger` inside one write transaction.

Arguments arrive validated; every function either records exactly one new version of one fact
or, for a restatement of the value readers already see, only a new source.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import _quarantine, _schema
from langgraph_sharedmem.facts._core import (
    Key,
    Matcher,
    Tx,
    claim_fact_id,
    disagreement_claims,
    load_claim,
    locked_fact,
)
from langgraph_sharedmem.facts._model import FactChange
from langgraph_sharedmem.facts._policies import Policy, PolicyTable, RequireValidation
from langgraph_sharedmem.facts._values import Status


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
    run: str | None = None,
    derived_from: Sequence[int] = (),
) -> FactChange:
    tx = Tx.open(conn, key, policy, expected_version)
    held = status == "quarantined"  # arrived quarantined: no policy may pick it (I2)
    claim, source_id = tx.add_source(
        value_text, value, author, source_text, confidence, matcher, held=held
    )
    if run is not None or derived_from:
        _quarantine.record_origin(conn, claim.id, run, derived_from)
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
        # A held assertion changes nothing a policy may weigh: it waits for a decision.
        return done("contested", tx.settle([claim], reason=reason, ask=not held))
    if status == "quarantined":  # held for validation by its own author's wish
        return done("quarantined")
    if fact.verified_claim is None:
        tx.set_status(claim.id, "verified")
        fact.verified_claim = claim.id
        return done("asserted")
    current = load_claim(conn, fact.verified_claim)
    # An author may overrule itself, and no one else (held restatements do not count).
    if {s.author for s in current.sources if not s.held} == {author}:
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
    fact = locked_fact(conn, row[1])
    if fact.open_disagreement not in (None, disagreement_id):
        raise InvalidConfigError(
            f"disagreement {disagreement_id} is closed and disagreement "
            f"{fact.open_disagreement} now holds the fact; resolve that one instead"
        )
    key = Key(Scope.from_key(fact.scope), fact.subject, fact.attribute)
    tx = Tx.on(conn, key, fact, policies.lookup(fact.scope, fact.attribute), expected_version)
    source_id = None
    if value_text is not None:  # the resolver's own value: a claim like any other
        winner, source_id = tx.add_source(
            value_text, value, by, f'{{"resolved": {disagreement_id}}}', 1.0, matcher, held=False
        )
        conn.execute(_schema.ADD_DISAGREEMENT_CLAIM, (disagreement_id, winner.id))
        tx.fact.head_claim = winner.id
    else:
        if not _in_disagreement(conn, disagreement_id, claim_id):  # type: ignore[arg-type]
            raise InvalidConfigError(
                f"claim {claim_id!r} is not part of disagreement {disagreement_id}; pick one of "
                "its claims or pass value="
            )
        winner = load_claim(conn, int(claim_id))  # type: ignore[arg-type]
    tx.vouch(winner.id, True)  # a decision: the claim counts as verified evidence now
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
    cascade: _quarantine.Cascade | None = None,
) -> FactChange:
    """Set one claim's status; rejecting it walks its descendants when ``cascade`` is given."""
    change = _set_one(conn, claim_id, status, by, reason, expected_version, policies)
    if status == "rejected" and cascade is not None:
        to: Status = "quarantined" if cascade == "quarantine" else "rejected"
        for child, child_status in _quarantine.descendants(conn, claim_id):
            if child_status == "verified" or (to == "rejected" and child_status == "quarantined"):
                _set_one(
                    conn,
                    child,
                    to,
                    by,
                    f"derived from rejected claim {claim_id}: {reason}",
                    None,
                    policies,
                )
    return change


def _set_one(
    conn: sqlite3.Connection,
    claim_id: int,
    status: Status,
    by: str,
    reason: str,
    expected_version: int | None,
    policies: PolicyTable,
) -> FactChange:
    fact = locked_fact(conn, claim_fact_id(conn, claim_id))
    claim = load_claim(conn, claim_id)
    key = Key(Scope.from_key(fact.scope), fact.subject, fact.attribute)
    tx = Tx.on(conn, key, fact, policies.lookup(fact.scope, fact.attribute), expected_version)
    # A decision on the claim, even one that leaves its status as it was: verifying vouches
    # for its sources; rejecting or quarantining withdraws them from every policy (I2).
    tx.vouch(claim_id, status == "verified")
    open_id = tx.fact.open_disagreement
    in_dispute = open_id is not None and _in_disagreement(conn, open_id, claim_id)
    if in_dispute and status == "verified":  # verifying a disputed claim settles the dispute
        tx.decide(open_id, claim, by=by, reason=reason, manual=True)  # type: ignore[arg-type]
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
    if in_dispute and status == "rejected":
        # Rejecting a challenger of the verified value leaves that value alone in the
        # dispute: the dispute is over, decided for it.
        alive = [
            c
            for c in disagreement_claims(conn, open_id)  # type: ignore[arg-type]
            if c.status in ("verified", "quarantined")
        ]
        if len(alive) == 1 and alive[0].id == tx.fact.verified_claim:
            tx.decide(open_id, alive[0], by=by, reason=reason, manual=True)  # type: ignore[arg-type]
            tx.set_status(claim_id, "rejected")
            return tx.commit(
                event="rejected",
                by=by,
                claim_id=claim_id,
                disagreement_id=open_id,
                reason=reason,
            )
    return tx.commit(event=status, by=by, claim_id=claim_id, reason=reason)


def dispute(conn: sqlite3.Connection, claim_id: int, *, by: str, reason: str) -> int | None:
    """Open a disagreement between a quarantined claim and its fact's verified value, held
    for a validation decision (policy ``validation``). Recorded once per claim."""
    fact = locked_fact(conn, claim_fact_id(conn, claim_id))
    claim = load_claim(conn, claim_id)
    if claim.status != "quarantined" or fact.verified_claim is None:
        return None
    if fact.open_disagreement is not None and _in_disagreement(
        conn, fact.open_disagreement, claim_id
    ):
        return None
    key = Key(Scope.from_key(fact.scope), fact.subject, fact.attribute)
    tx = Tx.on(conn, key, fact, RequireValidation(name="validation"), None)
    verified = load_claim(conn, fact.verified_claim)
    disagreement_id = tx.open_disagreement([verified, claim])
    tx.commit(
        event="disputed", by=by, claim_id=claim_id, disagreement_id=disagreement_id, reason=reason
    )
    return disagreement_id


def _in_disagreement(conn: sqlite3.Connection, disagreement_id: int, claim_id: int) -> bool:
    """Whether claim ``claim_id`` is one of disagreement ``disagreement_id``'s claims."""
    row = conn.execute(
        "SELECT 1 FROM fact_disagreement_claims WHERE disagreement_id = ? AND claim_id = ?",
        (disagreement_id, claim_id),
    ).fetchone()
    return row is not None
