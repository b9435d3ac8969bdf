"""Reads of the fact ledger that other parts and the layers above need: facts as of a
moment, who knows a subject, track records, listings for the inspector.

Each runs on a connection the caller holds (``with db.read() as conn``), so it joins the
caller's snapshot without another transaction, and each answers empty for a file whose ledger
tables do not exist yet (it may be opened read-only, before the ledger ever ran). The SQL
naming the ledger's tables stays in this part.
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.facts import _schema
from langgraph_sharedmem.facts._core import credit, load_claims
from langgraph_sharedmem.facts._model import Fact

__all__ = [
    "facts_as_of",
    "has_ledger",
    "listing",
    "quarantined",
    "status_counts",
    "track_records",
    "who_knows",
]

_LEDGER_TABLES = """
SELECT count(*) FROM sqlite_master
WHERE type = 'table' AND name IN ('facts', 'fact_claims', 'fact_sources', 'fact_history')
"""
# Whether the ledger records which sources arrived quarantined (facts migration 3); a file
# the ledger has not upgraded yet may be read here, read-only, before it does.
_HAS_HELD = "SELECT count(*) FROM pragma_table_info('fact_sources') WHERE name = 'held'"
# Only sources that arrived verified count as knowing: restating a value from quarantine
# must not make an agent an expert (or win it routing's tie-break).
_TRUSTED_SOURCES = "AND s.held = 0"
# Who wrote the verified value of facts about a subject: every source of a verified claim.
_WHO_KNOWS = """
SELECT s.author, count(DISTINCT f.id), json_group_array(DISTINCT f.attribute),
    max(s.created_at)
FROM facts AS f
JOIN fact_claims AS c ON c.fact_id = f.id AND c.status = 'verified'
JOIN fact_sources AS s ON s.claim_id = c.id
WHERE f.subject = :subject
    AND (:scope IS NULL OR f.scope = :scope)
    AND (:attribute IS NULL OR f.attribute = :attribute)
    {trusted}
GROUP BY s.author
ORDER BY count(DISTINCT f.id) DESC, max(s.created_at) DESC, s.author
"""
# How many facts each of some agents backs with a verified value, any subject.
_TRACK_RECORDS = """
SELECT s.author, count(DISTINCT f.id)
FROM fact_sources AS s
JOIN fact_claims AS c ON c.id = s.claim_id AND c.status = 'verified'
JOIN facts AS f ON f.id = c.fact_id
WHERE s.author IN (SELECT value FROM json_each(:names))
    {trusted}
GROUP BY s.author
"""
_FACTS_AT = """
SELECT f.id, f.scope, f.subject, f.attribute, h.version, h.verified_claim, f.created_at,
       h.created_at,
       EXISTS (SELECT 1 FROM fact_disagreements AS d WHERE d.fact_id = f.id
               AND d.created_at <= :ts AND (d.decided_at IS NULL OR d.decided_at > :ts))
FROM facts AS f JOIN fact_history AS h ON h.fact_id = f.id
WHERE f.scope = :scope {subject}
  AND h.version = (SELECT max(version) FROM fact_history
                   WHERE fact_id = f.id AND created_at <= :ts)
  AND h.verified_claim IS NOT NULL
ORDER BY f.subject, f.attribute
"""
_LISTED = """
f.scope, f.subject, f.attribute, f.version, f.open_disagreement, c.id, c.value, c.status,
c.author, c.confidence, c.updated_at
"""


def _ledger(conn: Any) -> Any:
    """``conn`` taking the ledger's statements: on PostgreSQL (a psycopg connection or another
    part's `CompatConnection`), translated with the ledger's `_schema_pg`."""
    if isinstance(conn, sqlite3.Connection):
        return conn
    from langgraph_sharedmem.core.pg_compat import CompatConnection
    from langgraph_sharedmem.facts import _schema_pg

    return CompatConnection(getattr(conn, "raw", conn), _schema_pg.ID_TABLES, _pg_overrides())


@functools.cache
def _pg_overrides() -> Any:
    """One mapping for every wrap (translations are cached by its identity)."""
    from langgraph_sharedmem.core.pg_compat import _Frozen
    from langgraph_sharedmem.facts import _schema_pg

    return _Frozen(_schema_pg.OVERRIDES | _schema_pg.QUERY_OVERRIDES)


def has_ledger(conn: sqlite3.Connection) -> bool:
    """Whether the ledger's tables exist in this file (a fact was ever written)."""
    return bool(_ledger(conn).execute(_LEDGER_TABLES).fetchone()[0] == 4)


def _trusted(conn: sqlite3.Connection, template: str) -> str:
    """``template`` counting only sources that arrived verified, where the file records it."""
    held = conn.execute(_HAS_HELD).fetchone()[0]
    return template.format(trusted=_TRUSTED_SOURCES if held else "")


