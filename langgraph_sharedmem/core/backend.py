"""The backend interface both storage backends satisfy, and `open_database`, which picks one.

A part's logic is written once against `Backend`; only its SQL differs per ``dialect``::

    db = open_database("postgresql://app@db-host/agents", *part.migration_sets)
    with db.write() as conn:          # one transaction; a DB-API-like connection
        conn.execute(sql.INSERT_X, params)

Paths, ``sqlite:`` URLs and ``":memory:"`` open the embedded SQLite file (`Database`);
``postgresql://`` and ``postgres://`` URLs open a pooled PostgreSQL connection
(`PostgresDatabase`). Each backend applies the migration sets written for it and ignores the
others, so a part hands over its SQLite and its PostgreSQL sets together.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, TypeGuard, TypeVar, runtime_checkable

from langgraph_sharedmem.errors import InvalidConfigError, UnsupportedBackendError

__all__ = ["Backend", "Dialect", "is_postgres_url", "open_database", "refuse_postgres"]

T = TypeVar("T")
Dialect = Literal["sqlite", "postgres"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@runtime_checkable
class Backend(Protocol):
    """What the parts need from a storage backend."""

    @property
    def dialect(self) -> Dialect:
        """``"sqlite"`` or ``"postgres"``: which SQL the parts send."""
        ...

    @property
    def path(self) -> str:
        """Where the data lives, as messages show it (a URL without its password)."""
        ...

    def read(self) -> AbstractContextManager[Any]:
        """A connection seeing one consistent snapshot; nothing may be written through it."""
        ...

    def write(self) -> AbstractContextManager[Any]:
        """A connection in one transaction: committed at the end, rolled back on error."""
        ...

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run ``fn(*args, **kwargs)`` off the event loop."""
        ...

    def migrate(self, migrations: Any) -> None:
        """Apply the pending steps of one migration set, once, even with several processes."""
        ...

    def close(self) -> None:
        """Release connections and threads. Safe to call twice."""
        ...


def is_postgres_url(conn: object) -> TypeGuard[str]:
    """Whether ``conn`` is a ``postgresql://`` or ``postgres://`` URL."""
    return isinstance(conn, str) and conn.lower().startswith(_POSTGRES_SCHEMES)


def refuse_postgres(conn: object, part: str = "this part", offered: str = "") -> None:
    """Raise `UnsupportedBackendError` if ``conn`` is PostgreSQL (a URL or an open backend):
    ``part`` runs on SQLite only, until it is ported. ``offered`` says what runs there (the
    parts know; the core does not)."""
    if is_postgres_url(conn) or getattr(conn, "dialect", None) == "postgres":
        raise UnsupportedBackendError(
            f"{part} does not run on PostgreSQL yet"
            + (f"; on PostgreSQL this version offers {offered}" if offered else "")
            + ". Keep it on a SQLite file meanwhile (docs/scaling.md)"
        )


def open_database(conn: str | os.PathLike[str], *migrations: Any, **options: Any) -> Backend:
    """Open the database at ``conn`` for parts using ``migrations``; refused if not theirs.

    ``migrations`` may mix SQLite sets (sqlite-utils ``Migrations``) and PostgreSQL sets
    (`PostgresMigrations`): each backend checks the ones written for it. ``options`` go to
    `Database` or `PostgresDatabase`.
    """
    if is_postgres_url(conn):
        from langgraph_sharedmem.core.postgres import PostgresDatabase, PostgresMigrations

        assert isinstance(conn, str)
        pg_sets = [m for m in migrations if isinstance(m, PostgresMigrations)]
        return PostgresDatabase.open_checked(conn, pg_sets, **options)
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*)://", conn) if isinstance(conn, str) else None
    if scheme is not None and scheme.group(1).lower() != "sqlite":
        raise InvalidConfigError(
            f"unknown database URL scheme {scheme.group(1)!r}: use a file path, a sqlite:/// "
            "URL or a postgresql:// URL"
        )
    from sqlite_utils.migrations import Migrations

    from langgraph_sharedmem.core.sqlite import Database

    sqlite_sets = [m for m in migrations if isinstance(m, Migrations)]
    return Database.open_checked(conn, sqlite_sets, **options)
