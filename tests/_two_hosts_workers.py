"""A "host" of the two-host simulation, importable by child processes under spawn: its own
working directory, no file shared with the others, only the PostgreSQL URL."""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections import Counter
from typing import Any

from langgraph_sharedmem import FactConflictError, SharedMemory


def host(
    url: str, name: str, keys: int, increments: int, total: int, barrier: Any, results: Any
) -> None:
    """Call ``keys`` tools, add 1 to a shared counter ``increments`` times (compare-and-set),
    and follow the change feed until it has seen the counter's ``total`` versions."""
    try:
        os.chdir(tempfile.mkdtemp(prefix=f"host-{name}-"))  # nothing on disk in common
        ran: Counter[int] = Counter()
        conflicts = 0
        versions: list[int] = []
        with SharedMemory.open(url, index=None) as mem:
            cache = mem.tool_cache

            @cache.cached(name="geocode", scope="app")
            def geocode(k: int) -> dict[str, int]:
                ran[k] += 1
                time.sleep(0.005)
                return {"k": k}

            with mem.changes.subscribe(f"host-{name}", start="earliest", kinds="fact") as sub:
                barrier.wait(timeout=120)
                for i in range(max(keys, increments)):
                    if i < keys:
                        assert geocode((i * 7 + len(name)) % keys) is not None
                    if i < increments:
                        while True:
                            fact = mem.facts.get("app", "jobs", "done")
                            value, version = (0, 0) if fact is None else (fact.value, fact.version)
                            try:
                                mem.facts.assert_fact(
                                    "app",
                                    "jobs",
                                    "done",
                                    value + 1,
                                    author=f"host-{name}",
                                    expected_version=version,
                                )
                                break
                            except FactConflictError:
                                conflicts += 1
                    versions.extend(c.data["version"] for c in sub.poll(timeout=0))
                deadline = time.monotonic() + 60
                while len(versions) < total and time.monotonic() < deadline:
                    versions.extend(c.data["version"] for c in sub.poll(timeout=1))
        results.put((name, dict(ran), conflicts, versions, None))
    except BaseException:
        results.put((name, None, None, None, traceback.format_exc()))
