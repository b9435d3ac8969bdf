"""`ChangeFeed`: subscribe to every committed change of shared memory, across processes.

    feed = mem.changes
    with feed.subscribe("support-worker", agent="support", user_id="u1") as sub:
        for change in sub:                      # blocks; commit order; only what it may read
            handle(change)                      # at-least-once: dedupe on change.seq

    listener = feed.on_change(print, name="audit")          # a callback on a thread
    change = feed.wait_for(kinds="fact", keys="acme/plan", timeout=30)   # wake on a fact

    def support_node(state, config):            # in a graph: what changed since last step
        with feed.step("support", config, user_id="u1") as changed:
            ...

Cursors live in the database (table ``change_cursors``), so a subscriber that restarts under
the same name resumes where it acknowledged; `prune` drops old rows and records a horizon,
and a cursor below it raises `CursorExpiredError` instead of skipping what was pruned.
"""

from __future__ import annotations

import asyncio
import builtins
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig

from langgraph_sharedmem.agents import AccessControl, Permissions
from langgraph_sharedmem.changes import _query
from langgraph_sharedmem.changes._query import Change, ChangeFilter
from langgraph_sharedmem.changes.subscription import (
    ChangeListener,
    Subscription,
    check_limit,
    check_seq,
)
from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.core.part import DatabasePart
from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.core.values import check_id
from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["ChangeFeed"]

Filters = dict[str, Any]


