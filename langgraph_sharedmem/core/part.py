"""`BackendPart`: a part of the memory on either backend (SQLite file or PostgreSQL).

A `DatabasePart` knows SQLite only. A `BackendPart` also opens a ``postgresql://`` URL or
shares an open `PostgresDatabase`; on PostgreSQL its `setup` applies the part's PostgreSQL
migration sets (named by module, imported on first use: they need psycopg, which SQLite
users may lack). The part's logic picks its statements with `sql_of`::

    class ToolCache(BackendPart):
        migrations = _schema.MIGRATIONS                          # SQLite
        pg_schemas = ("langgraph_sharedmem.toolcache._schema_pg",)  # PostgreSQL

        def stats(self):
            with self.db.read() as conn:
                return conn.execute(sql_of(self.db, _schema, PG).STATS).fetchone()
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any, ClassVar

from langgraph_sharedmem._db import Database, DatabasePart, Synchronous
from langgraph_sharedmem.core.backend import Backend, is_postgres_url, open_database

__all__ = ["BackendPart", "pg_module", "sql_of"]


def pg_module(name: str) -> ModuleType:
    """The PostgreSQL SQL module ``name``, imported on first use."""
    return importlib.import_module(name)


def sql_of(db: Any, sqlite_module: ModuleType, pg_name: str) -> ModuleType:
    """The statements for ``db``'s dialect: ``sqlite_module``, or the module ``pg_name``.

    Both modules define the same names; only the SQL text differs.
    """
    return sqlite_module if db.dialect == "sqlite" else pg_module(pg_name)


class BackendPart(DatabasePart):
    """A `DatabasePart` that also runs on PostgreSQL (see the module docstring)."""

    # Modules holding the part's PostgreSQL ``MIGRATIONS``, those it writes into first
    # (e.g. the change log's), its own last.
    pg_schemas: ClassVar[tuple[str, ...]] = ()
    db: Any  # a `Backend`: SQLite's `Database` or a `PostgresDatabase`

    def _open_database(
        self,
        conn: str | os.PathLike[str] | Database | Backend,
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "NORMAL",
    ) -> None:
        if is_postgres_url(conn):
            self.db = open_database(
                str(conn),
                *self.pg_migrations(),
                busy_timeout=busy_timeout,
                synchronous=synchronous,
            )
            self._owns_db, self.is_setup = True, False
        elif isinstance(conn, Database) or not isinstance(conn, Backend):
            super()._open_database(conn, busy_timeout=busy_timeout, synchronous=synchronous)  # type: ignore[arg-type]
        else:  # an open PostgreSQL backend, shared with the other parts
            self.db, self._owns_db, self.is_setup = conn, False, False

    def pg_migrations(self) -> list[Any]:
        """The part's PostgreSQL migration sets, in the order they are applied."""
        return [pg_module(name).MIGRATIONS for name in self.pg_schemas]

    def setup(self) -> None:
        """Create or upgrade this part's tables. Idempotent, safe with several processes."""
        if self.is_setup:
            return
        if self.db.dialect == "postgres":
            for migrations in self.pg_migrations():
                self.db.migrate(migrations)
            self.is_setup = True
        else:
            super().setup()
