"""The change log: one row per committed change to shared memory, numbered in commit order.

Every part that changes shared memory (facts, store items, the registry, conversation
history, grants) calls `record` inside its own write transaction, so a change and its log
row commit together or not at all. ``seq`` is ``AUTOINCREMENT``: it only grows, is never
reused after old rows are pruned, and (writes being serialized by ``BEGIN IMMEDIATE``)
its order is the commit order — a durable cursor is just the last ``seq`` seen.

Columns:
* ``kind`` — what changed: ``fact``, ``disagreement``, ``item``, ``agent``, ``message``,
  ``grant``, ...; ``op`` — how (``asserted``, ``verified``, ``put``, ``delete``, ...).
* ``scope`` — the `Scope.key` (JSON array) the change lives in, or NULL for changes that
  belong to no scope (registry, grants); subscribers are filtered on it.
* ``key`` — which thing inside the scope (``subject/attribute``, an item key, an agent id).
* ``author`` — the agent or user that made it, if known; ``data`` — JSON details.

On PostgreSQL the same tables and the same rows are written by `core.changelog_pg` (numbered
in commit order under an advisory lock, and a LISTEN/NOTIFY wake-up); `record` and
`item_changes` hand a PostgreSQL connection to it, so a part logs the same way on both.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import time
from typing import Any

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.transfer import CopyTable

__all__ = ["MIGRATIONS", "append", "item_changes", "record"]

MIGRATIONS = Migrations("langgraph_sharedmem.changes")
# One encoder for every row: json.dumps with options builds a new encoder per call, which
# was a measurable part of the log's cost to a store put.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_INSERT = "INSERT INTO changes (at, kind, op, scope, key, author, data) VALUES (?,?,?,?,?,?,?)"


@MIGRATIONS(name="0001_changes")
def _m0001(db: _SUDatabase) -> None:
    db.executescript(
        """
        CREATE TABLE changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            op TEXT NOT NULL,
            scope TEXT,
            key TEXT NOT NULL,
            author TEXT,
            data TEXT
        );
        CREATE INDEX changes_at ON changes (at);
        """
    )


@MIGRATIONS(name="0002_cursors_horizon_lean_log")
def _m0002(db: _SUDatabase) -> None:
    # change_cursors: the durable position of each named subscriber (last seq processed).
    # change_horizon: one row; rows with seq <= horizon_seq were pruned (at <= horizon_at),
    # so a cursor below it would silently miss changes and is refused instead.
    #
    # The log is rebuilt (same columns) to cost writers less (bench/bench_changes.py): without
    # AUTOINCREMENT (its sqlite_sequence row was one more page in every write transaction;
    # seq still never goes back because `prune` always keeps the newest row) and without the
    # index on ``at`` (prune finds an age by bisecting seq instead). No index at all but the
    # primary key: a partial index on run-scoped items cost each run-scoped put another ~8%
    # (measured), while `MemoryAsOf`, which would use it, is a rare read that scans instead.
    #
    # One statement at a time: ``executescript`` would COMMIT the migration's transaction
    # halfway, and a crash between DROP and RENAME would lose the log.
    for statement in (
        """CREATE TABLE change_cursors (
            name TEXT PRIMARY KEY,
            seq INTEGER NOT NULL,
            updated_at REAL NOT NULL
        )""",
        """CREATE TABLE change_horizon (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            horizon_seq INTEGER NOT NULL,
            horizon_at REAL NOT NULL
        )""",
        "INSERT INTO change_horizon (id, horizon_seq, horizon_at) VALUES (1, 0, 0)",
        """CREATE TABLE changes_lean (
            seq INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            op TEXT NOT NULL,
            scope TEXT,
            key TEXT NOT NULL,
            author TEXT,
            data TEXT
        )""",
        "INSERT INTO changes_lean SELECT seq, at, kind, op, scope, key, author, data FROM changes",
        # Had the newest rows been deleted, AUTOINCREMENT would not reuse their seqs: keep
        # its high-water mark as a row, so the rebuilt log does not reuse them either.
        """INSERT INTO changes_lean (seq, at, kind, op, key)
           SELECT s.seq, (julianday('now') - 2440587.5) * 86400.0, 'log', 'rebuilt', 'changes'
           FROM sqlite_sequence AS s WHERE s.name = 'changes'
             AND s.seq > (SELECT coalesce(max(seq), 0) FROM changes)""",
        "DROP TABLE changes",
        "ALTER TABLE changes_lean RENAME TO changes",
        "DELETE FROM sqlite_sequence WHERE name = 'changes'",
    ):
        db.execute(statement)


def record(
    conn: sqlite3.Connection,
    *,
    kind: str,
    op: str,
    key: str,
    scope: str | None = None,
    author: str | None = None,
    data: Any = None,
) -> int:
    """Log one change inside the caller's open write transaction; returns its ``seq``.

    ``scope`` is a `Scope.key` (or None), ``data`` anything JSON-serializable. On a
    PostgreSQL connection the row is written by `core.changelog_pg.log`.
    """
    return _log(conn, (kind, op, key, scope, author, data), read_seq=True)


def append(
    conn: sqlite3.Connection,
    *,
    kind: str,
    op: str,
    key: str,
    scope: str | None = None,
    author: str | None = None,
    data: Any = None,
) -> None:
    """`record` for a caller that does not need the ``seq``: on PostgreSQL in pipeline mode
    the row then travels with the commit instead of costing a round trip of its own, and
    the log's commit-order lock is held one round trip less."""
    _log(conn, (kind, op, key, scope, author, data), read_seq=False)


