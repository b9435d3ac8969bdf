"""The backend interface both storage backends satisfy, and `open_database`, which picks one.

A part's logic is written once against `Backend`; only its SQL differs per ``dialect``::

    db = open_database("postgresql://app@db-host/agents", *part.migration_sets)
    with db.write() as conn:          # one transaction; a DB-API-like connection
        conn.execute(sql.INSERT_X, params)

Paths, ``sqlite:`` URLs and ``":memory:"`` open the embedded SQLite file (`Database`);
``postgresql://`` and ``postgres://`` URLs and libpq ``key=value`` connection strings open a
pooled PostgreSQL connection (`PostgresDatabase`; see `is_postgres_url` for which strings are
connection strings). Each backend applies the migration sets written for it and ignores the
others, so a part hands over its SQLite and its PostgreSQL sets together.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, TypeGuard, TypeVar, runtime_checkable

from langgraph_sharedmem.errors import InvalidConfigError, UnsupportedBackendError

__all__ = [
    "Backend",
    "Dialect",
    "is_postgres_conninfo",
    "is_postgres_url",
    "open_database",
    "refuse_postgres",
    "refuse_unknown_scheme",
]

T = TypeVar("T")
Dialect = Literal["sqlite", "postgres"]

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
ACCEPTED_FORMS = (
    "a file path, a sqlite:/// URL, a postgresql:// URL or a libpq connection string "
    "('host=... dbname=... user=...')"
)
# libpq's connection keywords (PostgreSQL 18). The libpq psycopg links, when installed, may
# know newer ones: `_libpq_keywords` adds them.
_LIBPQ_KEYWORDS = frozenset(
    {
        "service",
        "user",
        "password",
        "passfile",
        "channel_binding",
        "connect_timeout",
        "dbname",
        "host",
        "hostaddr",
        "port",
        "client_encoding",
        "options",
        "application_name",
        "fallback_application_name",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "sslmode",
        "sslnegotiation",
        "sslcompression",
        "sslcert",
        "sslkey",
        "sslcertmode",
        "sslpassword",
        "sslrootcert",
        "sslcrl",
        "sslcrldir",
        "sslsni",
        "requirepeer",
        "require_auth",
        "min_protocol_version",
        "max_protocol_version",
        "ssl_min_protocol_version",
        "ssl_max_protocol_version",
        "gssencmode",
        "krbsrvname",
        "gsslib",
        "gssdelegation",
        "replication",
        "target_session_attrs",
        "load_balance_hosts",
        "scram_client_key",
        "scram_server_key",
        "oauth_issuer",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_scope",
        "sslkeylogfile",
        "requiressl",
    }
)
_CONNINFO_START = re.compile(r"\s*([A-Za-z_]+)\s*=")


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


@functools.cache
def _libpq_keywords() -> frozenset[str]:
    try:
        from psycopg import pq
    except ImportError:
        return _LIBPQ_KEYWORDS
    return _LIBPQ_KEYWORDS | {o.keyword.decode() for o in pq.Conninfo.get_defaults()}


def is_postgres_conninfo(conn: object) -> TypeGuard[str]:
    """Whether ``conn`` is a libpq ``key=value`` connection string (as psycopg and
    ``PostgresSaver.from_conn_string`` take): a ``str`` whose first word is a libpq keyword
    followed by ``=``, such as ``"host=db-host dbname=agents user=app"``.

    The rule only looks at the start, so a malformed connection string is still one (and gets
    libpq's error, never a file named after it, password included). A file whose name starts
    that way is written ``"./host=a.db"`` or ``"sqlite:///host=a.db"``; a ``pathlib.Path`` is
    always a path.
    """
    if not isinstance(conn, str):
        return False
    start = _CONNINFO_START.match(conn)
    if start is None:
        return False
    word = start.group(1)
    return word in _LIBPQ_KEYWORDS or word in _libpq_keywords()


def is_postgres_url(conn: object) -> TypeGuard[str]:
    """Whether ``conn`` opens PostgreSQL: a ``postgresql://`` or ``postgres://`` URL, or a
    libpq connection string (`is_postgres_conninfo`)."""
    return (
        isinstance(conn, str) and conn.lower().startswith(_POSTGRES_SCHEMES)
    ) or is_postgres_conninfo(conn)


def refuse_unknown_scheme(conn: str | os.PathLike[str]) -> None:
    """Raise `InvalidConfigError` if ``conn`` is a URL of a scheme other than ``sqlite``,
    ``postgresql`` or ``postgres`` (before SQLite takes it for a file path)."""
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*)://", conn) if isinstance(conn, str) else None
    if scheme is None or scheme.group(1).lower() in ("sqlite", "postgresql", "postgres"):
        return
    name = scheme.group(1).lower()
    if name.startswith(("postgresql+", "postgres+")):
        # SQLAlchemy's form. Not rewritten here: the rest of such a URL may hold its driver's
        # options (asyncpg's query parameters, say), which libpq would refuse or misread.
        raise InvalidConfigError(
            f"{scheme.group(1)!r} is SQLAlchemy's URL form: drop the driver suffix "
            f"({scheme.group(1)[scheme.group(1).index('+') :]!r}) and pass "
            f"postgresql://...; accepted: {ACCEPTED_FORMS}"
        )
    raise InvalidConfigError(
        f"unknown database URL scheme {scheme.group(1)!r}: use {ACCEPTED_FORMS}"
    )


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
    from sqlite_utils.migrations import Migrations

    from langgraph_sharedmem.core.sqlite import Database

    sqlite_sets = [m for m in migrations if isinstance(m, Migrations)]
    return Database.open_checked(conn, sqlite_sets, **options)
