"""Checkpoints as the inspector shows them: showing and diffing channel values decodes them
through the checkpointer's strict serializer. Listing threads and a thread's history are
`checkpoint.queries` (SQL only).
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig

from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.cli._jsonable import jsonable
from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["checkpoint", "diff"]


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
