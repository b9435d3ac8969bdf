"""Worker processes for tests/test_db_wal.py (importable by spawned interpreters)."""

from __future__ import annotations

import os
import time
from typing import Any


def write_batches(path: str, seconds: float, barrier: Any, results: Any) -> None:
    """Commit 100 rows of 1 kB at a time, with 2 ms between commits, for ``seconds``; put
    (rows written, largest WAL file seen after a commit) or the error."""
    from langgraph_sharedmem import Database

    try:
        db = Database(path)
        with db.write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)")
        barrier.wait()
        rows = largest = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            with db.write() as conn:
                conn.executemany("INSERT INTO t (body) VALUES (randomblob(1000))", [()] * 100)
            rows += 100
            largest = max(largest, os.path.getsize(f"{path}-wal"))
            time.sleep(0.002)
        db.close()
        results.put((rows, largest))
    except Exception as exc:  # reported, asserted on by the test
        results.put(repr(exc))
