"""Helpers for the change-feed tests, importable by child processes under spawn."""

from __future__ import annotations

import json
import time
import traceback
from typing import Any

from langgraph_sharedmem import SharedMemory


def write_changes(path: str, worker: int, count: int, barrier: Any, results: Any) -> None:
    """Assert ``count`` facts (in the app scope and in user u1's) and put ``count`` run
    items; report the seqs the writes got, in the order this worker made them."""
    try:
        with SharedMemory.open(path, index=None) as mem:
            mem.facts.setup()
            mem.store.setup()
            barrier.wait()
            for i in range(count):
                where = "app" if i % 2 == 0 else ("user", "u1")
                mem.facts.assert_fact(where, f"w{worker}", f"a{i}", i, author=f"writer{worker}")
                mem.store.put(("sharedmem", "run", f"r{worker}"), f"k{i}", {"i": i})
                time.sleep(0.002)
        results.put(("ok", worker))
    except BaseException:
        results.put(("error", worker, traceback.format_exc()))


def consume(
    path: str, name: str, out: str, stop_after: int, agent: str | None, delay: float = 0.0
) -> None:
    """Subscribe as ``name`` and append each change (one JSON line, flushed) to ``out``
    before acknowledging it, taking ``delay`` seconds per change; exit after ``stop_after``
    changes (0: never). Killed from outside in the tests, so whatever it acknowledged is
    all the cursor knows."""
    filters: dict[str, Any] = {} if agent is None else {"agent": agent, "user_id": "u1"}
    with SharedMemory.open(path, index=None) as mem:
        sub = mem.changes.subscribe(name, start="earliest", batch_size=7, **filters)
        seen = 0
        with open(out, "a", encoding="utf-8") as fh:
            for change in sub:
                line = {"seq": change.seq, "kind": change.kind, "scope": str(change.scope)}
                fh.write(json.dumps(line) + "\n")
                fh.flush()
                time.sleep(delay)
                seen += 1
                if stop_after and seen >= stop_after:
                    sub.ack(change)
                    sub.close()
                    return


def measure_latency(path: str, count: int, barrier: Any, results: Any) -> None:
    """Subscriber side of the latency test: time from a change's commit (``at``) to here."""
    try:
        with SharedMemory.open(path, index=None) as mem:
            sub = mem.changes.subscribe(None, kinds="fact")
            barrier.wait()
            lat = []
            for change in sub.changes(idle_timeout=10):
                lat.append(time.time() - change.at)
                if len(lat) >= count:
                    break
            sub.close()
        results.put(("ok", lat))
    except BaseException:
        results.put(("error", traceback.format_exc()))
