"""The report a validation node writes to the state, built from the ledger's records.

Decisions come from the ledger (those made from this checkpoint, by this node), not from
memory, so a node that runs again after an interrupt or a crash reports what it decided the
first time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from langgraph_sharedmem.facts import ClaimRecord, FactLedger, ValidationDecision

if TYPE_CHECKING:
    from langgraph_sharedmem.validation._node import ValidationNode, _Outcome, _Where

Status = Literal["clear", "rejected", "review", "error", "empty"]


class ValidationReport(TypedDict):
    """What a validation node writes to the state (``state[state_key]``).

    Fact entries are dicts with ``claim_id``, ``scope``, ``subject``, ``attribute``,
    ``value``, ``author`` and ``reason``. ``stop`` is True when a validator failed and the
    node was configured with ``on_error="stop"``.
    """

    node: str
    run: str | None
    checkpoint_id: str | None
    status: Status
    verified: list[dict[str, Any]]
    rejected: list[dict[str, Any]]
    pending: list[dict[str, Any]]
    needs_review: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    stop: bool


def build_report(
    node: ValidationNode,
    where: _Where,
    outcomes: Mapping[int, _Outcome],
    made: Sequence[ValidationDecision],
    review: Sequence[int],
) -> ValidationReport:
    decisions = {d.key: d for d in made}
    if where.checkpoint is not None and where.run is not None:
        for d in node.ledger.decisions(run=where.run, checkpoint_id=where.checkpoint):
            if d.node == node.name:
                decisions.setdefault(d.key, d)
    decided_ids = {d.claim_id for d in decisions.values()}
    records = {
        r.claim_id: r for r in node.ledger.claim_records(sorted(decided_ids | set(outcomes)))
    }
    edited = _edited(node.ledger, records, decisions.values())
    verified, rejected = [], []
    pending, needs_review, errors = [], [], []
    for d in decisions.values():
        if d.decision == "edit":
            rejected.append(_entry(records[d.claim_id], d.reason, by=d.by, edited=True))
            for r in edited.get(d.claim_id, []):  # the new value: verified or quarantined
                entry = _entry(r, d.reason, by=d.by, edit_of=d.claim_id)
                if r.claim.status == "verified":
                    verified.append(entry)
                elif r.claim.status == "quarantined":
                    pending.append({**entry, "reason": "edited value failed its schema"})
        elif d.decision == "verified":
            verified.append(_entry(records[d.claim_id], d.reason, by=d.by))
        else:
            rejected.append(_entry(records[d.claim_id], d.reason, by=d.by))
    for cid, o in outcomes.items():
        record = records.get(cid)
        if cid in decided_ids or record is None or record.claim.status != "quarantined":
            continue
        failed = o.reasons("error")
        entry = _entry(record, "; ".join(failed or o.reasons("review", "abstain")))
        if failed:
            errors.append({**entry, "errors": failed})
        if cid in review and node.human is None:
            needs_review.append(entry)
        pending.append(entry)
    if rejected and where.run is not None:  # how often each fact bounced in this run
        run_rejections = [
            d.claim_id
            for d in node.ledger.decisions(run=where.run)
            if d.decision in ("rejected", "edit")
        ]
        # Most of them are this step's, already in ``records``: read only the earlier ones.
        fact_of = {cid: r.fact_id for cid, r in records.items()}
        earlier = sorted(set(run_rejections) - fact_of.keys())
        if earlier:
            fact_of.update((r.claim_id, r.fact_id) for r in node.ledger.claim_records(earlier))
        for entry in rejected:
            fact = fact_of.get(entry["claim_id"])
            entry["attempt"] = sum(1 for c in run_rejections if fact_of.get(c) == fact)
    status: Status
    if any(not e.get("edited") for e in rejected):
        status = "rejected"
    elif errors:
        status = "error"
    elif needs_review:
        status = "review"
    elif not outcomes and not decisions:
        status = "empty"
    else:
        status = "clear"
    return ValidationReport(
        node=node.name,
        run=where.run,
        checkpoint_id=where.checkpoint,
        status=status,
        verified=verified,
        rejected=rejected,
        pending=pending,
        needs_review=needs_review,
        errors=errors,
        stop=bool(errors) and node.on_error == "stop",
    )


def _edited(
    ledger: FactLedger, records: Mapping[int, ClaimRecord], decisions: Any
) -> dict[int, list[ClaimRecord]]:
    """For each edit decision, the claim holding the reviewer's value."""
    out: dict[int, list[ClaimRecord]] = {}
    for d in decisions:
        if d.decision != "edit":
            continue
        r = records[d.claim_id]
        ids = [
            c.id
            for c in ledger.claims(r.scope, r.subject, r.attribute)
            if any(s.source == {"edit_of": d.claim_id} for s in c.sources)
        ]
        out[d.claim_id] = ledger.claim_records(ids)
    return out


def _entry(record: ClaimRecord, reason: str, **extra: Any) -> dict[str, Any]:
    return {
        "claim_id": record.claim_id,
        "scope": str(record.scope),
        "subject": record.subject,
        "attribute": record.attribute,
        "value": record.value,
        "author": record.author,
        "reason": reason,
        **extra,
    }
