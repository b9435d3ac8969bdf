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
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

__all__ = ["MIGRATIONS", "item_changes", "record"]

MIGRATIONS = Migrations("langgraph_sharedmem.changes")


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

    ``scope`` is a `Scope.key` (or None), ``data`` anything JSON-serializable.
    """
    cursor = conn.execute(
        "INSERT INTO changes (at, kind, op, scope, key, author, data) VALUES (?,?,?,?,?,?,?)",
        (
            time.time(),
            kind,
            op,
            scope,
            key,
            author,
            None if data is None else json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        ),
    )
    return int(cursor.lastrowid or 0)


_INSERT = "INSERT INTO changes (at, kind, op, scope, key, author, data) VALUES (?,?,?,?,?,?,?)"
# Namespaces of agent views are ("sharedmem", kind, id[, collection]); see agents/_scopes.py.
_ROOT = "sharedmem."


def scope_of_prefix(prefix: str) -> str | None:
    """The `Scope.key` of a store namespace written as ``"a.b.c"``, or None outside views."""
    if not prefix.startswith(_ROOT):
        return None
    labels = prefix.split(".")
    if len(labels) < 3 or labels[1] not in ("app", "user", "agent", "run"):
        return None
    scope = ["app"] if labels[1] == "app" else labels[1:3]
    return json.dumps(scope, ensure_ascii=False, separators=(",", ":"))


def item_changes(
    conn: sqlite3.Connection, items: list[tuple[str, str, str | None]], at: float
) -> None:
    """Log store writes: ``(prefix, key, value_json or None for a delete)`` each.

    Run-scoped items carry their value, so a run's memory can be read as of an earlier
    moment; other items carry only where they are (readers fetch the current value).
    """
    rows = []
    for prefix, key, value in items:
        scope = scope_of_prefix(prefix)
        where = json.dumps(
            {"namespace": prefix.split("."), "key": key}, ensure_ascii=False, separators=(",", ":")
        )
        if value is not None and scope is not None and scope.startswith('["run"'):
            where = f'{where[:-1]},"value":{value}}}'
        op = "delete" if value is None else "put"
        rows.append((at, "item", op, scope, f"{prefix}/{key}", None, where))
    conn.executemany(_INSERT, rows)
