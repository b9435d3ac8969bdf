"""Opening a database for inspection: never create one, say plainly what is wrong.

`Database` creates a missing file when opened writable, and a read-only open of a plain SQLite
file succeeds; neither is what someone inspecting ``agents.db`` wants. So the inspector checks,
in order: the path exists and is a non-empty file, SQLite can read it, it records
langgraph-sharedmem schema steps, and none of them is newer than this package knows. Each
failure is a `DatabaseFileError` or `SchemaVersionError` with a one-line message.

A ``postgresql://`` URL gets the same checks on its schema, and a read-only open is one the
server enforces (every transaction ``READ ONLY``).
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.backend import Backend, is_postgres_url
from langgraph_sharedmem.core.sqlite import Database, parse_conn_string
from langgraph_sharedmem.errors import DatabaseFileError

__all__ = ["PARTS", "Part", "known_parts", "open_database", "recorded_steps"]

_MIGRATIONS_TABLE = Migrations.migrations_table
_PREFIX = "langgraph_sharedmem."


@dataclass(frozen=True)
class Part:
    """One part of the shared memory: its name here and the modules holding its migrations
    (SQLite's, and PostgreSQL's)."""

    name: str
    module: str
    pg_module: str
    attribute: str = "MIGRATIONS"


# Parts built later (registry, conversation) are listed too: when their module is
# not importable in this install they are reported as "not available", never as an error.
PARTS: tuple[Part, ...] = (
    Part(
        "checkpoints",
        "langgraph_sharedmem.checkpoint._schema",
        "langgraph_sharedmem.checkpoint._schema_pg",
    ),
    Part("store", "langgraph_sharedmem.store._schema", "langgraph_sharedmem.store._schema_pg"),
    Part("facts", "langgraph_sharedmem.facts._schema", "langgraph_sharedmem.facts._schema_pg"),
    Part("access", "langgraph_sharedmem.agents._schema", "langgraph_sharedmem.agents._schema_pg"),
    Part(
        "tool_cache",
        "langgraph_sharedmem.toolcache._schema",
        "langgraph_sharedmem.toolcache._schema_pg",
    ),
    Part("changes", "langgraph_sharedmem.core.changelog", "langgraph_sharedmem.core.changelog_pg"),
    Part(
        "registry",
        "langgraph_sharedmem.registry._schema",
        "langgraph_sharedmem.registry._schema_pg",
    ),
    Part(
        "conversation",
        "langgraph_sharedmem.conversation._schema",
        "langgraph_sharedmem.conversation._schema_pg",
    ),
)


def known_parts(dialect: str = "sqlite") -> dict[str, Any]:
    """Migration sets (of ``dialect``) of the parts importable in this install, by name."""
    found: dict[str, Any] = {}
    for part in PARTS:
        try:
            module = importlib.import_module(part.module if dialect == "sqlite" else part.pg_module)
        except ImportError:
            continue
        migrations = getattr(module, part.attribute, None)
        if migrations is not None and hasattr(migrations, "name"):
            found[migrations.name] = migrations
    return found


def part_name(migration_set: str) -> str:
    """The inspector's name for a migration set (``langgraph_sharedmem.facts`` -> ``facts``)."""
    for part in PARTS:
        if part.module.startswith(migration_set):
            return part.name
    return migration_set.removeprefix(_PREFIX)


def recorded_steps(db: Backend) -> dict[str, list[str]]:
    """Schema steps recorded in the database, by migration set, in the order applied."""
    if db.dialect == "postgres":
        from langgraph_sharedmem.core.postgres import MIGRATIONS_TABLE as table

        exists = "SELECT to_regclass(%s) IS NOT NULL"
    else:
        table = _MIGRATIONS_TABLE
        exists = "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"
    with db.read() as conn:
        if not conn.execute(exists, (table,)).fetchone()[0]:
            return {}
        rows = conn.execute(
            f"SELECT migration_set, name FROM {table} ORDER BY applied_at, name"
        ).fetchall()
    steps: dict[str, list[str]] = {}
    for migration_set, name in rows:
        steps.setdefault(migration_set, []).append(name)
    return steps


def open_database(target: str | os.PathLike[str], *, writable: bool = False) -> Backend:
    """Open an existing langgraph-sharedmem database (a file, or a ``postgresql://`` URL or
    libpq connection string), read-only unless ``writable``."""
    if is_postgres_url(target):
        return _open_postgres(str(target), writable=writable)
    # A sqlite:/// URL names the file as it does everywhere else in the package; an unknown
    # scheme is refused by name, not as "no such file" naming the URL, password and all.
    text = parse_conn_string(target)
    file = Path(text)
    if not file.exists():
        raise DatabaseFileError(f"cannot open {text!r}: no such file (nothing was created)")
    if file.is_dir():
        raise DatabaseFileError(f"cannot open {text!r}: it is a directory, not a database file")
    if file.stat().st_size == 0:
        raise DatabaseFileError(
            f"cannot open {text!r}: the file is empty, not a langgraph-sharedmem database"
        )
    db = Database(text, read_only=not writable)
    try:
        _check_schema(db)
    except BaseException:
        db.close()
        raise
    return db


def _open_postgres(url: str, *, writable: bool) -> Backend:
    from langgraph_sharedmem.core.postgres import PostgresDatabase

    # A few connections: the inspector reads one part at a time.
    db = PostgresDatabase(url, read_only=not writable, pool_size=2)
    try:
        db.check(known_parts("postgres").values())  # another application's tables; newer steps
        if not any(name.startswith(_PREFIX) for name in recorded_steps(db)):
            raise DatabaseFileError(
                f"cannot open {db.path}: its schema holds no langgraph-sharedmem database "
                "(no langgraph-sharedmem schema is recorded in it; mind search_path)"
            )
    except BaseException:
        db.close()
        raise
    return db


def _check_schema(db: Database) -> None:
    try:
        db.check_file(known_parts().values())  # another application's file; a newer schema
        steps = recorded_steps(db)
    except sqlite3.DatabaseError as exc:
        raise DatabaseFileError(f"cannot read {db.path!r}: {exc}") from exc
    if not any(name.startswith(_PREFIX) for name in steps):
        raise DatabaseFileError(
            f"cannot open {db.path!r}: it is a SQLite file but not a langgraph-sharedmem "
            "database (no langgraph-sharedmem schema is recorded in it)"
        )
