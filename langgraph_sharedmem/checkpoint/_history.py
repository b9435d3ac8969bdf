"""Which rows a thread still needs: pruning and garbage collection, in SQL.

Kept apart from the saver because the rule is subtle: a `DeltaChannel` is rebuilt from its
ancestors' writes back to a seed value, so pruning must keep those ancestors (see
`BaseCheckpointSaver.prune`), and a list segment keeps its chain of bases alive.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from langgraph_sharedmem.checkpoint import _schema

DELTA_COUNTERS = "counters_since_delta_snapshot"


def needed_checkpoints(conn: Any, thread_id: str, ns: str) -> list[tuple[str, str]]:
    """The newest checkpoint of a namespace and the ancestors its delta channels need.

    A delta channel needs every ancestor back to the one holding its seed value; with no
    seed anywhere, back to the oldest ancestor holding one of its writes.
    """
    latest = conn.execute(
        "SELECT checkpoint_id, metadata FROM checkpoints WHERE thread_id = ? "
        "AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1",
        (thread_id, ns),
    ).fetchone()
    if latest is None:
        return []
    delta_channels = set(json.loads(latest[1]).get(DELTA_COUNTERS) or {})
    if not delta_channels:
        return [(ns, latest[0])]
    ancestors = conn.execute(
        _schema.SELECT_ANCESTORS,
        {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": latest[0]},
    ).fetchall()
    stored = stored_kinds(conn, thread_id, ns, delta_channels)
    written = {
        (cp, ch)
        for cp, ch in conn.execute(
            "SELECT DISTINCT checkpoint_id, channel FROM writes WHERE thread_id = ? "
            "AND checkpoint_ns = ? AND channel IN (SELECT value FROM json_each(?))",
            (thread_id, ns, json.dumps(sorted(delta_channels))),
        )
    }
    unseeded = set(delta_channels)
    needed_depth = 0
    for checkpoint_id, versions_json, depth in ancestors:
        versions = json.loads(versions_json)
        if depth > 0 and any((checkpoint_id, ch) in written for ch in unseeded):
            needed_depth = depth
        seeded_here = {ch for ch in unseeded if stored.get((ch, versions.get(ch)))}
        if seeded_here:
            needed_depth = max(needed_depth, depth)
            unseeded -= seeded_here
        if not unseeded:
            break
    return [(ns, cp) for cp, _, depth in ancestors if depth <= needed_depth]


def stored_kinds(
    conn: Any, thread_id: str, ns: str, channels: Iterable[str]
) -> dict[tuple[str, Any], bool]:
    """For each (channel, version) row: whether it holds a value (not 'empty')."""
    rows = conn.execute(
        "SELECT channel, version, kind != 'empty' FROM channel_values "
        "WHERE thread_id = ? AND checkpoint_ns = ? "
        "AND channel IN (SELECT value FROM json_each(?))",
        (thread_id, ns, json.dumps(sorted(channels))),
    ).fetchall()
    return {(ch, ver): bool(has) for ch, ver, has in rows}


def collect_garbage(conn: Any, thread_id: str) -> None:
    for sql in _schema.COLLECT_GARBAGE:
        conn.execute(sql, {"thread_id": thread_id})
