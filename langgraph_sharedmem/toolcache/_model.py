"""What the tool cache hands back besides results: statistics and the cached-error type."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, fields

from langgraph_sharedmem.errors import SharedMemoryError

__all__ = ["CacheStats", "CachedToolError", "SharedCacheStats"]


class CachedToolError(SharedMemoryError, RuntimeError):
    """A call that failed earlier, replayed from the cache (only with ``cache_errors=True``).

    The original exception object stays in the process that ran the call; this one carries
    its type name and message: ``tool``, ``error_type``, ``error_message``.
    """

    _fields = ("tool", "error_type", "error_message")

    def __init__(self, message: str, *, tool: str, error_type: str, error_message: str) -> None:
        super().__init__(message)
        self.tool = tool
        self.error_type = error_type
        self.error_message = error_message


@dataclass(frozen=True)
class CacheStats:
    """What one `ToolCache` object saw (this process, since it was created or reset).

    * ``hits``: a fresh result was already stored;
    * ``waits``: the same call was in flight elsewhere; this caller waited and got its result;
    * ``misses``: this caller ran the tool (``takeovers`` of them after a dead holder's lease
      ran out);
    * ``errors``: runs that raised; ``uncacheable``: results returned but not storable;
    * ``calls_saved`` = ``hits + waits``: tool calls that did not have to be made.
    """

    hits: int = 0
    waits: int = 0
    misses: int = 0
    takeovers: int = 0
    errors: int = 0
    uncacheable: int = 0

    @property
    def calls_saved(self) -> int:
        return self.hits + self.waits


@dataclass(frozen=True)
class SharedCacheStats:
    """What the database records for every process: ``entries`` stored keys, ``runs`` tool
    executions, ``calls_saved`` answers given without running (hits and served waiters)."""

    entries: int
    runs: int
    calls_saved: int


class Counters:
    """Thread-safe per-tool counters behind `CacheStats`."""

    _NAMES = frozenset(f.name for f in fields(CacheStats))

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str | None, Counter[str]] = {}

    def add(self, tool: str, name: str) -> None:
        assert name in self._NAMES, name
        with self._lock:
            for bucket in (None, tool):
                counts = self._counts.get(bucket)
                if counts is None:
                    counts = self._counts[bucket] = Counter()
                counts[name] += 1

    def snapshot(self, tool: str | None = None) -> CacheStats:
        with self._lock:
            return CacheStats(**self._counts.get(tool, Counter()))

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
