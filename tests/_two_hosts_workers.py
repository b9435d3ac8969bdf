"""A "host" of the two-host simulation, importable by child processes under spawn: its own
working directory, no file shared with the others, only PostgreSQL's URL and the Chroma
server's port."""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections import Counter
from typing import Any

import chromadb

from langgraph_sharedmem import FactConflictError, SharedMemory
from tests._store_workers import toy_index
from tests._templates_workers import run_ticket

# What each host's note is about: another host finds it by meaning, through the Chroma server.
TOPICS = ("refund", "shipping", "password", "invoice", "warranty", "delivery")


def host(
    url: str,
    chroma_port: int,
    name: str,
    keys: int,
    increments: int,
    total: int,
    others: list[str],
    barrier: Any,
    results: Any,
) -> None:
    """Open the memory at once with the other hosts (the first open creates every table);
    call ``keys`` tools, add 1 to a shared counter ``increments`` times (compare-and-set),
    follow the change feed until it has seen the counter's ``total`` versions; run one
    ticket of the customer-service team; leave a note and find the ``others``' notes."""
    try:
        os.chdir(tempfile.mkdtemp(prefix=f"host-{name}-"))  # nothing on disk in common
        ran: Counter[int] = Counter()
        lookups: list[int] = []
        conflicts = 0
        versions: list[int] = []
        client = chromadb.HttpClient(
            host="127.0.0.1",
            port=chroma_port,
            settings=chromadb.Settings(anonymized_telemetry=False),
        )
        barrier.wait(timeout=120)
        # A threshold of 1: every search asks the Chroma server for candidates.
        with SharedMemory.open(url, index=toy_index(ann_threshold=1), chroma=client) as mem:
            cache = mem.tool_cache

            @cache.cached(name="geocode", scope="app")
            def geocode(k: int) -> dict[str, int]:
                ran[k] += 1
                time.sleep(0.005)
                return {"k": k}

            topic = TOPICS[int(name[1:])]
            mem.store.put(("notes",), name, {"text": f"the {topic} ticket was handled by {name}"})
            with mem.changes.subscribe(f"host-{name}", start="earliest", kinds="fact") as sub:
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
                    versions.extend(_counter_versions(sub.poll(timeout=0)))
                final = run_ticket(mem, f"ticket-{name}", lambda: lookups.append(1))
                deadline = time.monotonic() + 60
                while len(versions) < total and time.monotonic() < deadline:
                    versions.extend(_counter_versions(sub.poll(timeout=1)))
            found: dict[str, str | None] = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                for other in others:
                    query = f"{TOPICS[int(other[1:])]} ticket"
                    hits = mem.store.search(("notes",), query=query, limit=1)
                    found[other] = hits[0].key if hits else None
                if all(found[o] == o for o in others):
                    break
                time.sleep(0.2)
        results.put((name, dict(ran), conflicts, versions, len(lookups), final, found, None))
    except BaseException:
        results.put((name, None, None, None, None, None, None, traceback.format_exc()))


def _counter_versions(changes: Any) -> list[int]:
    """The shared counter's versions among fact changes (the team records facts too)."""
    return [c.data["version"] for c in changes if c.key == "jobs/done"]
