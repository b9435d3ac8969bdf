"""The change feed's wake-up on PostgreSQL: LISTEN/NOTIFY, with the durable seq for the rest.

Every transaction that logs a change also sends a notification on `NOTIFY_CHANNEL`
(`core.changelog_pg`); PostgreSQL delivers it at commit, never for a rollback. A subscriber
holds one connection of its own that LISTENs, and uses it only to learn *that* something
committed; *what* committed it reads by seq from the log, after its cursor, in order. So a
notification may be merged with others, or lost with a dropped connection, without a change
being lost: a `Listener` that reconnects counts as "something changed" and the subscriber
re-reads the log from its cursor, which finds every change committed while it was away.

`Listener.version` plays the part SQLite's ``PRAGMA data_version`` plays there: a number that
moves when another connection committed. `Listener.wait` blocks on the socket until a
notification arrives or the timeout ends, so an idle subscriber costs no queries at all and a
busy one is woken within the notification's round trip. `Listener.wait_async` does the same
for an event loop: it parks on the socket's readability (``loop.add_reader``), holding no
thread while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

import psycopg

from langgraph_sharedmem.core.changelog_pg import NOTIFY_CHANNEL

__all__ = ["Listener"]


class Listener:
    """One LISTENing connection to ``url`` (see the module docstring)."""

    def __init__(self, url: str, connect_timeout: float = 10.0) -> None:
        self.url = url
        self.connect_timeout = connect_timeout
        self._version = 0
        self._lock = threading.Lock()
        self._closed = False
        self.reconnects = 0
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._connect()

    def _connect(self) -> None:
        conn = psycopg.connect(
            self.url, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
        )
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self._conn = conn

    def _reconnect(self) -> None:
        """After a lost connection: listen again, and report a change (the caller re-reads
        the log from its cursor, so what committed meanwhile is found)."""
        if self._closed:  # closed from another thread while waiting: stay closed
            return
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
        self._version += 1
        self.reconnects += 1
        with contextlib.suppress(psycopg.OperationalError):  # away: the next look retries
            self._connect()

    def _drain(self, timeout: float) -> None:
        if self._closed:
            return
        if self._conn is None or self._conn.closed:
            self._reconnect()
            return
        try:
            for _ in self._conn.notifies(timeout=timeout, stop_after=1):
                self._version += 1
            if timeout > 0:  # woken: take what else is queued without waiting
                for _ in self._conn.notifies(timeout=0):
                    self._version += 1
        except psycopg.OperationalError:
            self._reconnect()

    def version(self) -> int:
        """A number that moved if anything was committed since the last call."""
        with self._lock:
            self._drain(0)
            return self._version

    def wait(self, seconds: float) -> None:
        """Block until a notification arrives or ``seconds`` pass."""
        with self._lock:
            self._drain(seconds)

    async def wait_async(self, seconds: float) -> None:
        """`wait` on the running event loop: until the socket has a notification to read or
        ``seconds`` pass, without a thread."""
        before = self._version
        conn = self._conn
        if self._closed or conn is None or conn.closed:
            await asyncio.to_thread(self.wait, 0)  # reconnecting blocks: off the loop
            return
        if self.version() != before:  # already queued
            return
        loop = asyncio.get_running_loop()
        readable = loop.create_future()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        try:
            fd = conn.fileno()
            loop.add_reader(fd, wake)
        except (psycopg.Error, NotImplementedError):  # gone meanwhile; a loop without readers
            await asyncio.to_thread(self.wait, seconds)
            return
        try:
            await asyncio.wait([readable], timeout=seconds)
        finally:
            loop.remove_reader(fd)
        self.version()  # take what arrived (or notice a lost connection)

    def close(self) -> None:
        self._closed = True
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