def who_knows(
    conn: sqlite3.Connection, subject: str, *, scope: str | None, attribute: str | None
) -> list[tuple[str, int, list[str], str]]:
    """``(author, facts, attributes, last_at)`` of every author of a verified value about
    ``subject`` (``scope``: a `Scope.key`), most facts first."""
    if not has_ledger(conn):
        return []
    conn = _ledger(conn)
    params = {"subject": subject, "scope": scope, "attribute": attribute}
    return [
        (author, count, json.loads(attributes), last)
        for author, count, attributes, last in conn.execute(
            _trusted(conn, _WHO_KNOWS), params
        ).fetchall()
    ]


def track_records(conn: sqlite3.Connection, names: Sequence[str]) -> dict[str, int]:
    """How many facts each of ``names`` backs with a verified value, any subject."""
    if not has_ledger(conn):
        return {}
    conn = _ledger(conn)
    rows = conn.execute(_trusted(conn, _TRACK_RECORDS), {"names": json.dumps(list(names))})
    return dict(rows.fetchall())


def facts_as_of(
    conn: sqlite3.Connection, scope: Scope, ts: str, subject: str | None = None
) -> list[Fact]:
    """The facts of ``scope`` (of one ``subject``) as readers saw them at ``ts`` (the ISO
    text the ledger stores): their verified value then; facts with none then are left out."""
    if not has_ledger(conn):
        return []
    conn = _ledger(conn)
    sql = _FACTS_AT.format(subject="" if subject is None else "AND f.subject = :subject")
    rows = conn.execute(sql, {"ts": ts, "scope": scope.key, "subject": subject}).fetchall()
    claim_rows = [conn.execute(_schema.SELECT_CLAIM, (r[5],)).fetchone() for r in rows]
    claims = load_claims(conn, claim_rows)
    out = []
    for row, claim in zip(rows, claims, strict=True):
        fid, skey, subj, attr, version, _, created, updated, contested = row
        sources = tuple(s for s in claim.sources if s.at <= ts)
        author, confidence = credit(claim, sources)  # as readers saw it then
        out.append(
            Fact(
                fid,
                Scope.from_key(skey),
                subj,
                attr,
                claim.value,
                "verified",
                version,
                author,
                confidence,
                sources,
                claim.id,
                bool(contested),
                created,
                updated,
            )
        )
    return out


def _where(pairs: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    wanted = [(column, value) for column, value in pairs if value is not None]
    if not wanted:
        return "", []
    return " WHERE " + " AND ".join(f"{c} = ?" for c, _ in wanted), [v for _, v in wanted]


def listing(
    conn: sqlite3.Connection,
    *,
    scope: Scope | None,
    status: str | None,
    subject: str | None,
    attribute: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Facts across scopes as plain dicts. Without ``status``: each fact once, as readers
    see it (its verified claim, else its newest). With ``status``: every claim in it."""
    join = "c.fact_id = f.id" if status else "c.id = coalesce(f.verified_claim, f.head_claim)"
    where, params = _where(
        [
            ("f.scope", None if scope is None else scope.key),
            ("f.subject", subject),
            ("f.attribute", attribute),
            ("c.status", status),
        ]
    )
    sql = (
        f"SELECT {_LISTED} FROM facts AS f JOIN fact_claims AS c ON {join}{where} "
        "ORDER BY f.scope, f.subject, f.attribute, c.id LIMIT ?"
    )
    return [_listed(row) for row in conn.execute(sql, (*params, limit))]


def quarantined(
    conn: sqlite3.Connection, *, scope: Scope | None, limit: int
) -> list[dict[str, Any]]:
    """Claims waiting in quarantine as plain dicts, oldest first."""
    where, params = _where(
        [("f.scope", None if scope is None else scope.key), ("c.status", "quarantined")]
    )
    sql = (
        f"SELECT {_LISTED} FROM facts AS f JOIN fact_claims AS c ON c.fact_id = f.id"
        f"{where} ORDER BY c.first_seq LIMIT ?"
    )
    return [_listed(row) for row in conn.execute(sql, (*params, limit))]


def _listed(row: tuple[Any, ...]) -> dict[str, Any]:
    scope, subject, attribute, version, open_d, cid, value, status, author, conf, at = row
    return {
        "scope": str(Scope.from_key(scope)),
        "subject": subject,
        "attribute": attribute,
        "value": json.loads(value),
        "status": status,
        "author": author,
        "confidence": conf,
        "version": version,
        "claim_id": cid,
        "contested": open_d is not None,
        "updated_at": at,
    }


def status_counts(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
    """Claims and disagreements per status (``claims_by_status``, ``disagreements_by_status``)."""
    return {
        "claims_by_status": {
            str(k): n
            for k, n in conn.execute("SELECT status, count(*) FROM fact_claims GROUP BY status")
        },
        "disagreements_by_status": {
            str(k): n
            for k, n in conn.execute(
                "SELECT status, count(*) FROM fact_disagreements GROUP BY status"
            )
        },
    }
