"""Helpers for the fact-ledger tests, importable by child processes under spawn."""

from __future__ import annotations

import traceback
from typing import Any

from langgraph_sharedmem import FactConflictError, FactLedger


def increment(
    path: str, worker: int, count: int, barrier: Any, results: Any, attribute: str = "done"
) -> None:
    """Add 1 to the counter fact ``attribute`` ``count`` times, each a read then a
    compare-and-set retried on conflict; report (worker, conflicts seen, error)."""
    conflicts = 0
    try:
        with FactLedger(path) as ledger:
            ledger.setup()
            barrier.wait(timeout=120)
            for _ in range(count):
                while True:
                    fact = ledger.get("app", "jobs", attribute)
                    value, version = (0, 0) if fact is None else (fact.value, fact.version)
                    try:
                        ledger.assert_fact(
                            "app",
                            "jobs",
                            attribute,
                            value + 1,
                            author=f"worker-{worker}",
                            expected_version=version,
                        )
                        break
                    except FactConflictError:
                        conflicts += 1
        results.put((worker, conflicts, None))
    except BaseException:
        results.put((worker, conflicts, traceback.format_exc()))


def increment_fact(
    path: str, worker: int, count: int, attribute: str, barrier: Any, results: Any
) -> None:
    """`increment` of the counter fact ``attribute`` (for `tests._spawn.run_together`)."""
    increment(path, worker, count, barrier, results, attribute)
