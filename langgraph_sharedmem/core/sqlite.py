"""The SQLite backend: one SQLite file, its pragmas, transactions, migrations and async runner.

Every SQL statement of the package runs through a `Database`. It owns one connection, used by
one thread at a time under a lock, so the sync API is thread-safe; async callers are served by
one dedicated worker thread (the aiosqlite pattern), so the event loop never blocks on SQLite
and the sync and async APIs share a single implementation.

Several processes on one file are normal use. Three things make that work:

* WAL journal, so readers never wait for a writer and a writer never waits for readers;
* every write transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock up front and
  waits for it through SQLite's busy handler. A deferred transaction that upgrades from read to
  write can fail with "database is locked" at once, without waiting, which is what users of
  LangGraph's SQLite classes see;
* switching to WAL and applying migrations on a brand-new file are retried and done under the
  write lock, re-checking inside the transaction, so N processes opening one fresh file create
  the schema exactly once.

Copying the WAL back into the database file (a checkpoint) is done by a background thread on
its own connection (`_WalCheckpoints`), not by whichever commit crosses SQLite's 1000-page
mark: that copy and its fsyncs were about a fifth of a batch put's time. A committing writer
still checkpoints itself past `WAL_BACKSTOP_PAGES`, so the WAL stays bounded if the thread
falls behind.
"""

from __future__ import annotations

import logging
import os
import shlex
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

import sqlite_utils
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.backend import refuse_postgres, refuse_unknown_scheme
from langgraph_sharedmem.core.closing import Closing
from langgraph_sharedmem.core.values import raise_if_unstorable
from langgraph_sharedmem.core.workers import WorkerThreads
from langgraph_sharedmem.errors import (
    DatabaseBusyError,
    DatabaseFileError,
    SchemaVersionError,
)

__all__ = ["Database", "Synchronous", "parse_conn_string"]

T = TypeVar("T")

Synchronous = Literal["OFF", "NORMAL", "FULL", "EXTRA"]

_MIGRATIONS_TABLE = Migrations.migrations_table
_OURS = "langgraph_sharedmem."  # the prefix of every migration set of this package

logger = logging.getLogger("langgraph_sharedmem.db")

# WAL pages (4 KiB each) at which a committing writer checkpoints itself: the bound (~16 MB)
# for when background checkpoints fall behind; SQLite's default is 1000.
WAL_BACKSTOP_PAGES = 4000
# WAL frames past which the background thread, once everything is copied, asks the next
# writer to start the WAL over (a RESTART checkpoint), as SQLite's own 1000-page one does.
RESTART_AT = 1000
# Seconds a RESTART waits for readers and the writer (writers queue meanwhile), else retried.
RESTART_WAIT = 0.02
# Seconds the background thread lets commits accumulate before it checkpoints them.
CHECKPOINT_EVERY = 0.05


def _is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text


def _open_error(path: str, exc: sqlite3.Error) -> DatabaseFileError:
    text = str(exc).lower()
    if "file is not a database" in text:
        reason = "the file exists but is not a SQLite database; refusing to overwrite it"
    elif "malformed" in text or "corrupt" in text:
        reason = "the database file is corrupt (SQLite: database disk image is malformed)"
    elif "unable to open" in text or "readonly" in text or "read-only" in text:
        parent = Path(path).parent
        if Path(path).is_dir():
            reason = "it is a directory, not a file"
        elif not parent.exists():
            reason = f"its directory {str(parent)!r} does not exist"
        elif Path(path).exists() and not os.access(path, os.W_OK):
            reason = "the file is not writable"
        elif not os.access(parent, os.W_OK):
            reason = f"the directory {str(parent)!r} is not writable"
        else:
            reason = f"SQLite could not open it ({exc})"
    else:
        reason = f"SQLite said: {exc}"
    return DatabaseFileError(f"cannot open database {path!r}: {reason}")


