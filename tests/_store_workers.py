"""Helpers for the store tests, importable by child processes under spawn."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import traceback
from typing import Any

import numpy as np

from langgraph_sharedmem.store import SharedMemoryStore

DIMS = 32


def toy_embed(texts: list[str]) -> list[list[float]]:
    """Deterministic bag-of-words embedding: each word hashes to a few dimensions."""
    out = []
    for text in texts:
        v = np.zeros(DIMS, dtype=np.float64)
        for word in re.findall(r"\w+", text.lower()):
            h = hashlib.blake2b(word.encode("utf-8", "surrogatepass"), digest_size=8).digest()
            v[h[0] % DIMS] += 1.0
            v[h[1] % DIMS] += 0.5
        if not v.any():
            v[0] = 1e-3
        out.append(v.tolist())
    return out


def toy_index(**extra: Any) -> dict[str, Any]:
    return {"dims": DIMS, "embed": toy_embed, "fields": ["text"], **extra}


def write_items(path: str, worker: int, count: int, barrier: Any, results: Any) -> None:
    """Open the store the instant every worker is ready, then put ``count`` items."""
    try:
        barrier.wait(timeout=120)
        with SharedMemoryStore(path, index=toy_index()) as store:
            for i in range(count):
                store.put(("app", f"user{worker}"), f"k{i}", {"text": f"worker {worker} note {i}"})
                if i % 10 == 0:
                    found = store.search(("app", f"user{worker}"), query=f"note {i}", limit=50)
                    assert any(r.key == f"k{i}" for r in found), "own write not searchable"
        results.put((worker, None))
    except BaseException:
        results.put((worker, traceback.format_exc()))


def write_then_die(path: str, start: int, count: int, kill_after: int, conn: Any) -> None:
    """Put items one by one and tell the parent each committed key; SIGKILL self at a point
    the parent chose: after some commit, possibly before the index applied it."""
    store = SharedMemoryStore(path, index=toy_index())
    store.setup()
    for i in range(start, start + count):
        store.put(("app", "u"), f"k{i}", {"text": f"item number {i}"})
        conn.send(i)
        if i - start == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
    store.close()
