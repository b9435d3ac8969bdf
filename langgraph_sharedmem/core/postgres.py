"""The PostgreSQL backend: psycopg 3 with a connection pool, transactions, migrations.

Same contract as the SQLite `Database` (see `core.backend.Backend`):

* ``write()`` is one transaction (READ COMMITTED) on a pooled connection, committed at the end
  of the block and rolled back on any error; a nested ``write()`` is a savepoint. Blocks run
  in psycopg's pipeline mode: a statement whose result the block does not read is sent
  without waiting for it, so its error (if any) is raised at the next read or at the end of
  the block -- and nothing is committed. ``rowcount`` is unknown until a result is read: use
  ``RETURNING``. Writers whose
  logic reads, then writes (a list segment's base, a CAS), serialize on an advisory
  transaction lock of their own key (see `advisory_key`), released at commit: unlike SQLite's
  one write lock, writers of different threads or facts run in parallel.
* ``read()`` is a read-only REPEATABLE READ transaction: every statement in the block sees the
  same snapshot. A ``read()`` inside a ``write()`` of the same thread reuses its connection.
* ``run()`` serves async callers on a thread pool as large as the connection pool.
* A forked child opens a pool of its own on first use; the parent's pool, whose sockets it
  inherited, is left alone (closing it there would end the parent's sessions).
* Migrations: a part's `PostgresMigrations` is an append-only list of steps (name, SQL
  statements), each recorded in ``langgraph_sharedmem_migrations``. Pending steps are applied
  in one transaction holding the advisory lock `MIGRATION_LOCK`, re-checked under it, so N
  processes opening a fresh database create the schema exactly once.

Errors are translated at the boundary: a server that cannot be reached or refuses the login
raises `DatabaseFileError` naming the URL without its password; a lock or a pooled connection
not obtained within ``busy_timeout`` raises `DatabaseBusyError`; a value PostgreSQL cannot
hold (a NUL character in text) raises `InvalidConfigError`.

`run_prepared` is the lean path of the few statements a hot loop runs (the checkpointer's put,
put_writes and one-statement read): a named prepared statement run through psycopg's libpq
layer, with parameters the caller encodes and results it decodes. Everything else uses
psycopg's high-level API.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from langgraph_sharedmem.core.backend import is_postgres_conninfo, refuse_postgres
from langgraph_sharedmem.core.closing import Closing
from langgraph_sharedmem.core.values import raise_if_unstorable
from langgraph_sharedmem.core.workers import WorkerThreads
from langgraph_sharedmem.errors import (
    DatabaseBusyError,
    DatabaseFileError,
    InvalidConfigError,
    SchemaVersionError,
)

try:
    import psycopg
    import psycopg.errors
    from psycopg import pq
    from psycopg_pool import ConnectionPool, PoolTimeout
except ImportError as exc:  # pragma: no cover - depends on the install
    raise InvalidConfigError(
        "PostgreSQL needs psycopg 3 and psycopg-pool: pip install 'langgraph-sharedmem[postgres]'"
    ) from exc

__all__ = [
    "MIGRATION_LOCK",
    "PostgresDatabase",
    "PostgresMigrations",
    "Prepared",
    "Unpipelined",
    "advisory_key",
    "redact",
]

T = TypeVar("T")

MIGRATIONS_TABLE = "langgraph_sharedmem_migrations"
# pg_advisory_xact_lock key held while migrating ("SHMEM" + 1); documented so operators can
# see it in pg_locks.
MIGRATION_LOCK = 0x53484D454D0001


def advisory_key(*parts: str) -> int:
    """A stable signed 64-bit advisory-lock key for ``parts`` (e.g. a part and a thread id).

    Collisions only make two unrelated writers wait for each other, never wrong results.
    """
    digest = hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@dataclass(frozen=True)
class PostgresMigrations:
    """One part's PostgreSQL schema: an append-only list of named steps (index = order).

    A released step is never edited; a dead one becomes an empty tuple with a comment.
    ``tables`` are the tables the set creates: finding one of them in a database that has
    no record of the set means another application owns it, and opening is refused.
    """

    name: str
    steps: Sequence[tuple[str, Sequence[str]]]
    tables: Sequence[str] = ()


@dataclass(frozen=True)
class Prepared:
    """A statement for `PostgresDatabase.run_prepared`, prepared once per pooled connection.

    ``sql`` uses ``$1``-style placeholders with an explicit cast on each (the parameters
    travel in binary, so the server must know their types exactly). ``binary`` asks for the
    result columns in binary (text as UTF-8 bytes, ``bytea`` as is); text form otherwise.
    ``idempotent``: running it a second time after a first run whose outcome is unknown
    (the connection was lost before the result came) stores nothing wrong, so a lost
    connection is retried on another one (up to pool size + 1 tries, enough for a new one).
    """

    name: str
    sql: str
    binary: bool = False
    idempotent: bool = False

    @property
    def name_bytes(self) -> bytes:
        return self.name.encode()


# A password's value in a libpq connection string: quoted (backslash escapes; unterminated
# up to the end) or up to the next blank.
_CONNINFO_SECRET = re.compile(
    r"(?<![A-Za-z0-9_])((?:ssl)?password)\s*=\s*(?:'(?:[^'\\]|\\.)*'?|(?:[^\s'\\]|\\.)*)"
)


def redact(url: str) -> str:
    """``url`` (a URL or a libpq connection string) with its password (in the authority or the
    query; ``password=`` of a connection string) replaced by ``***``."""
    if is_postgres_conninfo(url):
        return _CONNINFO_SECRET.sub(lambda m: f"{m.group(1)}=***", url.strip())
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable database URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{host}"
    query = urlencode(
        [
            (k, "***" if k.lower() in ("password", "sslpassword") else v)
            for k, v in parse_qsl(parts.query)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class PostgresDatabase(WorkerThreads, Closing):
    """A PostgreSQL database shared by the parts of the memory, through a connection pool.

    Args:
        url: ``postgresql://user[:password]@host[:port]/dbname[?options]``, or a libpq
            connection string (``"host=... dbname=... user=..."``).
        pool_size: Most connections held open (and threads serving async calls).
        busy_timeout: Seconds a statement waits for a lock (``lock_timeout``) or a caller
            for a free pooled connection before `DatabaseBusyError`.
        connect_timeout: Seconds to wait for the server at open.
        synchronous: ``"OFF"`` commits without waiting for the WAL flush
            (``synchronous_commit=off``: a server crash may lose the last commits, never
            corrupt); any other value keeps the server's durable default.
        read_only: Every transaction is read-only (``default_transaction_read_only``): the
            server refuses any write, as a read-only SQLite open does.
    """

    dialect: ClassVar[Literal["postgres"]] = "postgres"
    read_only = False
    is_memory = False

    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 8,
        busy_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        synchronous: str = "NORMAL",
        read_only: bool = False,
    ) -> None:
        if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
            raise InvalidConfigError(f"pool_size must be an int >= 1, got {pool_size!r}")
        if busy_timeout < 0:
            raise InvalidConfigError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
        self.url = url
        self.path = redact(url)  # what messages and repr show, as SQLite's path
        self.busy_timeout = busy_timeout
        self._settings = {"lock_timeout": f"{int(busy_timeout * 1000)}ms"}
        if str(synchronous).upper() == "OFF":
            self._settings["synchronous_commit"] = "off"
        self.read_only = read_only
        if read_only:
            self._settings["default_transaction_read_only"] = "on"
        self._local = threading.local()
        self._lock = threading.Lock()
        # The `Prepared` names prepared on each pooled connection (a new connection has none).
        self._prepared: weakref.WeakKeyDictionary[psycopg.Connection[Any], set[str]] = (
            weakref.WeakKeyDictionary()
        )
        self._executor: ThreadPoolExecutor | None = None
        self._pool_size = pool_size
        self._closed = False
        self._connect_timeout = connect_timeout
        self._probe(connect_timeout)
        self.pool = self._open_pool()
        self._pid = os.getpid()
        # Pools a forked child inherited: kept referenced, never closed or collected there,
        # since closing a connection would end the parent's session on that socket.
        self._inherited: list[ConnectionPool[Any]] = []

    def _open_pool(self) -> ConnectionPool[Any]:
        pool: ConnectionPool[Any] = ConnectionPool(
            self.url,
            min_size=1,
            max_size=self._pool_size,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(self._connect_timeout))},
            configure=self._configure,
            timeout=self.busy_timeout,
            open=False,
            name=f"langgraph-sharedmem {self.path}",
        )
        try:
            pool.open(wait=True, timeout=self._connect_timeout)
        except PoolTimeout as exc:  # reachable a moment ago (the probe), but not now
            pool.close()
            raise DatabaseFileError(
                f"cannot open a connection pool to PostgreSQL at {self.path} within "
                f"{self._connect_timeout}s"
            ) from exc
        return pool

    def _after_fork(self) -> None:
        """In a forked child: a pool of its own (the parent's threads are gone and its
        sockets belong to the parent)."""
        with self._lock:
            if self._pid == os.getpid():
                return
            self._inherited.append(self.pool)
            self._executor = None  # its threads did not survive the fork
            self._local = threading.local()
            self.pool = self._open_pool()
            self._pid = os.getpid()

    def _probe(self, connect_timeout: float) -> None:
        """Connect once, so a wrong host, database or password says so, naming the URL."""
        try:
            conn = psycopg.connect(self.url, connect_timeout=max(1, int(connect_timeout)))
        except psycopg.ProgrammingError as exc:  # libpq could not parse the connection string
            # Its message quotes the words it choked on, which may be a password: not shown.
            reason = re.sub(r'"[^"]*"', '"..."', str(exc).strip().splitlines()[0])
            hint = (
                "; a file whose name starts with a libpq keyword and '=' is written "
                "'./name' or 'sqlite:///name'"
                if is_postgres_conninfo(self.url)
                else ""
            )
            raise InvalidConfigError(
                f"not a usable PostgreSQL connection string {self.path}: {reason}{hint}"
            ) from None
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise DatabaseFileError(
                f"cannot connect to PostgreSQL at {self.path}: {reason}"
            ) from None
        except Exception as exc:  # a malformed URL: psycopg raises ProgrammingError/ValueError
            raise InvalidConfigError(
                f"not a usable PostgreSQL URL {self.path}: {type(exc).__name__}"
            ) from None
        conn.close()

    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        for name, value in self._settings.items():
            conn.execute(f"SET {name} = '{value}'")

    @classmethod
    def open_checked(
        cls, url: str, migrations: Iterable[PostgresMigrations], **options: Any
    ) -> PostgresDatabase:
        """Open ``url`` for parts using ``migrations``; closed again if it is refused."""
        db = cls(url, **options)
        try:
            db.check(migrations)
        except BaseException:
            db.close()
            raise
        return db

    # -- transactions ----------------------------------------------------------------------

    @contextmanager
    def read(self, *, pipeline: bool = True) -> Iterator[psycopg.Connection[Any]]:
        """Hold a connection in one read-only snapshot for a group of reads (``pipeline``:
        see `_transaction`)."""
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        with self._transaction(begin, True, pipeline) as conn:
            yield conn

    @contextmanager
    def write(self, *, pipeline: bool = True) -> Iterator[psycopg.Connection[Any]]:
        """Run the block in one transaction; nested blocks become savepoints (``pipeline``:
        see `_transaction`)."""
        current = getattr(self._local, "conn", None)
        if current is not None:
            if getattr(self._local, "read_only", False):
                raise RuntimeError("write() inside read(): open the write transaction first")
            with current.transaction():  # psycopg makes it a savepoint
                yield current
            return
        if self.read_only:
            raise DatabaseFileError(f"database {self.path} was opened read-only")
        with self._transaction("BEGIN", False, pipeline) as conn:
            yield conn

    def statement(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement as its own transaction and return its rows: one round trip, no
        ``BEGIN``/``COMMIT`` of its own (the pooled connections are in autocommit). Inside a
        ``write()`` block it runs in that block's transaction instead."""
        current = getattr(self._local, "conn", None)
        if current is not None:
            if getattr(self._local, "read_only", False):
                raise RuntimeError("a write statement inside read(): open a write() instead")
            cursor = current.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        with self._connection() as conn:
            try:
                cursor = conn.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
            except BaseException as exc:
                self._raise_translated(exc)
                raise  # unreachable: _raise_translated always raises

    def run_prepared(
        self, statement: Prepared, params: Sequence[bytes | None]
    ) -> pq.abc.PGresult | None:
        """Run ``statement`` as its own transaction on a pooled connection through libpq,
        with ``params`` already encoded in PostgreSQL's binary form (None is NULL); return
        its result (status ``TUPLES_OK``) for the caller to decode.

        About a third of the client CPU of `statement` (no adaptation, no cursor, no
        parsing of the SQL on either side), for the statements a graph step runs. Errors are
        translated as `statement`'s. Returns None, having run nothing, where this path does
        not apply -- a transaction of this thread is open (run it there with `statement`),
        or the connection's client encoding is not UTF-8 -- so the caller runs its
        high-level form instead.
        """
        if getattr(self._local, "conn", None) is not None:
            return None
        # A lost connection is discarded at putconn, so of pool_size + 1 tries one gets a new
        # connection even when the server ended every session and no goodbye has arrived yet.
        tries = self._pool_size + 1
        for attempt in range(1, tries + 1):
            # The pool's own getconn/putconn, not its context manager: that one also ends
            # a transaction this path never opens (a tenth of the call's CPU).
            conn = self._checkout()
            try:
                pgconn = conn.pgconn
                if pgconn.parameter_status(b"client_encoding") != b"UTF8":
                    return None
                result = self._exec_prepared(conn, statement, params)
                if result.status == pq.ExecStatus.TUPLES_OK:
                    return result
                lost = pgconn.status != pq.ConnStatus.OK
                if not (lost and statement.idempotent and attempt < tries):
                    if lost and not result.error_field(pq.DiagnosticField.SQLSTATE):
                        raise psycopg.OperationalError(
                            pgconn.get_error_message() or "the connection was lost"
                        )
                    raise psycopg.errors.error_from_result(result)
            except BaseException as exc:
                self._raise_translated(exc)
            finally:
                self.pool.putconn(conn)  # a lost one is discarded and replaced there
            # The retry's checkout passes over idle connections whose goodbye has arrived.
        raise AssertionError("unreachable")  # pragma: no cover

    def _exec_prepared(
        self, conn: psycopg.Connection[Any], statement: Prepared, params: Sequence[bytes | None]
    ) -> pq.abc.PGresult:
        pgconn = conn.pgconn
        name = statement.name_bytes
        prepared = self._prepared.get(conn)
        if prepared is None:
            prepared = self._prepared[conn] = set()
        fmt = 1 if statement.binary else 0
        # None is SQL NULL here as in psycopg's own calls (its annotation says otherwise).
        values: Any = params
        if statement.name in prepared:
            result = pgconn.exec_prepared(name, values, [1] * len(params), fmt)
            if result.error_field(pq.DiagnosticField.SQLSTATE) != b"26000":
                return result
            prepared.discard(statement.name)  # deallocated behind our back: prepare again
        made = pgconn.prepare(name, statement.sql.encode())
        if made.status != pq.ExecStatus.COMMAND_OK:
            return made
        prepared.add(statement.name)
        return pgconn.exec_prepared(name, values, [1] * len(params), fmt)

    def unpipelined(self) -> Unpipelined:
        """This database with transactions outside pipeline mode (see `Unpipelined`)."""
        return Unpipelined(self)

    @contextmanager
    def _transaction(
        self, begin: str, read_only: bool, pipeline: bool = True
    ) -> Iterator[psycopg.Connection[Any]]:
        """One transaction, in pipeline mode unless told otherwise: statements whose results
        the block does not read are sent without waiting, so BEGIN, inserts and COMMIT cost
        no round trip of their own (a checkpoint write took 10 round trips and 1/3 of
        PostgresSaver's throughput with 8 writer processes before). Outside it every
        statement waits for its result (``rowcount`` known, a lock held before the next line
        of Python runs)."""
        with self._connection() as conn:
            self._local.conn, self._local.read_only = conn, read_only
            try:
                with conn.pipeline() if pipeline else nullcontext():
                    conn.execute(begin)
                    yield conn
                    conn.execute("COMMIT")
            except BaseException as exc:
                with suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                self._raise_translated(exc)
            finally:
                self._local.conn = None

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        conn = self._checkout()  # which checks the database is open and this process's pool
        try:
            with conn:  # as the pool's own context manager: ends a transaction left open
                yield conn
        finally:
            self.pool.putconn(conn)

    def _checkout(self) -> psycopg.Connection[Any]:
        """A live pooled connection, to give back with ``pool.putconn``.

        One whose session the server ended while it sat idle (a restart, a failover,
        ``pg_terminate_backend``) has the server's goodbye waiting on its socket: it is handed
        back to the pool, which replaces it, instead of failing the caller's statement. A
        zero-timeout poll costs a few microseconds; psycopg_pool's own check costs a round
        trip per checkout.
        """
        self._check_open()
        if self._pid != os.getpid():
            self._after_fork()
        for attempt in range(self._pool_size + 1):
            try:
                conn = self.pool.getconn()
            except PoolTimeout as exc:
                raise self._no_connection() from exc
            if attempt == self._pool_size or _alive(conn):
                return conn  # the last one even if dead: the caller's statement says why
            conn.close()
            self.pool.putconn(conn)  # closed: the pool discards it and opens another
        raise AssertionError("unreachable")  # pragma: no cover

    def _no_connection(self) -> DatabaseBusyError:
        return DatabaseBusyError(
            f"database {self.path}: no pooled connection came free within "
            f"busy_timeout={self.busy_timeout}s (pool_size={self._pool_size})"
        )

    def _raise_translated(self, exc: BaseException) -> None:
        raise_if_unstorable(exc)
        if isinstance(exc, psycopg.errors.LockNotAvailable | psycopg.errors.QueryCanceled):
            raise DatabaseBusyError(
                f"database {self.path}: a lock stayed taken for more than "
                f"busy_timeout={self.busy_timeout}s ({exc})"
            ) from exc
        if isinstance(exc, psycopg.errors.SerializationFailure | psycopg.errors.DeadlockDetected):
            raise DatabaseBusyError(
                f"database {self.path}: a concurrent transaction conflicted; retry ({exc})"
            ) from exc
        if isinstance(exc, psycopg.DataError):
            # Text with NUL, a lone surrogate in JSON: refused values, not a broken database.
            raise InvalidConfigError(f"PostgreSQL cannot store this value: {exc}") from exc
        if isinstance(exc, psycopg.OperationalError):
            raise DatabaseFileError(
                f"lost the connection to PostgreSQL at {self.path}: {exc}"
            ) from exc
        raise exc

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseFileError(f"database {self.path} is closed")

    # The async calls (`WorkerThreads.run`) get one thread per pooled connection.
    _thread_name_prefix = "langgraph-sharedmem-pg"

    def _worker_count(self) -> int:
        return self._pool_size

    # -- migrations ------------------------------------------------------------------------

    def check(self, migrations: Iterable[PostgresMigrations]) -> None:
        """Refuse a database holding newer steps of ``migrations``, or their tables unrecorded.

        Raises `SchemaVersionError` for steps this version does not know, and
        `DatabaseFileError` when a table of a set exists but the set was never applied
        (LangGraph's ``PostgresSaver`` also has a ``checkpoints`` table).
        """
        sets = list(migrations)
        with self.read() as conn:
            applied = self._applied(conn)
            for m in sets:
                self._check_known(m, applied.get(m.name, set()))
                if m.name in applied or not m.tables:
                    continue
                clashing = [
                    t
                    for (t,) in conn.execute(
                        "SELECT c.relname FROM pg_class AS c "
                        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                        "WHERE n.nspname = current_schema() AND c.relname = ANY(%s)",
                        (list(m.tables),),
                    )
                ]
                if clashing:
                    raise DatabaseFileError(
                        f"cannot open {self.path}: its schema already has tables "
                        f"{sorted(clashing)} that langgraph-sharedmem did not create (another "
                        "application's, such as LangGraph's PostgresSaver); nothing was "
                        "changed. Use another database or schema (options=-csearch_path=...)"
                    )

    def _applied(self, conn: psycopg.Connection[Any]) -> dict[str, set[str]]:
        exists = conn.execute("SELECT to_regclass(%s)", (MIGRATIONS_TABLE,)).fetchone()
        if exists is None or exists[0] is None:
            return {}
        applied: dict[str, set[str]] = {}
        for migration_set, name in conn.execute(
            f"SELECT migration_set, name FROM {MIGRATIONS_TABLE}"
        ):
            applied.setdefault(migration_set, set()).add(name)
        return applied

    def _check_known(self, m: PostgresMigrations, applied: set[str]) -> None:
        unknown = applied - {name for name, _ in m.steps}
        if unknown:
            raise SchemaVersionError(
                f"database {self.path} was written by a newer langgraph-sharedmem: it has "
                f"schema steps {sorted(unknown)} of {m.name!r} that this version does not "
                "know. Upgrade langgraph-sharedmem to open it."
            )

    def migrate(self, migrations: PostgresMigrations) -> None:
        """Apply the pending steps of ``migrations``, once, even with several processes."""
        if not isinstance(migrations, PostgresMigrations):
            # A SQLite migration set: its part has no PostgreSQL schema yet.
            refuse_postgres(self, f"the part with schema {getattr(migrations, 'name', '?')!r}")
        with self.read() as conn:
            applied = self._applied(conn).get(migrations.name, set())
        self._check_known(migrations, applied)
        missing = {name for name, _ in migrations.steps} - applied
        if not missing:
            return
        if self.read_only:
            raise SchemaVersionError(
                f"database {self.path} lacks schema steps {sorted(missing)} of "
                f"{migrations.name!r}; open it writable once to upgrade it"
            )
        with self.write() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (migration_set text NOT NULL, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (migration_set, name))"
            )
            # Re-read under the lock: another process may have migrated meanwhile.
            applied = self._applied(conn).get(migrations.name, set())
            self._check_known(migrations, applied)
            for name, statements in migrations.steps:
                if name in applied:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    f"INSERT INTO {MIGRATIONS_TABLE} (migration_set, name) VALUES (%s, %s)",
                    (migrations.name, name),
                )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pool and stop the worker threads. Safe to call twice."""
        if not self._close_workers():
            return
        if self._pid == os.getpid():
            self.pool.close()

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.path!r})"


class Unpipelined:
    """A `PostgresDatabase` whose transactions run outside pipeline mode, for the logic of a
    part that reads ``rowcount`` (unknown in pipeline mode until a result is read) or holds
    a lock across Python code (the tool cache's leases; the parts run through `pg_compat`).
    Everything else is the shared database's: pool, threads, migrations; closing it closes
    that database."""

    dialect: ClassVar[Literal["postgres"]] = "postgres"

    def __init__(self, db: PostgresDatabase | Unpipelined) -> None:
        # Another part's view of the same backend: this one sees the backend itself.
        self.inner: PostgresDatabase = db.inner if isinstance(db, Unpipelined) else db

    @property
    def path(self) -> str:
        return self.inner.path

    @property
    def url(self) -> str:
        return self.inner.url

    @property
    def _closed(self) -> bool:
        return self.inner._closed

    @contextmanager
    def read(self) -> Iterator[Any]:
        with self.inner.read(pipeline=False) as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Any]:
        with self.inner.write(pipeline=False) as conn:
            yield conn

    def statement(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.inner.statement(sql, params)

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await self.inner.run(fn, *args, **kwargs)

    def migrate(self, migrations: PostgresMigrations) -> None:
        self.inner.migrate(migrations)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Unpipelined:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"


def _alive(conn: psycopg.Connection[Any]) -> bool:
    """Whether an idle pooled connection still has its session. Nothing is owed to an idle
    pooled connection (they never LISTEN), so anything waiting on its socket is the server
    ending the session: its goodbye, then the end of the stream. The goodbye can arrive while
    the ended backend is still exiting and the stream still open, so finding it is enough;
    reading it and waiting for the end passed such a connection as alive under load."""
    pgconn = conn.pgconn
    return pgconn.status == pq.ConnStatus.OK and not _readable(pgconn.socket)


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):  # any descriptor number, unlike select()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])
