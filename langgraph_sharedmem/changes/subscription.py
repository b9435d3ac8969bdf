"""`Subscription`: one reader of the change feed, in commit order, resuming from a cursor.

How it learns of new changes (measured in bench/bench_changes.py, see docs/changes.md): it
polls ``PRAGMA data_version`` on a connection of its own. The number moves whenever another
connection — in this process or any other — commits to the file; reading it takes a few
microseconds and never waits for a writer (WAL). It polls every ``poll_interval`` seconds
while changes flow and backs off to ``max_poll_interval`` when idle, so an idle subscriber
costs ~100 cheap reads a second and a busy one is woken within a millisecond or two.

Delivery is at-least-once: the cursor moves only past changes that were acknowledged, and it
is written at the next poll, on `commit()` or on `close()`. A process that dies between
receiving a change and acknowledging it gets it again after a restart; ``Change.seq`` tells
a re-delivery apart.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Final

from langgraph_sharedmem.changes import _query
from langgraph_sharedmem.changes._query import Change, ChangeFilter
from langgraph_sharedmem.core.closing import Closing
from langgraph_sharedmem.errors import InvalidConfigError

if TYPE_CHECKING:
    from langgraph_sharedmem.changes.feed import ChangeFeed

__all__ = ["ChangeListener", "Subscription"]

MAX_LIMIT: Final = 100_000
_MAX_SEQ: Final = 2**63 - 1  # SQLite's largest integer


def check_limit(what: str, limit: Any) -> int:
    """A page size: an int from 1 to `MAX_LIMIT` (SQLite reads a negative LIMIT as "no
    limit", and past 2**63 the driver overflows: both are refused here, by name)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidConfigError(f"{what} must be an int from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit


def check_seq(what: str, seq: Any) -> int:
    """A position in the change log: an int >= 0."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= _MAX_SEQ:
        raise InvalidConfigError(f"{what} must be an int >= 0 (a change seq), got {seq!r}")
    return seq


class Subscription(Closing):
    """A stream of the changes one reader may see, oldest first (made by
    `ChangeFeed.subscribe`). Iterate it (``for change in sub``, ``async for change in sub``),
    or take batches with `poll` / `apoll`. One reader at a time: share it between threads
    only to call `close`.

    With ``auto_ack`` (default) a change counts as processed when the next one is asked for;
    otherwise call `ack`. Either way the cursor is written at the next poll, `commit`, `close`.
    """

    def __init__(
        self,
        feed: ChangeFeed,
        name: str | None,
        flt: ChangeFilter,
        *,
        start: str | int,
        auto_ack: bool,
        poll_interval: float,
        max_poll_interval: float,
        batch_size: int,
    ) -> None:
        if (
            not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and 0 < x < 3600
                for x in (poll_interval, max_poll_interval)
            )
            or max_poll_interval < poll_interval
        ):
            raise InvalidConfigError(
                "poll_interval and max_poll_interval must be seconds between 0 and 3600 and "
                "max_poll_interval >= poll_interval, got "
                f"{poll_interval!r}, {max_poll_interval!r}"
            )
        check_limit("batch_size", batch_size)
        self.feed, self.name, self.filter = feed, name, flt
        self.auto_ack = auto_ack
        self.poll_interval, self.max_poll_interval = poll_interval, max_poll_interval
        self.batch_size = batch_size
        self._read_pos, self.position = self._start(start)  # before anything is opened
        self._conn, self._conn_lock = feed.watch_connection(), threading.Lock()
        self._version: int | None = None
        self._buffer: deque[Change] = deque()
        self._unacked: Change | None = None  # the last change handed out by the iterator
        self._last_buffered = 0
        self._closed = False
        self._committed = self.position
        self._scanned = self._read_pos

    def _start(self, start: str | int) -> tuple[int, int]:
        stored = None if self.name is None else self.feed.cursor(self.name)
        if stored is not None:
            pos = stored
        elif start == "latest":
            pos = self.feed.head()
        elif start == "earliest":
            pos = self.feed.horizon()
        elif isinstance(start, int) and not isinstance(start, bool) and start >= 0:
            pos = check_seq("start", start)
        else:
            raise InvalidConfigError(
                f"start must be 'latest', 'earliest' or a seq >= 0, got {start!r}"
            )
        with self.feed.db.read() as conn:
            _query.check_after(conn, pos, self.name)
        if self.name is not None and stored is None:
            self.feed.set_cursor(self.name, pos)
        return pos, pos

    # -- acknowledging ---------------------------------------------------------------------

    def ack(self, change: Change | int) -> None:
        """Mark ``change`` (and everything delivered before it) processed."""
        seq = change.seq if isinstance(change, Change) else int(change)
        if seq > self.position:
            self.position = seq
        if self._unacked is not None and self._unacked.seq <= seq:
            self._unacked = None
        if not self._buffer and seq >= self._last_buffered:
            # Everything fetched is processed: skip past changes this reader may not see.
            self.position = max(self.position, self._scanned)

    def commit(self) -> None:
        """Write the cursor now (a named subscription; a no-op for an anonymous one)."""
        if self.name is not None and self.position > self._committed:
            self.feed.advance_cursor(self.name, self.position)
        self._committed = self.position

    async def acommit(self) -> None:
        await self.feed.db.run(self.commit)

    def _auto_ack(self) -> None:
        """With ``auto_ack``, asking for more acknowledges what was handed out before."""
        if self.auto_ack and self._unacked is not None:
            self.ack(self._unacked)

    def _take(self) -> Change:
        change = self._buffer.popleft()
        self._unacked = change
        return change

    def _drain(self) -> list[Change]:
        out = list(self._buffer)
        self._buffer.clear()
        if out and self.auto_ack:
            self._unacked = out[-1]
        return out

    # -- fetching --------------------------------------------------------------------------

    def _changed(self) -> bool:
        """Whether anything committed since the last look (data_version moved)."""
        version = self.feed.data_version(self._conn)
        moved = version != self._version
        self._version = version
        return moved

    def _fetch(self) -> bool:
        """One look at the log; True if changes were added to the buffer."""
        if self._closed:  # closed from another thread: iteration ends, poll returns []
            return False
        if not self._buffer and self.position >= self._last_buffered:
            self.position = max(self.position, self._scanned)
        self.commit()
        with self._conn_lock:
            if self._closed:
                return False
            first = self._version is None  # never looked, or the last batch was full
            if not (self._changed() or first):
                return False
            rows, scanned = self.feed.fetch_on(
                self._conn, self.filter, after=self._read_pos, limit=self.batch_size, name=self.name
            )
        self._read_pos = self._scanned = scanned
        if len(rows) >= self.batch_size:
            self._version = None  # a full batch: look again at once, whatever data_version says
        if rows:
            self._buffer.extend(rows)
            self._last_buffered = rows[-1].seq
        elif not self._buffer and self.position >= self._last_buffered:
            self.position = max(self.position, scanned)
        return bool(rows)

    def _wait(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = self.poll_interval
        while not self._buffer:
            if self._fetch():
                return True
            if self._closed:
                return False
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self.feed.idle(self._conn, interval if left is None else min(interval, left))
            interval = min(interval * 2, self.max_poll_interval)
        return True

    def poll(self, timeout: float | None = 0.0) -> list[Change]:
        """Wait up to ``timeout`` seconds (None: forever) for changes; return those buffered
        (possibly none). With ``auto_ack`` the previous batch counts as processed."""
        self._auto_ack()
        self._wait(timeout)
        return self._drain()

    def __iter__(self) -> Iterator[Change]:
        return self

    def __next__(self) -> Change:
        self._auto_ack()
        while not self._buffer:
            if self._closed:
                raise StopIteration
            self._wait(0.5)
        return self._take()

    def changes(self, *, idle_timeout: float | None = None) -> Iterator[Change]:
        """Iterate; stop once nothing has arrived for ``idle_timeout`` seconds (None: never)."""
        while True:
            self._auto_ack()
            if not self._buffer and not self._wait(idle_timeout):
                return
            yield self._take()

    # -- async -----------------------------------------------------------------------------

    async def _await(self, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = self.poll_interval
        while not self._buffer:
            if await self.feed.db.run(self._fetch):
                return True
            if self._closed:
                return False
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            await self.feed.aidle(self._conn, interval if left is None else min(interval, left))
            interval = min(interval * 2, self.max_poll_interval)
        return True

    async def apoll(self, timeout: float | None = 0.0) -> list[Change]:
        """Async `poll`."""
        self._auto_ack()
        await self._await(timeout)
        return self._drain()

    def __aiter__(self) -> AsyncIterator[Change]:
        return self

    async def __anext__(self) -> Change:
        self._auto_ack()
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            await self._await(0.5)
        return self._take()

    async def achanges(self, *, idle_timeout: float | None = None) -> AsyncIterator[Change]:
        """Async `changes`."""
        while True:
            self._auto_ack()
            if not self._buffer and not await self._await(idle_timeout):
                return
            yield self._take()

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Write the cursor (acknowledged changes only) and release the connection."""
        if self._closed:
            return
        self._closed = True
        try:
            if not self.feed.db._closed:
                self.commit()
        finally:
            with self._conn_lock:
                self.feed.release_connection(self._conn)

    async def aclose(self) -> None:
        await self.feed.db.run(self.close)

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()  # on the database's thread, not Closing's executor

    def __repr__(self) -> str:
        return f"Subscription({self.name!r}, position={self.position})"


class ChangeListener:
    """Calls ``callback(change)`` for each change on a background thread (made by
    `ChangeFeed.on_change`). A change is acknowledged when the callback returns; if it raises,
    the listener stops, keeps the error in `error`, and the change is delivered again to the
    next listener of that name."""

    def __init__(self, sub: Subscription, callback: Callable[[Change], Any]) -> None:
        self.subscription, self.callback = sub, callback
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"sharedmem-changes-{sub.name or 'anon'}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        sub = self.subscription
        try:
            while not self._stop.is_set():
                for change in sub.poll(timeout=0.1):
                    if self._stop.is_set():
                        return
                    self.callback(change)
                    sub.ack(change)
        except BaseException as exc:  # kept for stop() to raise: a failed callback is no success
            self.error = exc
        finally:
            sub.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop, write the cursor, and raise the callback's error if it failed."""
        self._stop.set()
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error

    def __enter__(self) -> ChangeListener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
