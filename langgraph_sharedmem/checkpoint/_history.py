"""Which rows a thread still needs: pruning and garbage collection, in SQL.

Kept apart from the saver because the rule is subtle: a `DeltaChannel` is rebuilt from its
ancestors' writes back to a seed value, so pruning must keep those ancestors (see
`BaseCheckpointSaver.prune`), and a list segment keeps its chain of bases alive.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from langgraph_sharedmem.checkpoint import _writes
from langgraph_sharedmem.checkpoint._values import null_channels

DELTA_COUNTERS = "counters_since_delta_snapshot"


ANCESTOR_CHUNK = 64


@dataclass
class SeedWalk:
    """Where a walk up the parent chain found each channel's stored value."""

    path: list[str] = field(default_factory=list)  # checkpoint ids walked, nearest first
    seeds: dict[str, Any] = field(default_factory=dict)  # channel -> version of its value
    seed_depth: dict[str, int] = field(default_factory=dict)  # channel -> index in path
    null_seeds: set[str] = field(default_factory=set)  # channels whose seed is None


def walk_to_seeds(
    conn: Any,
    sql: ModuleType,
    thread_id: str,
    ns: str,
    start_id: str | None,
    channels: Iterable[str],
) -> SeedWalk:
    """Walk the parent chain from ``start_id`` (itself first) until every channel has met a
    checkpoint holding a stored value of it (its seed), or the chain ends.

    Ancestors come ``ANCESTOR_CHUNK`` at a time and only the versions they name are looked
    up, so the cost follows the walk -- usually a few steps back to the last `DeltaChannel`
    snapshot -- not the length of the thread.
    """
    walk = SeedWalk()
    remaining = set(channels)
    params = {"thread_id": thread_id, "checkpoint_ns": ns, "limit": ANCESTOR_CHUNK}
    current = start_id
    visited: set[str] = set()
    while current is not None and remaining:
        rows = conn.execute(sql.SELECT_ANCESTORS, {**params, "checkpoint_id": current})
        chunk, looped = [], False
        for cp, parent, versions, nulls in rows:
            if cp in visited:  # a parent chain that loops (a put under its own descendant)
                looped = True
                break
            visited.add(cp)
            chunk.append((cp, parent, json.loads(versions), set(null_channels(nulls))))
        if not chunk:
            break
        pairs = [[ch, v[ch]] for _, _, v, _ in chunk for ch in remaining if ch in v]
        stored = {
            (ch, ver)
            for ch, ver in conn.execute(
                sql.SELECT_STORED_PAIRS, {**params, "pairs": json.dumps(pairs)}
            )
        }
        for checkpoint_id, _, versions, nulls in chunk:
            if not remaining:
                break
            walk.path.append(checkpoint_id)
            # A None value named on the checkpoint row is a stored value too (the seed None).
            held = [c for c in remaining if (c, versions.get(c)) in stored or c in nulls]
            for ch in held:
                if ch in nulls:
                    walk.null_seeds.add(ch)
                walk.seeds[ch] = versions[ch]
                walk.seed_depth[ch] = len(walk.path) - 1
                remaining.discard(ch)
        current = chunk[-1][1] if len(chunk) == ANCESTOR_CHUNK and not looped else None
    return walk


def needed_checkpoints(
    conn: Any, sql: ModuleType, thread_id: str, ns: str
) -> list[tuple[str, str]]:
    """The newest checkpoint of a namespace and the ancestors its delta channels need.

    A delta channel needs every ancestor back to the one holding its seed value; with no
    seed anywhere, back to the oldest ancestor holding one of its writes.
    """
    latest = conn.execute(sql.SELECT_LATEST_METADATA, (thread_id, ns)).fetchone()
    if latest is None:
        return []
    delta_channels = set(json.loads(latest[1]).get(DELTA_COUNTERS) or {})
    if not delta_channels:
        return [(ns, latest[0])]
    walk = walk_to_seeds(conn, sql, thread_id, ns, latest[0], delta_channels)
    needed_depth = max(walk.seed_depth.values(), default=0)
    unseeded = delta_channels - walk.seeds.keys()
    if unseeded:  # the walk reached the root: keep back to their oldest write
        written = {
            cp
            for cp, channel, more in conn.execute(
                sql.SELECT_CHECKPOINTS_WRITING, (thread_id, ns, json.dumps(sorted(unseeded)))
            )
            if channel in unseeded
            or (more is not None and any(e[1] in unseeded for e in _writes.unpack(more)))
        }
        deepest_write = [i for i, cp in enumerate(walk.path) if i > 0 and cp in written]
        needed_depth = max([needed_depth, *deepest_write])
    return [(ns, cp) for cp in walk.path[: needed_depth + 1]]


def collect_garbage(conn: Any, sql: ModuleType, thread_id: str) -> None:
    for statement in sql.COLLECT_GARBAGE:
        conn.execute(statement, {"thread_id": thread_id})