def _log(
    conn: sqlite3.Connection,
    change: tuple[str, str, str, str | None, str | None, Any],
    *,
    read_seq: bool,
) -> int:
    if not isinstance(conn, sqlite3.Connection):
        return int(_pg().log(conn, change, read_seq=read_seq))
    kind, op, key, scope, author, data = change
    cursor = conn.execute(
        _INSERT,
        (time.time(), kind, op, scope, key, author, None if data is None else _encode(data)),
    )
    return int(cursor.lastrowid or 0)


def _pg() -> Any:
    """The PostgreSQL log (`core.changelog_pg`), imported on first use: it needs psycopg."""
    from langgraph_sharedmem.core import changelog_pg

    return changelog_pg


# Namespaces of agent views are ("sharedmem", kind, id[, collection]); see core/values.py.
_ROOT = "sharedmem."


@functools.lru_cache(maxsize=4096)
def scope_of_prefix(prefix: str) -> str | None:
    """The `Scope.key` of a store namespace written as ``"a.b.c"``, or None outside views."""
    if not prefix.startswith(_ROOT):
        return None
    labels = prefix.split(".")
    if len(labels) < 3 or labels[1] not in ("app", "user", "agent", "run"):
        return None
    return '["app"]' if labels[1] == "app" else _encode(labels[1:3])


@functools.lru_cache(maxsize=4096)
def _namespace_json(prefix: str) -> tuple[str | None, str, bool]:
    """Scope key, ``{"namespace":[...],"key":`` head, and whether it is a run scope: the
    same few prefixes recur, and this was most of the log's Python cost per put."""
    scope = scope_of_prefix(prefix)
    head = '{"namespace":' + _encode(prefix.split(".")) + ',"key":'
    return scope, head, scope is not None and scope.startswith('["run"')


def item_change(item: tuple[str, str, str | None]) -> tuple[str, str | None, str, str]:
    """``(op, scope, key, data)`` of the log row for one store write ``(prefix, key,
    value_json or None)``, on either backend."""
    prefix, key, value = item
    scope, head, is_run = _namespace_json(prefix)
    data = head + _encode(key)
    if value is not None and is_run:
        data += ',"value":' + value
    return ("delete" if value is None else "put"), scope, f"{prefix}/{key}", data + "}"


def item_changes(
    conn: sqlite3.Connection, items: list[tuple[str, str, str | None]], at: float
) -> None:
    """Log store writes: ``(prefix, key, value_json or None for a delete)`` each.

    Run-scoped items carry their value, so a run's memory can be read as of an earlier
    moment; other items carry only where they are (readers fetch the current value).
    """
    if not isinstance(conn, sqlite3.Connection):
        _pg().item_changes(conn, items, at)
        return
    rows = [
        (at, "item", op, scope, key, None, data) for op, scope, key, data in map(item_change, items)
    ]
    if len(rows) == 1:  # the common case; executemany costs more for one row
        conn.execute(_INSERT, rows[0])
    else:
        conn.executemany(_INSERT, rows)


# How `sharedmem copy` moves the log (see `core.transfer`): ``seq`` keeps its numbers, so
# durable cursors (``change_cursors``) stay valid on the other backend.
COPY_TABLES = (
    CopyTable(
        "changes",
        (
            ("seq", "integer"),
            ("at", "real"),
            ("kind", "text"),
            ("op", "text"),
            ("scope", "text"),
            ("key", "text"),
            ("author", "text"),
            ("data", "json_text"),
        ),
        key=("seq",),
        counter="seq",
    ),
    CopyTable(
        "change_cursors",
        (("name", "text"), ("seq", "integer"), ("updated_at", "real")),
        key=("name",),
    ),
    CopyTable(
        "change_horizon",
        (("id", "integer"), ("horizon_seq", "integer"), ("horizon_at", "real")),
        key=("id",),
        seeded=True,
    ),
)
