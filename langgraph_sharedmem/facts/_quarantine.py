"""Quarantine rules, lineage, validators and the validation tables, on an open connection.

* Quarantine rules decide the status of a write that does not name one: per scope, agent and
  attribute, the most specific rule first. Like policies they are code in the process (every
  process writing the facts sets the same); without a rule, an agent's write through a view is
  quarantined and a direct ledger write follows ``FactLedger(quarantine=...)``.
* Lineage (``fact_lineage``): the claims a claim was derived from. Rejecting a claim walks its
  descendants (a recursive query, cycles included) and pulls each back into quarantine or
  rejects it, one recorded version per descendant, in the same transaction.
* ``fact_validators`` lists the agents that may read quarantined claims; ``validation_log``
  and ``validation_decisions`` record the validation nodes' work (see docs/validation.md).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import _schema
from langgraph_sharedmem.facts._core import claim_fact_id, load_claims
from langgraph_sharedmem.facts._model import (
    ClaimRecord,
    Lineage,
    ValidationDecision,
    ValidationEntry,
)

Cascade = Literal["quarantine", "reject"]
CASCADES = frozenset({"quarantine", "reject"})

# Selector combinations, most specific first: more selectors win; between equally many,
# attribute > agent > scope (what a value means is the strongest signal of how risky it is).
_ORDER: tuple[tuple[bool, bool, bool], ...] = tuple(
    sorted(
        ((s, a, t) for s in (True, False) for a in (True, False) for t in (True, False)),
        key=lambda c: (c[0] + c[1] + c[2], 4 * c[2] + 2 * c[1] + c[0]),
        reverse=True,
    )
)


class QuarantineRules:
    """``(scope, agent, attribute) -> quarantine?`` with the most specific rule winning."""

    def __init__(self, direct_default: bool) -> None:
        self.direct_default = direct_default
        self._rules: dict[tuple[str | None, str | None, str | None], bool] = {}

    def set(
        self, quarantine: bool, scope: str | None, agent: str | None, attribute: str | None
    ) -> None:
        self._rules[(scope, agent, attribute)] = quarantine

    def lookup(self, scope: str, agent: str, attribute: str, *, via_agent: bool) -> bool:
        rules = self._rules
        if rules:
            for s, a, t in _ORDER:
                found = rules.get(
                    (scope if s else None, agent if a else None, attribute if t else None)
                )
                if found is not None:
                    return found
        return True if via_agent else self.direct_default


# -- lineage and runs ------------------------------------------------------------------------


def record_origin(
    conn: sqlite3.Connection, claim_id: int, run: str | None, parents: Sequence[int]
) -> None:
    if run is not None:
        conn.execute(
            "INSERT OR IGNORE INTO fact_claim_runs (claim_id, run_id) VALUES (?, ?)",
            (claim_id, run),
        )
    for parent in parents:
        if parent == claim_id:
            raise InvalidConfigError(f"claim {claim_id} cannot be derived from itself")
        claim_fact_id(conn, parent)  # raises if there is no such claim
        conn.execute(
            "INSERT OR IGNORE INTO fact_lineage (claim_id, parent_claim) VALUES (?, ?)",
            (claim_id, parent),
        )


def parents_of(conn: sqlite3.Connection, claim_id: int) -> tuple[int, ...]:
    rows = conn.execute(
        "SELECT parent_claim FROM fact_lineage WHERE claim_id = ? ORDER BY parent_claim",
        (claim_id,),
    )
    return tuple(r[0] for r in rows)


def lineage(conn: sqlite3.Connection, claim_id: int) -> Lineage:
    claim_fact_id(conn, claim_id)
    children = conn.execute(
        "SELECT claim_id FROM fact_lineage WHERE parent_claim = ? ORDER BY claim_id", (claim_id,)
    )
    return Lineage(claim_id, parents_of(conn, claim_id), tuple(r[0] for r in children))


_DESCENDANTS = """
WITH RECURSIVE d(id) AS (
    SELECT claim_id FROM fact_lineage WHERE parent_claim = :root
    UNION
    SELECT l.claim_id FROM fact_lineage AS l JOIN d ON l.parent_claim = d.id
)
SELECT c.id, c.status FROM d JOIN fact_claims AS c ON c.id = d.id
WHERE c.id != :root ORDER BY c.first_seq
"""


def descendants(conn: sqlite3.Connection, claim_id: int) -> list[tuple[int, str]]:
    """Every claim derived from ``claim_id``, directly or not, oldest first, with status."""
    return [(int(i), s) for i, s in conn.execute(_DESCENDANTS, {"root": claim_id})]


def check_cascade(cascade: Any) -> Cascade:
    if cascade not in CASCADES:
        raise InvalidConfigError(f"cascade must be one of {sorted(CASCADES)}, got {cascade!r}")
    return cascade  # type: ignore[no-any-return]


# -- validators ------------------------------------------------------------------------------


def is_validator(conn: sqlite3.Connection, agent: str) -> bool:
    row = conn.execute("SELECT 1 FROM fact_validators WHERE agent = ?", (agent,)).fetchone()
    return row is not None


def validators(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT agent FROM fact_validators ORDER BY agent")]


# -- what a viewer sees ----------------------------------------------------------------------

# The newest quarantined claim of a fact that ``viewer`` may see: its own (it is one of the
# claim's sources), or any if it is a validator.
VISIBLE_PENDING = f"""
SELECT {_schema.CLAIM_COLUMNS} FROM fact_claims AS c
WHERE c.fact_id = :fact AND c.status = 'quarantined' AND (
    EXISTS (SELECT 1 FROM fact_sources AS s WHERE s.claim_id = c.id AND s.author = :viewer)
    OR EXISTS (SELECT 1 FROM fact_validators WHERE agent = :viewer))
