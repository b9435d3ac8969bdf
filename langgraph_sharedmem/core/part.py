"""`DatabasePart`: the one lifecycle of every part of the shared memory, on either backend.

A part opens a database (a SQLite file, or a ``postgresql://`` URL) or shares one already open
(`SharedMemory` hands every part the same backend), creates its tables on first use — lazily,
idempotently, safely with several threads and processes — and on close releases what it
holds, closing the database only if it opened it. Parts with more to set up or release (the
store's index and TTL sweeper, the audit buffer) extend `_set_up` and `_release` rather than
writing their own locking.

Each backend has its own migration sets: ``migrations`` and ``requires`` (sqlite-utils) for
SQLite, ``pg_schemas`` (modules holding a `PostgresMigrations` named ``MIGRATIONS``, imported
on first use: they need psycopg) for PostgreSQL. A part with no ``pg_schemas`` does not run on
PostgreSQL yet and refuses it when opened. Its logic picks its statements with `sql_of`::

    class ToolCache(DatabasePart):
        migrations = _schema.MIGRATIONS                              # SQLite
        pg_schemas = ("langgraph_sharedmem.toolcache._schema_pg",)    # PostgreSQL

        def stats(self):
            with self.db.read() as conn:
                return conn.execute(sql_of(self.db, _schema, PG).STATS).fetchone()

A part whose SQLite logic runs on PostgreSQL through `core.pg_compat` returns that view of the
backend from `_on_postgres`.
"""

from __future__ import annotations

import importlib
import os
import threading
from types import ModuleType
from typing import Any, ClassVar

from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.backend import (
    Backend,
    is_postgres_url,
    open_database,
    refuse_postgres,
)
from langgraph_sharedmem.core.closing import Closing
from langgraph_sharedmem.core.sqlite import Database, Synchronous

__all__ = ["DatabasePart", "pg_module", "sql_of"]


def pg_module(name: str) -> ModuleType:
    """The PostgreSQL SQL module ``name``, imported on first use."""
    return importlib.import_module(name)


def sql_of(db: Any, sqlite_module: ModuleType, pg_name: str) -> ModuleType:
    """The statements for ``db``'s dialect: ``sqlite_module``, or the module ``pg_name``.

    Both modules define the same names; only the SQL text differs.
    """
    return sqlite_module if db.dialect == "sqlite" else pg_module(pg_name)


def _is_postgres(conn: object) -> bool:
    return is_postgres_url(conn) or getattr(conn, "dialect", None) == "postgres"


class DatabasePart(Closing):
    """A part of the shared memory in one database: it opens it or shares an open one,
    creates its tables on first use, and closes the database only if it opened it."""

    migrations: ClassVar[Migrations]
    # Migration sets this part writes into besides its own (e.g. the change log).
    requires: ClassVar[tuple[Migrations, ...]] = ()
    # Modules holding the part's PostgreSQL ``MIGRATIONS``: those it writes into first (the
    # change log's), its own last. Empty: the part does not run on PostgreSQL yet.
    pg_schemas: ClassVar[tuple[str, ...]] = ()
    # A part that runs on PostgreSQL redeclares it: there it is what `_on_postgres` returns.
    db: Database
    is_setup: bool

    def _open_database(
        self,
        conn: str | os.PathLike[str] | Database | Backend,
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "NORMAL",
        pool_size: int = 8,
    ) -> None:
        """Open ``conn`` or share it (see the class docstring); ``pool_size`` is the number of
        connections of a PostgreSQL pool this part opens itself."""
        if _is_postgres(conn):
            self.check_backend(conn)
            db: Any
            if is_postgres_url(conn):
                db = open_database(
                    str(conn),
                    *self.pg_migration_sets(),
                    busy_timeout=busy_timeout,
                    synchronous=synchronous,
                    pool_size=pool_size,
                )
                self._owns_db = True
            else:  # an open PostgreSQL backend, shared with the other parts
                db, self._owns_db = conn, False
            self.db = self._on_postgres(db)
        elif isinstance(conn, Database):
            self.db, self._owns_db = conn, False
        else:
            # Another application's file or a newer schema: refused now, not at setup.
            self.db = Database.open_checked(
                conn,  # type: ignore[arg-type]
                self.migration_sets(),
                busy_timeout=busy_timeout,
                synchronous=synchronous,
            )
            self._owns_db = True
        self._setup_lock = threading.Lock()
        self.is_setup = False

    @classmethod
    def runs_on_postgres(cls) -> bool:
        """Whether this part has a PostgreSQL schema (it has been ported there)."""
        return bool(cls.pg_schemas)

    @classmethod
    def check_backend(cls, conn: object) -> None:
        """Raise `UnsupportedBackendError`, naming the part, for a PostgreSQL ``conn`` when
        the part does not run there."""
        if not cls.runs_on_postgres():
            refuse_postgres(conn, cls.__name__)

    def _on_postgres(self, db: Any) -> Any:
        """What the part's logic reads and writes through on PostgreSQL (the backend itself,
        or a `core.pg_compat` view of it for logic written in SQLite's dialect)."""
        return db

    @classmethod
    def migration_sets(cls) -> tuple[Migrations, ...]:
        """Every SQLite migration set this part needs, in the order they are applied."""
        return (*cls.requires, cls.migrations)

    @classmethod
    def pg_migration_sets(cls) -> list[Any]:
        """The part's PostgreSQL migration sets, in the order they are applied."""
        return [pg_module(name).MIGRATIONS for name in cls.pg_schemas]

    def setup(self) -> None:
        """Create or upgrade this part's tables. Idempotent, safe with several processes."""
        if self.is_setup:  # the hot path: one attribute read, no lock
            return
        with self._setup_lock:
            if not self.is_setup:
                if self.db.dialect == "postgres":
                    sets: Any = self.pg_migration_sets()
                else:
                    sets = self.migration_sets()
                for migrations in sets:
                    self.db.migrate(migrations)
                self._set_up()
                self.is_setup = True

    def _set_up(self) -> None:
        """What this part does once its tables exist, under the set-up lock."""

    def _release(self) -> None:
        """What this part releases on close, before the database (if it owns it) closes."""

    def close(self) -> None:
        """Release what this part holds; close the database if this part opened it. Safe to
        call twice."""
        try:
            self._release()
        finally:
            if self._owns_db:
                self.db.close()
