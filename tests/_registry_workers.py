"""Helpers for the registry tests, importable by child processes under spawn."""

from __future__ import annotations

import traceback
from typing import Any

from langgraph_sharedmem import SharedMemory


def register_same_name(path: str, worker: int, rounds: int, barrier: Any, results: Any) -> None:
    """Register agent "shared" ``rounds`` times with this worker's own profile, heartbeating
    in between; report (worker, error)."""
    try:
        with SharedMemory.open(path) as mem:
            mem.registry.setup()
            barrier.wait(timeout=120)
            for i in range(rounds):
                mem.registry.register(
                    "shared",
                    description=f"worker {worker} round {i}: answers billing questions",
                    capabilities=["billing", f"w{worker}"],
                    trust=worker / 10,
                )
                mem.registry.heartbeat("shared")
        results.put((worker, None))
    except BaseException:
        results.put((worker, traceback.format_exc()))


def record_outcomes(path: str, worker: int, rounds: int, barrier: Any, results: Any) -> None:
    """Record ``rounds`` outcomes for agent "billing" from this worker (every fourth one a
    failure); report (ids, error)."""
    try:
        with SharedMemory.open(path) as mem:
            mem.registry.setup()
            barrier.wait(timeout=120)
            ids = [
                mem.registry.record_outcome(
                    # Near the test's task whatever the history floor is tuned to: this test
                    # is about processes recording at once, not about how close texts are.
                    "billing",
                    f"My card expired, how do I put a new one on file? (worker {worker}, try {i})",
                    ok=i % 4 != 3,
                )
                for i in range(rounds)
            ]
        results.put((ids, None))
    except BaseException:
        results.put(([], traceback.format_exc()))