class ChangeFeed(DatabasePart):
    """The change log of one `Database`, read as a feed (see the module docstring).

    Args:
        db: The database (``mem.db``).
        access: The access rules that filter agent subscribers; without it only unfiltered
            readers (no ``agent=``) are possible.
    """

    migrations = changelog.MIGRATIONS
    copy_tables = changelog.COPY_TABLES
    pg_schemas = ("langgraph_sharedmem.core.changelog_pg",)
    db: Any  # SQLite's `Database`, or PostgreSQL seen through `pg_compat`

    def __init__(self, db: Database | Backend, access: AccessControl | None = None) -> None:
        self._open_database(db)
        self.access = access

    def _on_postgres(self, db: Any) -> Any:
        # The log's reads run as written for SQLite, translated (`changes._query_pg`); cursor
        # writes are single upserts, so no write lock. Subscribers wake on LISTEN/NOTIFY
        # (`changes._listen_pg`).
        from langgraph_sharedmem.changes import _query_pg
        from langgraph_sharedmem.core.pg_compat import SerializedDatabase

        return SerializedDatabase(db, None, frozenset(), _query_pg.OVERRIDES)

    def _set_up(self) -> None:
        if self.access is not None:
            self.access.setup()

    # -- positions -------------------------------------------------------------------------

    def head(self) -> int:
        """The newest ``seq`` ever logged (0 for an empty log)."""
        self.setup()
        with self.db.read() as conn:
            return _query.head(conn)

    def horizon(self) -> int:
        """The highest ``seq`` pruned by retention (0: nothing pruned)."""
        self.setup()
        with self.db.read() as conn:
            return _query.horizon(conn)[0]

    def cursor(self, name: str) -> int | None:
        """The stored position of subscriber ``name`` (None if it never subscribed)."""
        _check_name(name)
        self.setup()
        with self.db.read() as conn:
            row = conn.execute(_query.GET_CURSOR, (name,)).fetchone()
        return None if row is None else int(row[0])

    def set_cursor(self, name: str, seq: int) -> None:
        """Move subscriber ``name`` to ``seq`` (backwards replays, forwards skips)."""
        _check_name(name)
        check_seq("seq", seq)
        self.setup()
        with self.db.write() as conn:
            conn.execute(_query.SET_CURSOR, (name, seq, time.time()))

    def advance_cursor(self, name: str, seq: int) -> None:
        """Move subscriber ``name`` forward to ``seq`` (never backwards)."""
        _check_name(name)
        check_seq("seq", seq)
        self.setup()
        with self.db.write() as conn:
            conn.execute(_query.ADVANCE_CURSOR, (name, seq, time.time()))

    def delete_cursor(self, name: str) -> None:
        """Forget subscriber ``name``."""
        _check_name(name)
        self.setup()
        with self.db.write() as conn:
            conn.execute(_query.DELETE_CURSOR, (name,))

    # -- reading ---------------------------------------------------------------------------

    def _filter(self, **filters: Any) -> ChangeFilter:
        flt = ChangeFilter.build(**filters)
        if flt.agent is not None and self.access is None:
            raise InvalidConfigError(
                "filtering by agent needs the access rules: use mem.changes, or "
                "ChangeFeed(db, access=AccessControl(db))"
            )
        return flt

    def _permissions(self, conn: sqlite3.Connection, flt: ChangeFilter) -> Permissions | None:
        if flt.agent is None or self.access is None:
            return None
        # Resolved inside the fetch's own read transaction: a revocation committed before
        # the fetch hides everything it covers, older changes included.
        return self.access.resolve(conn, flt.agent, flt.user, flt.run, time.time())

    def _fetch(
        self, conn: sqlite3.Connection, flt: ChangeFilter, after: int, limit: int, name: str | None
    ) -> tuple[builtins.list[Change], int]:
        """`_query.fetch` with the filter's permissions resolved on the same transaction."""
        perms = self._permissions(conn, flt)
        return _query.fetch(conn, flt, perms, after=after, limit=limit, name=name)

    def fetch_on(
        self,
        conn: sqlite3.Connection,
        flt: ChangeFilter,
        *,
        after: int,
        limit: int,
        name: str | None = None,
    ) -> tuple[builtins.list[Change], int]:
        """One consistent read of visible changes after ``after`` on ``conn``."""
        if self.db.dialect == "postgres" or conn is self.db.conn:  # PostgreSQL: a pooled one
            with self.db.read() as c:
                return self._fetch(c, flt, after, limit, name)
        conn.execute("BEGIN")
        try:
            return self._fetch(conn, flt, after, limit, name)
        finally:
            conn.execute("ROLLBACK")

    def read(self, after: int = 0, *, limit: int = 1000, **filters: Any) -> builtins.list[Change]:
        """Up to ``limit`` visible changes with ``seq > after``, oldest first (one-shot).

        Filters (all optional): ``agent``, ``user_id``, ``run_id`` (see only what that agent
        may read now), ``kinds``, ``scopes``, ``keys``, ``exclude_author``.
        """
        check_seq("after", after)
        check_limit("limit", limit)
        flt = self._filter(**filters)
        self.setup()
        with self.db.read() as conn:
            rows, _ = self._fetch(conn, flt, after, limit, None)
        return rows

    # -- subscribing -----------------------------------------------------------------------

    def subscribe(
        self,
        name: str | None = None,
        *,
        start: str | int = "latest",
        auto_ack: bool = True,
        poll_interval: float = 0.001,
        max_poll_interval: float = 0.01,
        batch_size: int = 500,
        **filters: Any,
    ) -> Subscription:
        """A `Subscription` to the changes matching ``filters`` (see `read`).

        ``name`` makes its cursor durable: a later subscription of that name (in any process)
        resumes after the last change acknowledged. ``start`` applies only when the name has
        no cursor yet (or no name): ``"latest"`` (from now), ``"earliest"`` (everything
        retained) or a ``seq``.
        """
        if name is not None:
            _check_name(name)
        flt = self._filter(**filters)
        self.setup()
        return Subscription(
            self,
            name,
            flt,
            start=start,
            auto_ack=auto_ack,
            poll_interval=poll_interval,
            max_poll_interval=max_poll_interval,
            batch_size=batch_size,
        )

    def on_change(
        self, callback: Callable[[Change], Any], name: str | None = None, **options: Any
    ) -> ChangeListener:
        """Call ``callback(change)`` for each change on a background thread; ``options`` as
        for `subscribe`. Stop it with ``listener.stop()``."""
        if not callable(callback):
            raise InvalidConfigError(f"callback must be callable, got {callback!r}")
        options["auto_ack"] = False  # the listener acks after each callback returns
        return ChangeListener(self.subscribe(name, **options), callback)

    def wait_for(
        self, *, since: int | None = None, timeout: float | None = None, **filters: Any
    ) -> Change | None:
        """The first change after ``since`` (default: now) matching ``filters``, waiting up
        to ``timeout`` seconds (None: forever); None on timeout. E.g. wake on a fact:
        ``wait_for(kinds="fact", scopes=("user", "u1"), keys="acme/plan", timeout=30)``."""
        with self.subscribe(None, start="latest" if since is None else since, **filters) as sub:
            got = sub.poll(timeout)
        return got[0] if got else None

    async def await_for(
        self, *, since: int | None = None, timeout: float | None = None, **filters: Any
    ) -> Change | None:
        """Async `wait_for`: ``await mem.changes.await_for(kinds="fact", timeout=30)``."""
        start = "latest" if since is None else since
        sub = await self.db.run(self.subscribe, None, start=start, **filters)
        async with sub:
            got = await sub.apoll(timeout)
        return got[0] if got else None

    # -- graphs ----------------------------------------------------------------------------

    @contextmanager
    def step(
        self,
        agent: str,
        config: RunnableConfig,
        *,
        user_id: str | None = None,
        run_id: str | None = None,
        include_own: bool = False,
        limit: int = 1000,
        **filters: Any,
    ) -> Iterator[builtins.list[Change]]:
        """What changed, visible to ``agent``, since its last step in this thread.

        The cursor (``step:<agent>:<thread_id>``) is stored durably and moves only when the
        block exits without an exception, so a failed or retried node sees the same changes
        again. The first step of an agent in a thread sees nothing (its cursor starts at the
        head). ``run_id`` defaults to the thread id; changes the agent made itself are left
        out unless ``include_own``. More than ``limit`` pending changes: the next step gets
        the rest.
        """
        check_limit("limit", limit)
        name, flt = self._step_target(agent, config, user_id, run_id, include_own, filters)
        rows, scanned = self._pending(name, flt, limit)
        yield rows
        self.advance_cursor(name, scanned)

    def since_last_step(
        self,
        agent: str,
        config: RunnableConfig,
        *,
        user_id: str | None = None,
        run_id: str | None = None,
        include_own: bool = False,
        limit: int = 1000,
        **filters: Any,
    ) -> builtins.list[Change]:
        """`step` that moves the cursor at once (use `step` to keep a failed node's changes)."""
        check_limit("limit", limit)
        name, flt = self._step_target(agent, config, user_id, run_id, include_own, filters)
        rows, scanned = self._pending(name, flt, limit)
        self.advance_cursor(name, scanned)
        return rows

    async def asince_last_step(self, *args: Any, **kwargs: Any) -> builtins.list[Change]:
        return await self.db.run(self.since_last_step, *args, **kwargs)

    def _step_target(
        self,
        agent: str,
        config: RunnableConfig,
        user_id: str | None,
        run_id: str | None,
        include_own: bool,
        filters: Filters,
    ) -> tuple[str, ChangeFilter]:
        thread = (config or {}).get("configurable", {}).get("thread_id")
        if thread is None:
            raise InvalidConfigError(
                "step() needs config['configurable']['thread_id'] (pass the node's config)"
            )
        check_id("agent id", agent)
        run = run_id if run_id is not None else str(thread)
        flt = self._filter(
            agent=agent,
            user_id=user_id,
            run_id=run,
            exclude_author=None if include_own else agent,
            **filters,
        )
        return f"step:{agent}:{thread}", flt

    def _pending(
        self, name: str, flt: ChangeFilter, limit: int
    ) -> tuple[builtins.list[Change], int]:
        stored = self.cursor(name)  # checks the name and sets up
        if stored is None:
            # Start at the head, read and stored in one transaction (nothing to read back).
            with self.db.write() as conn:
                head = _query.head(conn)
                conn.execute(_query.SET_CURSOR, (name, head, time.time()))
            return [], head
        with self.db.read() as conn:
            return self._fetch(conn, flt, stored, limit, name)

    # -- retention -------------------------------------------------------------------------

    def prune(self, *, older_than: float | None = None, before_seq: int | None = None) -> int:
        """Delete changes logged more than ``older_than`` seconds ago (or with
        ``seq < before_seq``); returns how many rows went. Cursors left below the new horizon
        get `CursorExpiredError`. Run-scoped items keep their newest row, so
        `ChangeFeed.as_of` still reconstructs run memory from the horizon on."""
        if (older_than is None) == (before_seq is None):
            raise InvalidConfigError("pass exactly one of older_than= (seconds) or before_seq=")
        if older_than is not None and (
            isinstance(older_than, bool)
            or not isinstance(older_than, (int, float))
            or older_than < 0
        ):
            raise InvalidConfigError(f"older_than must be seconds >= 0, got {older_than!r}")
        if before_seq is not None and (
            isinstance(before_seq, bool) or not isinstance(before_seq, int) or before_seq < 1
        ):
            raise InvalidConfigError(f"before_seq must be an int >= 1, got {before_seq!r}")
        self.setup()
        with self.db.write() as conn:
            if before_seq is not None:
                cutoff = min(before_seq - 1, _query.head(conn))
            else:
                cutoff = _query.last_seq_before(conn, time.time() - float(older_than or 0))
            return _query.prune(conn, cutoff)

    # -- as of -----------------------------------------------------------------------------

    def as_of(self, when: Any) -> Any:
        """Memory as it was at a checkpoint config, a datetime, an ISO time or epoch seconds
        (see `MemoryAsOf`)."""
        from langgraph_sharedmem.changes.as_of import MemoryAsOf

        return MemoryAsOf.at(self.db, when)

    # -- the watching connection -----------------------------------------------------------

    def watch_connection(self) -> sqlite3.Connection:
        """A connection of its own for a subscriber: its ``data_version`` moves on every
        commit of any other connection, this process's `Database` included."""
        self.setup()
        if self.db.dialect == "postgres":
            from langgraph_sharedmem.changes._listen_pg import Listener

            return Listener(self.db.inner.url)  # type: ignore[return-value]
        if self.db.is_memory:
            return self.db.conn
        conn = sqlite3.connect(
            self.db.path,
            timeout=self.db.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        conn.execute("PRAGMA query_only=ON")
        return conn

    def release_connection(self, conn: sqlite3.Connection) -> None:
        if self.db.dialect == "postgres" or conn is not self.db.conn:
            conn.close()

    def data_version(self, conn: sqlite3.Connection) -> int:
        if self.db.dialect == "postgres":
            return int(conn.version())  # type: ignore[attr-defined]
        if conn is self.db.conn:  # one in-memory database: its own writes do not move it
            with self.db.read() as c:
                return _query.head(c)
        return int(conn.execute("PRAGMA data_version").fetchone()[0])

    def idle(self, conn: sqlite3.Connection, seconds: float) -> None:
        """Wait ``seconds`` between looks; on PostgreSQL a notification ends it early."""
        if self.db.dialect == "postgres":
            conn.wait(seconds)  # type: ignore[attr-defined]
        else:
            time.sleep(seconds)

    async def aidle(self, conn: sqlite3.Connection, seconds: float) -> None:
        """Async `idle`: on PostgreSQL a notification ends it early, as in `idle`."""
        if self.db.dialect == "postgres":
            await conn.wait_async(seconds)  # type: ignore[attr-defined]
        else:
            await asyncio.sleep(seconds)

    def __repr__(self) -> str:
        return f"ChangeFeed({self.db.path!r})"


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name or len(name) > 512:
        raise InvalidConfigError(
            f"a subscriber name must be a non-empty string of at most 512 characters, got {name!r}"
        )
    return name