ORDER BY c.last_seq DESC LIMIT 1
"""


def visible_pending_sql(
    scope: Scope, subject: str | None, viewer: str, validator: bool
) -> tuple[str, dict[str, Any]]:
    """Facts of a scope with a quarantined claim ``viewer`` may see, newest claim last."""
    where = ["f.scope = :scope", "c.status = 'quarantined'"]
    params: dict[str, Any] = {"scope": scope.key, "viewer": viewer, "validator": validator}
    if subject is not None:
        where.append("f.subject = :subject")
        params["subject"] = subject
    sql = (
        f"SELECT {_schema.FACT_COLUMNS}, {_schema.CLAIM_COLUMNS} FROM facts AS f "
        "JOIN fact_claims AS c ON c.fact_id = f.id "
        f"WHERE {' AND '.join(where)} AND (:validator OR EXISTS (SELECT 1 FROM fact_sources "
        "AS s WHERE s.claim_id = c.id AND s.author = :viewer)) ORDER BY c.last_seq"
    )
    return sql, params


# -- pending claims --------------------------------------------------------------------------


def pending_sql(
    run: str | None,
    scopes: Sequence[Scope] | None,
    claim_ids: Sequence[int] | None,
    *,
    any_status: bool = False,
) -> tuple[str, list[Any]]:
    where = ["1"] if any_status else ["c.status = 'quarantined'"]
    params: list[Any] = []
    if run is not None:
        where.append("r.run_id = ?")
        params.append(run)
    if scopes is not None:
        where.append("f.scope IN (SELECT value FROM json_each(?))")
        params.append(json.dumps([s.key for s in scopes]))
    if claim_ids is not None:
        where.append("c.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(list(claim_ids)))
    sql = (
        f"SELECT {_schema.CLAIM_COLUMNS}, f.scope, f.subject, f.attribute, f.version, "
        "f.verified_claim, r.run_id, (SELECT max(h.version) FROM fact_history AS h WHERE "
        "h.fact_id = f.id AND h.claim_id = c.id AND h.event != 'disputed') "
        "FROM fact_claims AS c JOIN facts AS f ON f.id = c.fact_id "
        "LEFT JOIN fact_claim_runs AS r ON r.claim_id = c.id "
        f"WHERE {' AND '.join(where)} ORDER BY c.last_seq"
    )
    return sql, params


def pending(
    conn: sqlite3.Connection,
    run: str | None,
    scopes: Sequence[Scope] | None,
    claim_ids: Sequence[int] | None = None,
    *,
    any_status: bool = False,
) -> list[ClaimRecord]:
    sql, params = pending_sql(run, scopes, claim_ids, any_status=any_status)
    rows = conn.execute(sql, params).fetchall()
    n = len(_schema.CLAIM_COLUMNS.split(","))
    claims = load_claims(conn, [r[:n] for r in rows])
    out = []
    for row, claim in zip(rows, claims, strict=True):
        scope, subject, attribute, version, verified, run_id, since = row[n:]
        out.append(
            ClaimRecord(
                claim,
                int(row[1]),
                Scope.from_key(scope),
                subject,
                attribute,
                int(version),
                verified,
                run_id,
                parents_of(conn, claim.id),
                int(since or 0),
            )
        )
    return out


# -- validation log and decisions ------------------------------------------------------------

INSERT_LOG = """
INSERT INTO validation_log (run_id, thread_id, checkpoint_id, node, claim_id, fact_version,
    validator, outcome, reason, created_at)
