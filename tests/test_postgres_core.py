"""The PostgreSQL backend of the storage core, on a real throwaway server."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import closing, suppress
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from langgraph_sharedmem import (
    DatabaseBusyError,
    DatabaseFileError,
    InvalidConfigError,
    SchemaVersionError,
)
from langgraph_sharedmem.core.backend import Backend, open_database
from langgraph_sharedmem.core.postgres import (
    MIGRATIONS_TABLE,
    PostgresDatabase,
    PostgresMigrations,
    redact,
)
from langgraph_sharedmem.core.sqlite import Database
from tests._pg_workers import counted_migrations, open_and_migrate
from tests._servers import end_other_sessions
from tests._spawn import run_together


def test_open_database_picks_the_backend_by_url(postgres_db: str, tmp_path: Path) -> None:
    with open_database(tmp_path / "a.db") as sqlite_db:
        assert isinstance(sqlite_db, Database) and sqlite_db.dialect == "sqlite"
        assert isinstance(sqlite_db, Backend)
    with open_database(f"sqlite:///{tmp_path}/b.db") as sqlite_db:
        assert sqlite_db.dialect == "sqlite"
    for url in (postgres_db, postgres_db.replace("postgresql://", "postgres://", 1)):
        with open_database(url) as pg:
            assert isinstance(pg, PostgresDatabase) and pg.dialect == "postgres"
            assert isinstance(pg, Backend)
    with pytest.raises(InvalidConfigError, match="unknown database URL scheme 'mysql'"):
        open_database("mysql://root@localhost/db")


def test_write_commits_or_rolls_back_and_nests_as_savepoints(postgres_db: str) -> None:
    with PostgresDatabase(postgres_db) as db:
        with db.write() as conn:
            conn.execute("CREATE TABLE t (x integer)")
        with pytest.raises(ZeroDivisionError), db.write() as conn:
            conn.execute("INSERT INTO t VALUES (1)")
            raise ZeroDivisionError
        with db.write() as conn:
            conn.execute("INSERT INTO t VALUES (2)")
            with pytest.raises(KeyError), db.write() as inner:
                inner.execute("INSERT INTO t VALUES (3)")
                raise KeyError("undo only the inner block")
            with db.read() as same:  # a read inside a write sees the write
                assert same.execute("SELECT count(*) FROM t").fetchone() == (1,)
        with db.read() as conn:
            assert conn.execute("SELECT x FROM t").fetchall() == [(2,)]


def test_read_is_one_read_only_snapshot(postgres_db: str) -> None:
    with PostgresDatabase(postgres_db) as db:
        with db.write() as conn:
            conn.execute("CREATE TABLE t (x integer)")
        with db.read() as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
            with db._connection() as other:  # another process's commit, meanwhile
                other.execute("INSERT INTO t VALUES (1)")
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        # Pipeline mode: the error of an unread statement is raised by the end of the block.
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction), db.read() as conn:
            conn.execute("INSERT INTO t VALUES (2)")
        with db.read() as conn:
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_several_processes_create_the_schema_exactly_once(postgres_db: str) -> None:
    outcomes = run_together(open_and_migrate, [(postgres_db,)] * 6)
    assert outcomes == ["ok"] * 6
    with psycopg.connect(postgres_db) as conn:
        assert conn.execute("SELECT n FROM counted ORDER BY n").fetchall() == [(1,), (2,)]
        recorded = conn.execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} WHERE migration_set = 'tests.counted'"
        ).fetchall()
    assert sorted(recorded) == [("0001_counter",), ("0002_more",)]


def test_a_database_from_a_newer_version_is_refused(postgres_db: str) -> None:
    migrations = counted_migrations()
    with open_database(postgres_db, migrations) as db:
        db.migrate(migrations)
    older = PostgresMigrations("tests.counted", migrations.steps[:1], migrations.tables)
    with pytest.raises(SchemaVersionError, match="0002_more"):
        open_database(postgres_db, older)


def test_tables_of_another_application_are_refused(postgres_db: str) -> None:
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        conn.execute("CREATE TABLE counted (other text)")
    with pytest.raises(DatabaseFileError, match=r"tables \['counted'\].*nothing was changed"):
        open_database(postgres_db, counted_migrations())


def test_bad_urls_name_the_server_but_never_the_password(postgres_url: str) -> None:
    port = postgres_url.rsplit(":", 1)[1].split("/")[0]
    with pytest.raises(DatabaseFileError) as caught:
        PostgresDatabase(f"postgresql://postgres:s3cret@127.0.0.1:{port}/no_such_db")
    assert "no_such_db" in str(caught.value) and "does not exist" in str(caught.value)
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)
    with pytest.raises(DatabaseFileError, match="cannot connect to PostgreSQL at") as caught:
        PostgresDatabase("postgresql://u:s3cret@127.0.0.1:1/db?password=s3cret", connect_timeout=2)
    assert "s3cret" not in str(caught.value) and "s3cret" not in repr(caught.value.__cause__)
    assert redact("postgresql://u:pw@h/db?password=pw&x=1") == (
        "postgresql://u:***@h/db?password=***&x=1"
    )


def test_a_lock_held_past_busy_timeout_is_database_busy(postgres_db: str) -> None:
    with PostgresDatabase(postgres_db, busy_timeout=0.2) as db:
        held, release = threading.Event(), threading.Event()

        def holder() -> None:
            with db.write() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(42)")
                held.set()
                release.wait(10)

        thread = threading.Thread(target=holder)
        thread.start()
        held.wait(10)
        try:
            with pytest.raises(DatabaseBusyError, match="busy_timeout=0.2s"), db.write() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(42)")
        finally:
            release.set()
            thread.join()


def test_text_with_nul_is_a_clear_error(postgres_db: str) -> None:
    with PostgresDatabase(postgres_db) as db:
        with db.write() as conn:
            conn.execute("CREATE TABLE t (x text)")
        with pytest.raises(InvalidConfigError, match="NUL"), db.write() as conn:
            conn.execute("INSERT INTO t VALUES (%s)", ("a\x00b",))


def test_run_serves_async_callers_off_the_event_loop(postgres_db: str) -> None:
    with PostgresDatabase(postgres_db, pool_size=4) as db:

        def one() -> int:
            with db.read() as conn:
                conn.execute("SELECT pg_sleep(0.2)")
                return threading.get_ident()

        async def main() -> list[int]:
            return await asyncio.gather(*(db.run(one) for _ in range(4)))

        loop_thread = threading.get_ident()
        threads = asyncio.run(main())
        assert loop_thread not in threads and len(set(threads)) > 1


def _fill_pool(db: PostgresDatabase, n: int) -> None:
    """Have ``n`` connections open at once, which the pool then keeps idle."""
    inside = threading.Barrier(n + 1)

    def hold() -> None:
        with db.read():
            inside.wait()
            inside.wait()

    holders = [threading.Thread(target=hold) for _ in range(n)]
    for h in holders:
        h.start()
    inside.wait()
    inside.wait()
    for h in holders:
        h.join()
    assert db.pool.get_stats()["pool_available"] == n


def test_idle_connections_the_server_ended_are_replaced_not_failed(postgres_db: str) -> None:
    """After a restart or failover every idle pooled connection is dead; the next calls
    must get new ones instead of failing one call per dead connection (5 of them before)."""
    with PostgresDatabase(postgres_db, pool_size=5) as db:
        db.statement("CREATE TABLE t (v integer)")
        _fill_pool(db, 5)
        end_other_sessions(postgres_db, idle_of=db)
        for i in range(7):  # each kind of call, and more calls than dead connections
            db.statement("INSERT INTO t VALUES (%s)", (i,))
            with db.write() as conn:
                conn.execute("INSERT INTO t VALUES (%s)", (-i,))
            with db.read() as conn:
                assert conn.execute("SELECT count(*) FROM t").fetchone() == (2 * i + 2,)


class _LateClosingProxy:
    """A TCP relay to the server that passes on every byte at once but the end of a stream
    only ``late`` seconds after it: how a session's goodbye can reach the client before the
    connection closes (an exiting backend on a loaded host, a proxy, a slow network)."""

    def __init__(self, port: int, late: float) -> None:
        self.port, self.late = port, late
        self.listener = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        host = f"{parts.username}@127.0.0.1:{self.listener.getsockname()[1]}"
        return urlunsplit(parts._replace(netloc=host))

    def close(self) -> None:
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            server = socket.create_connection(("127.0.0.1", self.port))
            threading.Thread(target=self._pump, args=(client, server, 0.0), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.late), daemon=True
            ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, late: float) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        time.sleep(late)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def test_a_goodbye_that_arrives_before_the_connection_closes_still_retires_it(
    postgres_db: str,
) -> None:
    """An idle connection whose session the server ended is retired on the goodbye alone:
    reading the goodbye and then finding the socket quiet once passed it as alive, and the
    caller's statement failed (a CI run under load hit this)."""
    proxy = _LateClosingProxy(urlsplit(postgres_db).port or 5432, late=2.0)
    with closing(proxy), PostgresDatabase(proxy.url(postgres_db), pool_size=3) as db:
        db.statement("CREATE TABLE t (v integer)")
        _fill_pool(db, 3)
        end_other_sessions(postgres_db, idle_of=db)
        for i in range(4):
            db.statement("INSERT INTO t VALUES (%s)", (i,))
        assert db.statement("SELECT count(*) FROM t") == [(4,)]
