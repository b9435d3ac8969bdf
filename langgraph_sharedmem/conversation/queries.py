"""Reads of the conversation tables that the inspector needs. Each runs on a connection the
caller holds (``with db.read() as conn``); the SQL naming these tables stays in this part.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

__all__ = ["runs"]


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
