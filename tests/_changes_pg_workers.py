"""Helpers for the PostgreSQL change-log tests, importable by child processes under spawn."""

from __future__ import annotations

import random
import time
import traceback
from typing import Any

from langgraph_sharedmem.core.changelog import record
from langgraph_sharedmem.core.postgres import PostgresDatabase

# The race without `LOG_LOCK`: the number is drawn at insert, the row appears at commit.
UNLOCKED_INSERT = (
    "INSERT INTO changes (at, kind, op, scope, key, author, data) "
    "VALUES (%s, 'test', 'put', NULL, %s, NULL, NULL)"
)


def log_writer(url: str, name: str, n: int, locked: bool, barrier: Any, results: Any) -> None:
    """Log ``n`` changes, each in its own transaction that lingers a moment after logging,
    so transactions that drew numbers in one order commit in another."""
    try:
        rng = random.Random(name)
        with PostgresDatabase(url, pool_size=1) as db:
            barrier.wait(timeout=120)
            for i in range(n):
                with db.write() as conn:
                    if locked:
                        record(conn, kind="test", op="put", key=f"{name}/{i}")
                    else:
                        conn.execute(UNLOCKED_INSERT, (time.time(), f"{name}/{i}"))
                    time.sleep(rng.uniform(0, 0.004))
        results.put((name, n, None))
    except BaseException:
        results.put((name, None, traceback.format_exc()))


def log_reader(url: str, seconds: float, barrier: Any, results: Any) -> None:
    """Follow the log by cursor (the last seq seen) for ``seconds``; report the seqs read."""
    try:
        seen: list[int] = []
        cursor = 0
        with PostgresDatabase(url, pool_size=1) as db:
            barrier.wait(timeout=120)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                with db.read() as conn:
                    rows = conn.execute(
                        "SELECT seq FROM changes WHERE seq > %s ORDER BY seq", (cursor,)
                    ).fetchall()
                if rows:
                    seen.extend(r[0] for r in rows)
                    cursor = rows[-1][0]
                time.sleep(0.0005)
        results.put(("reader", seen, None))
    except BaseException:
        results.put(("reader", None, traceback.format_exc()))


def timed_writer(url: str, n: int, gap: float, barrier: Any, results: Any) -> None:
    """Log ``n`` changes ``gap`` seconds apart, each in its own transaction (``at`` is the
    moment of logging, just before the commit)."""
    try:
        with PostgresDatabase(url, pool_size=1) as db:
            barrier.wait(timeout=120)
            for i in range(n):
                with db.write() as conn:
                    record(conn, kind="test", op="put", key=f"k{i}")
                time.sleep(gap)
        results.put(("writer", n, None))
    except BaseException:
        results.put(("writer", None, traceback.format_exc()))
