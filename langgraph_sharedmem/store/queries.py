"""Reads of the store's tables that the inspector needs: items under a prefix and the state
of the vector index. Each runs on a connection the caller holds (``with db.read() as conn``);
the SQL naming the store's tables stays in this part.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

__all__ = ["index_state", "items"]


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


# The newest index change: SQLite numbers the outbox itself; PostgreSQL keeps a counter row.
_CURRENT_SEQ = {
    "sqlite": "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'mem_outbox'), 0)",
    "postgres": "SELECT seq FROM mem_seq WHERE id = 1",
}


def index_state(conn: sqlite3.Connection, dialect: str = "sqlite") -> dict[str, Any]:
    """The vector index as the database records it: vectors, newest change, what Chroma
    applied."""
    meta = dict(conn.execute("SELECT key, value FROM mem_meta").fetchall())
    current = conn.execute(_CURRENT_SEQ[dialect]).fetchone()[0]
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