VALUES (:run, :thread, :checkpoint, :node, :claim_id, :fact_version, :validator, :outcome,
    :reason, :now)
"""
_LOG_COLUMNS = (
    "id, run_id, thread_id, checkpoint_id, node, claim_id, fact_version, validator, outcome, "
    "reason, created_at"
)
_DECISION_COLUMNS = (
    "decision_key, claim_id, fact_version, decision, reason, by, run_id, thread_id, "
    "checkpoint_id, node, version_after, created_at"
)
INSERT_DECISION = f"""
INSERT INTO validation_decisions ({_DECISION_COLUMNS})
VALUES (:key, :claim_id, :fact_version, :decision, :reason, :by, :run, :thread, :checkpoint,
    :node, NULL, :now)
"""


def _filters(pairs: Iterable[tuple[str, Any]]) -> tuple[str, list[Any]]:
    where, params = [], []
    for column, wanted in pairs:
        if wanted is not None:
            where.append(f"{column} = ?")
            params.append(wanted)
    return (" WHERE " + " AND ".join(where)) if where else "", params


def log_entries(
    conn: sqlite3.Connection,
    run: str | None,
    claim_id: int | None,
    outcome: str | None,
    validator: str | None,
) -> list[ValidationEntry]:
    where, params = _filters(
        (("run_id", run), ("claim_id", claim_id), ("outcome", outcome), ("validator", validator))
    )
    rows = conn.execute(f"SELECT {_LOG_COLUMNS} FROM validation_log{where} ORDER BY id", params)
    return [ValidationEntry(*r) for r in rows]


def decision(conn: sqlite3.Connection, key: str) -> ValidationDecision | None:
    row = conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM validation_decisions WHERE decision_key = ?", (key,)
    ).fetchone()
    return None if row is None else ValidationDecision(*row)


def decisions(
    conn: sqlite3.Connection,
    run: str | None,
    claim_id: int | None,
    checkpoint_id: str | None,
) -> list[ValidationDecision]:
    where, params = _filters(
        (("run_id", run), ("claim_id", claim_id), ("checkpoint_id", checkpoint_id))
    )
    rows = conn.execute(
        f"SELECT {_DECISION_COLUMNS} FROM validation_decisions{where} ORDER BY created_at, rowid",
        params,
    )
    return [ValidationDecision(*r) for r in rows]
