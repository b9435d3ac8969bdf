"""The change log on PostgreSQL: the same tables as `core.changelog`, numbered in commit order.

Why a lock. A PostgreSQL sequence hands out its number at insert, not at commit: with two
writers, A may take seq 10, B seq 11, and B commit first. A reader that then reads up to 11
and keeps 11 as its cursor would skip 10 forever once A commits. So every log insert first
takes the transaction-level advisory lock `LOG_LOCK` (released by the commit or rollback):
the next writer to log gets its number only after the previous one committed (a lock is
released after the commit is visible), so numbers are handed out, and become visible, in
commit order — what a durable cursor needs, as on SQLite, where ``BEGIN IMMEDIATE`` serializes
every writer.

What it costs. Writers that log serialize from their first log row to their commit, not for
the whole transaction: the parts log as their last step, so the lock is held for about one
round trip and the commit. A part that locked rows *after* logging could deadlock with one
waiting for the log lock while holding those rows; PostgreSQL detects it and one of them
fails with `DatabaseBusyError` ("retry"). Keep `record` the last statement of a transaction.
Rolled-back transactions leave gaps in ``seq``; a gap is never filled later, so readers skip
it safely.

The tables (``changes``, ``change_cursors``, ``change_horizon``) mirror the SQLite ones; ``data``
stays JSON text, so both backends decode rows with the same code.
"""

from __future__ import annotations

import json
import time
from typing import Any

import orjson

from langgraph_sharedmem.core.changelog import _encode, item_change
from langgraph_sharedmem.core.postgres import PostgresMigrations

__all__ = ["LOG_LOCK", "MIGRATIONS", "NOTIFY_CHANNEL", "item_changes", "log"]

# pg_advisory_xact_lock key of the log ("SHMEM" + 2; MIGRATION_LOCK is + 1), visible in
# pg_locks as (classid, objid) = (0x53484D, 0x454D0002).
LOG_LOCK = 0x53484D454D0002
# LISTEN/NOTIFY channel woken by every transaction that logs (see `changes._listen_pg`).
NOTIFY_CHANNEL = "langgraph_sharedmem_changes"

MIGRATIONS = PostgresMigrations(
    "langgraph_sharedmem.changes",
    [
        (
            "0001_changes",
            (
                """CREATE TABLE changes (
                    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    at double precision NOT NULL,
                    kind text NOT NULL,
                    op text NOT NULL,
                    scope text,
                    key text NOT NULL,
                    author text,
                    data text
                )""",
                """CREATE TABLE change_cursors (
                    name text PRIMARY KEY,
                    seq bigint NOT NULL,
                    updated_at double precision NOT NULL
                )""",
                """CREATE TABLE change_horizon (
                    id integer PRIMARY KEY CHECK (id = 1),
                    horizon_seq bigint NOT NULL,
                    horizon_at double precision NOT NULL
                )""",
                "INSERT INTO change_horizon (id, horizon_seq, horizon_at) VALUES (1, 0, 0)",
            ),
        ),
    ],
    tables=("changes", "change_cursors", "change_horizon"),
)

# One round trip: the CTE holding the lock is evaluated first (a CTE with a volatile
# function is never inlined), and the identity's next value is drawn for the row it yields.
# pg_notify is sent at commit (never for a rollback), once per distinct payload.
_INSERT = """
WITH locked AS (SELECT pg_advisory_xact_lock(%s), pg_notify(%s, '') )
INSERT INTO changes (at, kind, op, scope, key, author, data)
SELECT %s, %s, %s, %s, %s, %s, %s FROM locked
RETURNING seq
"""
# A store batch's rows travel as one JSON array of [op, scope, key, data]: one statement,
# one parameter (psycopg adapting N rows of parameters in Python was half a batch put's cost
# in the store's benchmark). ORDER BY keeps the array's order in the seq numbers.
_INSERT_ITEMS = """
WITH locked AS (SELECT pg_advisory_xact_lock(%s), pg_notify(%s, '') )
INSERT INTO changes (at, kind, op, scope, key, author, data)
SELECT %s, 'item', u.j ->> 0, u.j ->> 1, u.j ->> 2, NULL, u.j ->> 3
FROM locked, jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS u (j, n)
ORDER BY u.n
"""


def log(
    conn: Any,
    change: tuple[str, str, str, str | None, str | None, Any],
    *,
    read_seq: bool,
) -> int:
    """Log ``change`` (kind, op, key, scope, author, data) inside the caller's open write
    transaction; its ``seq``, or 0 unless ``read_seq`` (the insert then goes out with the
    commit in pipeline mode: see `core.changelog.append`)."""
    kind, op, key, scope, author, data = change
    conn = getattr(conn, "raw", conn)  # a part's `CompatConnection`: its psycopg connection
    cursor = conn.execute(
        _INSERT,
        (
            LOG_LOCK,
            NOTIFY_CHANNEL,
            time.time(),
            kind,
            op,
            scope,
            key,
            author,
            None if data is None else _encode(data),
        ),
    )
    return int(cursor.fetchone()[0]) if read_seq else 0


def item_changes(conn: Any, items: list[tuple[str, str, str | None]], at: float) -> None:
    """Log store writes, as `core.changelog.item_changes` does on SQLite."""
    if not items:
        return
    rows = [list(row) for row in map(item_change, items)]
    conn = getattr(conn, "raw", conn)
    conn.execute(_INSERT_ITEMS, (LOG_LOCK, NOTIFY_CHANNEL, at or time.time(), _json(rows)))


def _json(rows: list[list[Any]]) -> str:
    try:
        return orjson.dumps(rows).decode()
    except orjson.JSONEncodeError:  # lone surrogates in a run-scoped value's text
        return json.dumps(rows, ensure_ascii=True)