def parse_conn_string(conn_string: str | os.PathLike[str]) -> str:
    """Turn a path, ``sqlite:///path`` URL or ``:memory:`` into a path SQLite understands."""
    refuse_postgres(conn_string)  # a URL that reached SQLite: its part is not ported (core.part)
    refuse_unknown_scheme(conn_string)  # "mysql://...": not a file named "mysql:"
    text = os.fspath(conn_string)
    for prefix in ("sqlite:///", "sqlite://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    if not text:
        raise DatabaseFileError("cannot open database '': the path is empty")
    if text.startswith("file:"):
        # SQLite (built with SQLITE_USE_URI, as Python's usually is) parses a name starting
        # with "file:" as a URI even without uri=True: "file:a.db?mode=ro" would open "a.db".
        # "./" keeps it the file of that exact name, for every connection made from it.
        text = os.path.join(".", text)
    return text


class Database(WorkerThreads, Closing):
    """One SQLite database file shared by the checkpointer, the store and the memory layers.

    Args:
        path: File path, ``sqlite:///`` URL, or ``":memory:"`` (one process only).
        busy_timeout: Seconds a write waits for another process's write lock before
            `DatabaseBusyError` is raised.
        synchronous: SQLite ``synchronous`` pragma. ``"NORMAL"`` (the default) loses nothing
            when a process crashes; ``"FULL"`` also survives power loss at the cost of an
            fsync per commit.
        read_only: Open without the right to write; a missing file is an error instead of
            being created.
    """

    dialect: ClassVar[Literal["sqlite"]] = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "NORMAL",
        read_only: bool = False,
    ) -> None:
        if busy_timeout < 0:
            raise ValueError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(
                f"synchronous must be one of OFF, NORMAL, FULL, EXTRA; got {synchronous!r}"
            )
        self.path = parse_conn_string(path)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self.is_memory = self.path == ":memory:"
        self._lock = threading.RLock()
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False
        self.conn = self._connect()
        try:
            self._configure(synchronous)
        except BaseException:
            self.conn.close()
            raise
        self._checkpoints: _WalCheckpoints | None = None
        if not read_only and not self.is_memory:
            self._checkpoints = _WalCheckpoints(self.path, synchronous)
            self.conn.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")

    # -- opening -------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if not self.read_only and not self.is_memory:
            self._check_writable()
        if self.read_only:
            if not self.is_memory and not Path(self.path).exists():
                raise DatabaseFileError(
                    f"cannot open database {self.path!r}: no such file (opened read-only, "
                    "so it was not created)"
                )
            # as_uri() percent-encodes the path: a raw "#", "?" or "%" in a file name would
            # otherwise end the path in SQLite's URI parser, so "a#b.db" opened (and created)
            # "a" and "a.db?mode=rwc&x=" opened the file read-write.
            target, uri = f"{Path(self.path).absolute().as_uri()}?mode=ro", True
        else:
            target, uri = self.path, False
        try:
            return sqlite3.connect(
                target,
                timeout=self.busy_timeout,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
                uri=uri,
            )
        except sqlite3.Error as exc:
            raise _open_error(self.path, exc) from exc

    def _check_writable(self) -> None:
        """Refuse a file this process cannot write, now rather than at the first write.

        SQLite opens such a file read-only without a word, and the first write then fails
        with a raw "attempt to write a readonly database". Opening it for writing ourselves
        is the same test SQLite makes (root ignores permission bits, but not a read-only
        mount or an immutable file).
        """
        if not os.path.isfile(self.path):
            return  # missing (it is created) or not a file (SQLite's error says which)
        try:
            fd = os.open(self.path, os.O_RDWR)
        except OSError as exc:
            raise DatabaseFileError(
                f"cannot open database {self.path!r} for writing: {exc.strerror}. To read "
                "it, open it read-only (Database(path, read_only=True), or the `sharedmem` "
                "inspector); to write it, make the file (and its directory) writable"
            ) from exc
        os.close(fd)

    def _configure(self, synchronous: Synchronous) -> None:
        try:
            # Touch the header first: a non-database file fails here, before any write.
            self.conn.execute("PRAGMA schema_version").fetchone()
            if not self.read_only and not self.is_memory:
                self._retry_busy(lambda: self.conn.execute("PRAGMA journal_mode=WAL").fetchone())
            self.conn.execute(f"PRAGMA synchronous={synchronous}")
            self.conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            if _is_busy(exc):
                raise DatabaseBusyError(
                    f"database {self.path!r} stayed locked for {self.busy_timeout}s while opening"
                ) from exc
            raise _open_error(self.path, exc) from exc

    def _retry_busy(self, fn: Callable[[], T]) -> T:
        """Call ``fn`` until it stops failing with SQLITE_BUSY or the busy timeout passes.

        Needed for the few operations SQLite does not route through its busy handler, such
        as switching the journal mode while another process opens the same fresh file.
        """
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.001
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.05)

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """Hold the connection for a group of reads that must see one consistent snapshot."""
        with self._lock:
            self._check_open()
            if self.conn.in_transaction:
                yield self.conn
                return
            self._translate(lambda: self.conn.execute("BEGIN DEFERRED"))
            try:
                yield self.conn
            except sqlite3.DatabaseError as exc:
                with suppress(sqlite3.Error):  # the original error says more
                    self._end_read()
                self._raise_translated(exc)
            except BaseException as exc:
                self._end_read()
                raise_if_unstorable(exc)
                raise
            self._end_read()

    def _end_read(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")  # nothing was written; ending the snapshot is enough

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run the block in one write transaction; nested blocks become savepoints.

        On success everything is committed together; on any exception nothing is.
        """
        with self._lock:
            self._check_open()
            if self.read_only:
                raise DatabaseFileError(f"database {self.path!r} was opened read-only")
            if self.conn.in_transaction:
                self.conn.execute("SAVEPOINT nested")
                try:
                    yield self.conn
                except BaseException:
                    self.conn.execute("ROLLBACK TO SAVEPOINT nested")
                    self.conn.execute("RELEASE SAVEPOINT nested")
                    raise
                self.conn.execute("RELEASE SAVEPOINT nested")
                return
            self._translate(lambda: self._retry_busy(lambda: self.conn.execute("BEGIN IMMEDIATE")))
            try:
                yield self.conn
            except BaseException as exc:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    self._raise_translated(exc)
                raise_if_unstorable(exc)
                raise
            try:
                self._translate(lambda: self._retry_busy(lambda: self.conn.execute("COMMIT")))
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            if self._checkpoints is not None:
                self._checkpoints.notify()

    def _translate(self, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise DatabaseBusyError(
                    f"database {self.path!r}: another connection held the write lock for "
                    f"more than busy_timeout={self.busy_timeout}s"
                ) from exc
            raise

    def _raise_translated(self, exc: sqlite3.DatabaseError) -> None:
        """Name corruption and lock time-outs plainly; other SQLite errors propagate as they are."""
        text = str(exc).lower()
        if "malformed" in text or "not a database" in text:
            raise _open_error(self.path, exc) from exc
        if _is_busy(exc):
            raise DatabaseBusyError(f"database {self.path!r} is locked: {exc}") from exc
        raise exc

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseFileError(f"database {self.path!r} is closed")

    # -- migrations ------------------------------------------------------------------------

    def migrate(self, migrations: Migrations) -> None:
        """Apply the pending steps of ``migrations``, once, even with several processes.

        Raises `SchemaVersionError` when the file records steps of this set that this version
        of the package does not know: it was written by a newer version.
        """
        known = [m.name for m in migrations._migrations]
        applied = self._applied(migrations.name)
        self._check_known(migrations.name, applied, known)
        if applied == set(known):
            return
        if self.read_only:
            raise SchemaVersionError(
                f"database {self.path!r} lacks schema steps {sorted(set(known) - applied)} of "
                f"{migrations.name!r}; open it writable once to upgrade it"
            )
        with self.write() as conn:
            # Re-read under the write lock: another process may have migrated meanwhile.
            applied = self._applied(migrations.name)
            self._check_known(migrations.name, applied, known)
            migrations.apply(
                _TransactionalDatabase(conn, recursive_triggers=False, execute_plugins=False)
            )

    @classmethod
    def open_checked(cls, path: Any, migrations: Iterable[Migrations], **options: Any) -> Database:
        """Open ``path`` for parts using ``migrations`` (see `check_file`); closed again if
        the file is refused. ``options`` as for `Database`."""
        db = cls(path, **options)
        try:
            db.check_file(migrations)
        except BaseException:
            db.close()
            raise
        return db

    def check_file(self, migrations: Iterable[Migrations]) -> None:
        """Refuse, at open, a file the parts using ``migrations`` must not work on.

        Raises `DatabaseFileError` for another application's SQLite file (tables, but no
        langgraph-sharedmem schema recorded): our tables would be added beside its own, or
        clash with them (LangGraph's ``SqliteSaver`` has a ``checkpoints`` table too). Raises
        `SchemaVersionError` when the file records steps of ``migrations`` this version does
        not know. A new or empty file passes; its tables are created on first use.
        """
        if self.is_memory:
            return
        with self.read() as conn:
            tables = {
                name
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
                )
            }
            applied: dict[str, set[str]] = {}
            if _MIGRATIONS_TABLE in tables:
                for migration_set, name in conn.execute(
                    f"SELECT migration_set, name FROM {_MIGRATIONS_TABLE}"
                ):
                    applied.setdefault(migration_set, set()).add(name)
            columns = {
                table: {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for table in ("checkpoints", "store")
                if table in tables
            }
        if tables and not any(name.startswith(_OURS) for name in applied):
            raise DatabaseFileError(_foreign_file(self.path, tables, columns))
        for m in migrations:
            self._check_known(m.name, applied.get(m.name, set()), [x.name for x in m._migrations])

    def _applied(self, migration_set: str) -> set[str]:
        with self.read() as conn:
            exists = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (_MIGRATIONS_TABLE,)
            ).fetchone()
            if not exists:
                return set()
            rows = conn.execute(
                f"SELECT name FROM {_MIGRATIONS_TABLE} WHERE migration_set=?", (migration_set,)
            ).fetchall()
        return {name for (name,) in rows}

    def _check_known(self, migration_set: str, applied: set[str], known: list[str]) -> None:
        unknown = applied - set(known)
        if unknown:
            raise SchemaVersionError(
                f"database {self.path!r} was written by a newer langgraph-sharedmem: it has "
                f"schema steps {sorted(unknown)} of {migration_set!r} that this version does "
                "not know. Upgrade langgraph-sharedmem to open it."
            )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection and stop the worker thread. Safe to call twice."""
        if not self._close_workers():
            return
        if self._checkpoints is not None:
            self._checkpoints.stop()  # first: the last connection to close checkpoints the rest
        with self._lock:
            self.conn.close()

    def __repr__(self) -> str:
        return f"Database({self.path!r}{', read_only=True' if self.read_only else ''})"


def _foreign_file(path: str, tables: set[str], columns: dict[str, set[str]]) -> str:
    """What another application's SQLite file is, and what to do with it."""
    if {"checkpoints", "writes"} <= tables and "checkpoint" in columns.get("checkpoints", ()):
        return (
            f"cannot open {path!r}: it is a LangGraph SqliteSaver database (tables "
            "'checkpoints' and 'writes'), not a langgraph-sharedmem one, and nothing was "
            f"added to it. Copy its threads into a new file with `sharedmem "
            f"import-sqlite-saver {shlex.quote(path)} NEW.db` (docs/migrating.md), or keep "
            "opening it with SqliteSaver"
        )
    if "store_migrations" in tables or "prefix" in columns.get("store", ()):
        return (
            f"cannot open {path!r}: it is a LangGraph SqliteStore database, not a "
            "langgraph-sharedmem one, and nothing was added to it. Open a new file and copy "
            "the items over (docs/migrating.md)"
        )
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    return (
        f"cannot open {path!r}: it is a SQLite file of another application (tables {shown}), "
        "not a langgraph-sharedmem database, and nothing was added to it. Use a new file"
    )


class _WalCheckpoints:
    """Checkpoints one database's WAL on a daemon thread with its own connection, a moment
    after commits (started by the first; again in a forked child, where threads are gone).

    PASSIVE checkpoints never block readers or writers: they copy what no reader still needs
    and leave the rest for the next round. Only once all is copied does a RESTART checkpoint
    make the next writer start the WAL over; it waits `RESTART_WAIT` at most. Without it the
    WAL of a busy writer grew to 30 MB (a writer only starts over when it begins after a
    complete checkpoint). Errors are logged and retried next round; the writer's own
    autocheckpoint at `WAL_BACKSTOP_PAGES` stays as the fallback.
    """

    def __init__(self, path: str, synchronous: Synchronous) -> None:
        self.path = os.path.abspath(path)  # the thread connects later, maybe after a chdir
        self.synchronous = synchronous
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._start_lock = threading.Lock()

    def notify(self) -> None:
        """A commit happened: checkpoint it soon."""
        if self._pid != os.getpid():
            self._start()
        self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._pid == os.getpid() or self._stop.is_set():
                return
            self._wake, self._pid = threading.Event(), os.getpid()
            self._thread = threading.Thread(
                target=self._run, name="langgraph-sharedmem-wal", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        try:
            conn = sqlite3.connect(self.path, timeout=RESTART_WAIT, isolation_level=None)
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
        except sqlite3.Error as exc:
            logger.warning("background checkpoints of %r are off: %s", self.path, exc)
            return
        try:
            while not self._stop.is_set():
                self._wake.wait()
                self._stop.wait(CHECKPOINT_EVERY)  # let a burst of commits accumulate
                self._wake.clear()
                try:
                    _, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if log >= RESTART_AT and done == log:
                        conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                except sqlite3.Error as exc:  # busy, disk full: the next round retries
                    logger.debug("background checkpoint of %r failed: %s", self.path, exc)
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop the thread and close its connection (waits for a checkpoint in progress)."""
        with self._start_lock:
            self._stop.set()
            self._wake.set()
            thread = self._thread if self._pid == os.getpid() else None
        if thread is not None:
            thread.join()


class _TransactionalDatabase(sqlite_utils.Database):
    """sqlite-utils' database for migration steps, with ``executescript`` kept inside the
    migration's transaction: sqlite3's own commits any open transaction first, which would
    drop the write lock halfway through a step and let another process run it too."""

    def executescript(self, sql: str) -> sqlite3.Cursor:  # type: ignore[override]
        cursor = self.conn.cursor()
        statement = ""
        for piece in sql.split(";"):
            statement += piece + ";"
            if sqlite3.complete_statement(statement):
                if statement.strip(" \t\n;"):
                    cursor.execute(statement)
                statement = ""
        if statement.strip(" \t\n;"):
            cursor.execute(statement)
        return cursor
