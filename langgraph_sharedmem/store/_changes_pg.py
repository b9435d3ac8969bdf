"""The store's rows of the change log on PostgreSQL -- a stand-in kept apart on purpose.

The change log (``changes/_log.py`` on SQLite) is being ported to PostgreSQL on its own
branch (``changes/_log_pg.py``); until that lands, the store writes its log rows here, in the
same table layout as SQLite's lean log, so a change feed ported later reads them as they are.
When the two meet, this module gives way to ``changes/_log_pg.py``: `MIGRATIONS` and
`item_changes` are the only names the store uses.

Rows are numbered in commit order: the writer takes the log's advisory transaction lock
(`LOG_LOCK`) before reading the newest ``seq``, and holds it until it commits.
"""

from __future__ import annotations

import json
import time
from typing import Any

import orjson

from langgraph_sharedmem.changes._log import _encode, _namespace_json
from langgraph_sharedmem.core.postgres import PostgresMigrations, advisory_key

__all__ = ["LOG_LOCK", "MIGRATIONS", "item_changes"]

MIGRATIONS = PostgresMigrations(
    "langgraph_sharedmem.changes",
    [
        (
            "0001_changes",
            (
                """CREATE TABLE changes (
                    seq bigint PRIMARY KEY,
                    at double precision NOT NULL,
                    kind text NOT NULL,
                    op text NOT NULL,
                    scope text,
                    key text NOT NULL,
                    author text,
                    data text
                )""",
            ),
        ),
    ],
    tables=("changes",),
)

LOG_LOCK = advisory_key("langgraph_sharedmem.changes")

# Rows as one JSON array of [op, scope, key, data] (see `_schema_pg.UPSERT_ITEMS` for why).
_INSERT = """
INSERT INTO changes (seq, at, kind, op, scope, key, author, data)
SELECT (SELECT coalesce(max(seq), 0) FROM changes) + u.n, %s, 'item', u.j ->> 0, u.j ->> 1,
       u.j ->> 2, NULL, u.j ->> 3
FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS u (j, n)
"""


def item_changes(conn: Any, items: list[tuple[str, str, str | None]], at: float) -> None:
    """Log store writes, ``(prefix, key, value_json or None for a delete)`` each, as
    `changes._log.item_changes` does on SQLite, inside the caller's transaction."""
    if not items:
        return
    rows = []
    for prefix, key, value in items:
        scope, head, is_run = _namespace_json(prefix)
        text = head + _encode(key)
        if value is not None and is_run:
            text += ',"value":' + value
        rows.append(["delete" if value is None else "put", scope, f"{prefix}/{key}", text + "}"])
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOG_LOCK,))
    conn.execute(_INSERT, (at if at else time.time(), _json(rows)))


def _json(rows: list[list[Any]]) -> str:
    try:
        return orjson.dumps(rows).decode()
    except orjson.JSONEncodeError:  # lone surrogates in a run-scoped value's text
        return json.dumps(rows, ensure_ascii=True)
