"""Run worker functions in fresh processes that start their work at the same instant, and
wait for what they bring about."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from typing import Any

CTX = mp.get_context("spawn")  # a fresh interpreter, as a second agent process would be


def run_together(
    target: Callable[..., None], worker_args: Sequence[tuple[Any, ...]], timeout: float = 180
) -> list[Any]:
    """Call ``target(*args, barrier, results)`` in one process per ``args``; collect results.

    Each worker waits on the shared barrier before its real work and puts exactly one
    outcome on ``results`` (errors included), which the caller asserts on.
    """
    barrier, results = CTX.Barrier(len(worker_args)), CTX.Queue()
    procs = [CTX.Process(target=target, args=(*args, barrier, results)) for args in worker_args]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=timeout) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return outcomes


def wait_until(cond: Callable[[], Any], timeout: float) -> bool:
    """Poll ``cond`` until it is true or ``timeout`` seconds pass; its last value, as a bool."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return bool(cond())
