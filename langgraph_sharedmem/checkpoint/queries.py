"""Reads of the checkpoint tables that the inspector and Studio need: threads, a thread's
history (ids, parents, metadata JSON, channel versions: SQL only, so it works whatever types
the checkpoints hold), and counts.

Each runs on a connection the caller holds (``with db.read() as conn``); the SQL naming the
checkpoint tables stays in this part.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langgraph_sharedmem.checkpoint import _writes

__all__ = [
    "checkpoint_time",
    "count_checkpoints",
    "count_threads",
    "history",
    "thread_ids",
    "threads",
]

_GREGORIAN_TO_UNIX = 0x01B21DD213814000  # 100 ns intervals from 1582-10-15 to 1970-01-01

SELECT_THREADS = """
SELECT thread_id, count(*), count(DISTINCT checkpoint_ns), max(checkpoint_id)
FROM checkpoints GROUP BY thread_id ORDER BY max(checkpoint_id) DESC LIMIT ?
"""
SELECT_LATEST_ROOT = """
SELECT checkpoint_id, metadata FROM checkpoints
WHERE thread_id = ? AND checkpoint_ns = '' ORDER BY checkpoint_id DESC LIMIT 1
"""
SELECT_HISTORY = """
SELECT checkpoint_id, parent_checkpoint_id, run_id, channel_versions, metadata FROM checkpoints
WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT ?
"""
SELECT_VERSIONS = """
SELECT channel_versions FROM checkpoints
WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?
"""
# A row may hold several writes (`_writes`): they are counted in Python.
SELECT_WRITE_ROWS = """
SELECT checkpoint_id, more FROM writes WHERE thread_id = ? AND checkpoint_ns = ?
"""


def _json(value: Any) -> Any:
    """A JSON column's value: text on SQLite, already decoded from ``jsonb`` on PostgreSQL."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def checkpoint_time(checkpoint_id: str) -> str | None:
    """When a checkpoint was made, from its id (LangGraph ids are time-ordered UUIDv6)."""
    try:
        u = UUID(checkpoint_id)
    except (ValueError, TypeError):
        return None
    if u.version != 6:
        return None
    ticks = ((u.int >> 96) << 28) | (((u.int >> 80) & 0xFFFF) << 12) | ((u.int >> 64) & 0x0FFF)
    seconds = (ticks - _GREGORIAN_TO_UNIX) / 1e7
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds")


def threads(conn: sqlite3.Connection, limit: int) -> list[dict[str, Any]]:
    """Threads, most recently checkpointed first."""
    out = []
    for thread_id, count, namespaces, latest in conn.execute(SELECT_THREADS, (limit,)):
        root = conn.execute(SELECT_LATEST_ROOT, (thread_id,)).fetchone()
        metadata = _json(root[1]) if root else {}
        out.append(
            {
                "thread_id": thread_id,
                "checkpoints": count,
                "namespaces": namespaces,
                "latest_checkpoint": root[0] if root else latest,
                "step": metadata.get("step"),
                "source": metadata.get("source"),
                "updated_at": checkpoint_time(latest),
            }
        )
    return out


def history(conn: sqlite3.Connection, thread_id: str, ns: str, limit: int) -> list[dict[str, Any]]:
    """A thread's checkpoints newest first: step, source, which channels changed, writes."""
    rows = conn.execute(SELECT_HISTORY, (thread_id, ns, limit)).fetchall()
    if not rows:
        return []
    versions = {r[0]: _json(r[3]) for r in rows}
    oldest_parent = rows[-1][1]
    if oldest_parent and oldest_parent not in versions:
        found = conn.execute(SELECT_VERSIONS, (thread_id, ns, oldest_parent)).fetchone()
        if found:
            versions[oldest_parent] = _json(found[0])
    writes: dict[str, int] = {}
    for checkpoint_id, more in conn.execute(SELECT_WRITE_ROWS, (thread_id, ns)):
        packed = len(_writes.unpack(more)) if more is not None else 0
        writes[checkpoint_id] = writes.get(checkpoint_id, 0) + 1 + packed
    out = []
    for checkpoint_id, parent, run_id, _versions, metadata_text in rows:
        metadata = _json(metadata_text)
        mine = versions[checkpoint_id]
        before = versions.get(parent, {}) if parent else {}
        changed = sorted(ch for ch, v in mine.items() if before.get(ch) != v)
        out.append(
            {
                "checkpoint_id": checkpoint_id,
                "parent_checkpoint_id": parent,
                "created_at": checkpoint_time(checkpoint_id),
                "step": metadata.get("step"),
                "source": metadata.get("source"),
                "run_id": run_id,
                "changed": changed,
                "writes": writes.get(checkpoint_id, 0),
            }
        )
    return out


def thread_ids(conn: sqlite3.Connection, *, with_root: bool = False) -> list[str]:
    """Every thread id (``with_root``: only threads with a root-namespace checkpoint), sorted."""
    where = " WHERE checkpoint_ns = ''" if with_root else ""
    sql = f"SELECT DISTINCT thread_id FROM checkpoints{where} ORDER BY thread_id"
    return [t for (t,) in conn.execute(sql)]


def count_threads(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()[0])


def count_checkpoints(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0])
