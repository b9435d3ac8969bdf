"""Opening a database for inspection: never create one, say plainly what is wrong.

`Database` creates a missing file when opened writable, and a read-only open of a plain SQLite
file succeeds; neither is what someone inspecting ``agents.db`` wants. So the inspector checks,
in order: the path exists and is a non-empty file, SQLite can read it, it records
langgraph-sharedmem schema steps, and none of them is newer than this package knows. Each
failure is a `DatabaseFileError` or `SchemaVersionError` with a one-line message.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.errors import DatabaseFileError

__all__ = ["PARTS", "Part", "known_parts", "open_database", "recorded_steps"]

_MIGRATIONS_TABLE = Migrations.migrations_table
_PREFIX = "langgraph_sharedmem."


@dataclass(frozen=True)
class Part:
    """One part of the shared memory: its name here and the module holding its migrations."""

    name: str
    module: str
    attribute: str = "MIGRATIONS"


# Parts built later (registry, conversation) are listed too: when their module is
# not importable in this install they are reported as "not available", never as an error.
PARTS: tuple[Part, ...] = (
    Part("checkpoints", "langgraph_sharedmem.checkpoint._schema"),
    Part("store", "langgraph_sharedmem.store._schema"),
    Part("facts", "langgraph_sharedmem.facts._schema"),
    Part("access", "langgraph_sharedmem.agents._schema"),
    Part("tool_cache", "langgraph_sharedmem.toolcache._schema"),
    Part("changes", "langgraph_sharedmem.core.changelog"),
    Part("registry", "langgraph_sharedmem.registry._schema"),
    Part("conversation", "langgraph_sharedmem.conversation._schema"),
)


def known_parts() -> dict[str, Migrations]:
    """Migration sets of the parts importable in this install, by migration-set name."""
    found: dict[str, Migrations] = {}
    for part in PARTS:
        try:
            module = importlib.import_module(part.module)
        except ImportError:
            continue
        migrations = getattr(module, part.attribute, None)
        if isinstance(migrations, Migrations):
            found[migrations.name] = migrations
    return found


def part_name(migration_set: str) -> str:
    """The inspector's name for a migration set (``langgraph_sharedmem.facts`` -> ``facts``)."""
    for part in PARTS:
        if part.module.startswith(migration_set):
            return part.name
    return migration_set.removeprefix(_PREFIX)


def recorded_steps(db: Database) -> dict[str, list[str]]:
    """Schema steps recorded in the file, by migration set, in the order applied."""
    with db.read() as conn:
        if not conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (_MIGRATIONS_TABLE,)
        ).fetchone():
            return {}
        rows = conn.execute(
            f"SELECT migration_set, name FROM {_MIGRATIONS_TABLE} ORDER BY applied_at, name"
        ).fetchall()
    steps: dict[str, list[str]] = {}
    for migration_set, name in rows:
        steps.setdefault(migration_set, []).append(name)
    return steps


def open_database(path: str | os.PathLike[str], *, writable: bool = False) -> Database:
    """Open an existing langgraph-sharedmem database, read-only unless ``writable``."""
    text = os.fspath(path)
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
