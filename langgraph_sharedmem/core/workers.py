"""The worker threads behind a database's async calls, shared by both backends."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class WorkerThreads:
    """Mixin: ``await db.run(fn)`` on the database's own threads, started on first use, and
    their shutdown when it closes.

    The user sets ``_lock``, ``_executor`` (None), ``_closed`` (False) and ``_check_open``.
    """

    _lock: threading.Lock | threading.RLock
    _executor: ThreadPoolExecutor | None
    _closed: bool
    _thread_name_prefix = "langgraph-sharedmem"

    def _check_open(self) -> None:  # overridden by every user of the mixin
        """Raise if the database is closed."""

    def _worker_count(self) -> int:
        return 1

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` on a worker thread, without blocking the event loop."""
        self._check_open()
        if self._executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(
                        max_workers=self._worker_count(),
                        thread_name_prefix=self._thread_name_prefix,
                    )
        ctx = contextvars.copy_context()
        call = functools.partial(ctx.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def _close_workers(self) -> bool:
        """Mark the database closed and join its threads; False if it already was closed."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
        return True
