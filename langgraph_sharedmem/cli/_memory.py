"""Read-only SQL for views the parts' APIs do not offer: facts across scopes by status, store
items, the change log, index state and table counts. Values reach SQL only as parameters;
table names come from ``sqlite_master``."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from langgraph_sharedmem.core.values import Scope

__all__ = ["changes", "facts", "index_state", "items", "runs", "quarantined", "table_counts"]

_FACT_COLUMNS = """
f.scope, f.subject, f.attribute, f.version, f.open_disagreement, c.id, c.value, c.status,
c.author, c.confidence, c.updated_at
"""


def _where(pairs: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    wanted = [(column, value) for column, value in pairs if value is not None]
    if not wanted:
        return "", []
    return " WHERE " + " AND ".join(f"{c} = ?" for c, _ in wanted), [v for _, v in wanted]


def facts(
    conn: sqlite3.Connection,
    *,
    scope: Scope | None,
    status: str | None,
    subject: str | None,
    attribute: str | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Without ``status``: each fact once, as readers see it (its verified claim, else its
    newest). With ``status``: every claim in that status."""
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
        f"SELECT {_FACT_COLUMNS} FROM facts AS f JOIN fact_claims AS c ON {join}{where} "
        "ORDER BY f.scope, f.subject, f.attribute, c.id LIMIT ?"
    )
    return [_fact_row(row) for row in conn.execute(sql, (*params, limit))]


def quarantined(
    conn: sqlite3.Connection, *, scope: Scope | None, limit: int
) -> list[dict[str, Any]]:
    """Claims waiting in quarantine, oldest first (used when the validation part is absent)."""
    where, params = _where(
        [("f.scope", None if scope is None else scope.key), ("c.status", "quarantined")]
    )
    sql = (
        f"SELECT {_FACT_COLUMNS} FROM facts AS f JOIN fact_claims AS c ON c.fact_id = f.id"
        f"{where} ORDER BY c.first_seq LIMIT ?"
    )
    return [_fact_row(row) for row in conn.execute(sql, (*params, limit))]


def _fact_row(row: tuple[Any, ...]) -> dict[str, Any]:
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


def items(conn: sqlite3.Connection, *, prefix: str | None, limit: int) -> list[dict[str, Any]]:
    """Store items newest first, under a namespace prefix written ``a.b``."""
    sql = "SELECT prefix, key, value, created_at, updated_at, expires_at FROM mem_items"
    params: list[Any] = []
    if prefix:
        sql += " WHERE prefix = ? OR (prefix >= ? AND prefix < ?)"
        params += [prefix, prefix + ".", prefix + "/"]
    sql += " ORDER BY updated_at DESC LIMIT ?"
    return [
        {
            "namespace": p.split("."),
            "key": k,
            "value": json.loads(v),
            "created_at": c,
            "updated_at": u,
            "expires_at": e,
        }
        for p, k, v, c, u, e in conn.execute(sql, (*params, limit))
    ]


def changes(
    conn: sqlite3.Connection, *, after: int, kind: str | None, limit: int
) -> list[dict[str, Any]]:
    """Change-log rows after ``after``, in commit order."""
    sql = "SELECT seq, at, kind, op, scope, key, author, data FROM changes WHERE seq > ?"
    params: list[Any] = [after]
    if kind:
        sql += " AND kind = ?"
        params.append(kind)
    sql += " ORDER BY seq LIMIT ?"
    return [
        {
            "seq": seq,
            "at": at,
            "kind": k,
            "op": op,
            "scope": None if scope is None else str(Scope.from_key(scope)),
            "key": key,
            "author": author,
            "data": None if data is None else json.loads(data),
        }
        for seq, at, k, op, scope, key, author, data in conn.execute(sql, (*params, limit))
    ]


def runs(conn: sqlite3.Connection, *, limit: int) -> list[dict[str, Any]]:
    """Runs of the conversation history, most recent first."""
    sql = (
        "SELECT run, count(*), count(DISTINCT sender), min(created_at), max(created_at) "
        "FROM conv_messages GROUP BY run ORDER BY max(seq) DESC LIMIT ?"
    )
    return [
        {
            "run": run,
            "messages": n,
            "senders": senders,
            "first_at": _iso(first),
            "last_at": _iso(last),
        }
        for run, n, senders, first, last in conn.execute(sql, (limit,))
    ]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def index_state(conn: sqlite3.Connection) -> dict[str, Any]:
    """The vector index as SQLite records it: vectors, newest change, what Chroma applied."""
    meta = dict(conn.execute("SELECT key, value FROM mem_meta").fetchall())
    current = conn.execute(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'mem_outbox'), 0)"
    ).fetchone()[0]
    vectors = conn.execute("SELECT count(*) FROM mem_vectors").fetchone()[0]
    indexes = [
        {
            "name": name,
            "applied_seq": applied,
            "pending": max(0, current - applied),
            "lease_holder": holder,
            "lease_expires": expires,
        }
        for name, applied, holder, expires in conn.execute(
            "SELECT name, applied_seq, holder, lease_expires FROM mem_index_state ORDER BY name"
        )
    ]
    return {
        "dims": int(meta["dims"]) if "dims" in meta else None,
        "store_id": meta.get("store_id"),
        "vectors": vectors,
        "current_seq": current,
        "indexes": indexes,
    }


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table, FTS shadow tables and SQLite's own left out."""
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    virtual = {
        t for t in tables if t.endswith(("_data", "_idx", "_docsize", "_config", "_content"))
    }
    out: dict[str, int] = {}
    for table in tables:
        if table in virtual and table.rsplit("_", 1)[0] in tables:
            continue
        quoted = '"' + table.replace('"', '""') + '"'
        out[table] = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
    return out


def grouped(conn: sqlite3.Connection, sql: str) -> dict[str, int]:
    return {str(k): n for k, n in conn.execute(sql)}
