"""Read-only SQL of the inspector over what no part owns: the change log (the core's), table
counts and sizes (names from the database's catalogue). What the parts own is read through their
``queries`` modules. Values reach SQL only as parameters."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from langgraph_sharedmem.core.values import Scope

__all__ = ["changes", "schema_bytes", "table_counts"]


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


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def table_counts(conn: Any, dialect: str = "sqlite") -> dict[str, int]:
    """Rows per table of the database (on PostgreSQL: of its current schema), FTS shadow
    tables and SQLite's own left out."""
    if dialect == "postgres":
        listing = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
            "ORDER BY table_name"
        )
    else:
        listing = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    tables = [name for (name,) in conn.execute(listing)]
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


def schema_bytes(conn: Any) -> int:
    """Bytes of the current PostgreSQL schema's tables, with their indexes and TOAST."""
    row = conn.execute(
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class AS c "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
    ).fetchone()
    return int(row[0])
