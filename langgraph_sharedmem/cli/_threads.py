"""Threads and checkpoints as the inspector shows them.

Listing threads and a thread's history reads SQL only (ids, parents, metadata JSON, channel
versions), so it works whatever types the checkpoints hold; showing and diffing channel values
decodes them through the checkpointer's strict serializer.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from langchain_core.runnables import RunnableConfig

from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.cli._jsonable import jsonable
from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["checkpoint", "checkpoint_time", "diff", "history", "threads"]

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
COUNT_WRITES = """
SELECT checkpoint_id, count(*) FROM writes
WHERE thread_id = ? AND checkpoint_ns = ? GROUP BY checkpoint_id
"""


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
        metadata = json.loads(root[1]) if root else {}
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
    versions = {r[0]: json.loads(r[3]) for r in rows}
    oldest_parent = rows[-1][1]
    if oldest_parent and oldest_parent not in versions:
        found = conn.execute(SELECT_VERSIONS, (thread_id, ns, oldest_parent)).fetchone()
        if found:
            versions[oldest_parent] = json.loads(found[0])
    writes = dict(conn.execute(COUNT_WRITES, (thread_id, ns)).fetchall())
    out = []
    for checkpoint_id, parent, run_id, _versions, metadata_text in rows:
        metadata = json.loads(metadata_text)
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


def _config(thread_id: str, ns: str, checkpoint_id: str | None) -> RunnableConfig:
    configurable = {"thread_id": thread_id, "checkpoint_ns": ns}
    if checkpoint_id:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


def _tuple(saver: SharedMemorySaver, thread_id: str, ns: str, checkpoint_id: str | None) -> Any:
    found = saver.get_tuple(_config(thread_id, ns, checkpoint_id))
    if found is None:
        what = f"checkpoint {checkpoint_id!r}" if checkpoint_id else "any checkpoint"
        where = f"thread {thread_id!r}" + (f" (namespace {ns!r})" if ns else "")
        raise InvalidConfigError(f"{where} has no {what}")
    return found


def checkpoint(
    saver: SharedMemorySaver, thread_id: str, ns: str, checkpoint_id: str | None
) -> dict[str, Any]:
    """One checkpoint (the thread's latest without ``checkpoint_id``) with its values."""
    found = _tuple(saver, thread_id, ns, checkpoint_id)
    cp = found.checkpoint
    parent = (found.parent_config or {}).get("configurable", {}).get("checkpoint_id")
    return {
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "checkpoint_id": cp["id"],
        "parent_checkpoint_id": parent,
        "created_at": cp.get("ts"),
        "metadata": jsonable(found.metadata),
        "channel_versions": jsonable(cp.get("channel_versions", {})),
        "values": jsonable(cp.get("channel_values", {})),
        "pending_writes": [
            {"task_id": task, "channel": channel, "value": jsonable(value)}
            for task, channel, value in (found.pending_writes or [])
        ],
    }


def diff(
    saver: SharedMemorySaver, thread_id: str, ns: str, first: str, second: str | None
) -> dict[str, Any]:
    """What changed in the channel values from ``first`` to ``second``; with one id, from
    its parent to it (what that step did)."""
    if second is None:
        newer = _tuple(saver, thread_id, ns, first)
        parent = (newer.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        before = {} if parent is None else _tuple(saver, thread_id, ns, parent).checkpoint
        older_id = parent
    else:
        before = _tuple(saver, thread_id, ns, first).checkpoint
        newer = _tuple(saver, thread_id, ns, second)
        older_id = first
    a = jsonable((before or {}).get("channel_values", {}))
    b = jsonable(newer.checkpoint.get("channel_values", {}))
    changes = []
    for channel in sorted(set(a) | set(b)):
        if channel not in a:
            changes.append({"channel": channel, "change": "added", "after": b[channel]})
        elif channel not in b:
            changes.append({"channel": channel, "change": "removed", "before": a[channel]})
        elif a[channel] != b[channel]:
            old, new = a[channel], b[channel]
            if isinstance(old, list) and isinstance(new, list) and new[: len(old)] == old:
                changes.append(
                    {
                        "channel": channel,
                        "change": "appended",
                        "before_len": len(old),
                        "appended": new[len(old) :],
                    }
                )
            else:
                changes.append(
                    {"channel": channel, "change": "changed", "before": old, "after": new}
                )
    return {
        "thread_id": thread_id,
        "checkpoint_ns": ns,
        "from": older_id,
        "to": newer.checkpoint["id"],
        "changes": changes,
        "unchanged": sorted(ch for ch in set(a) & set(b) if a[ch] == b[ch]),
    }
