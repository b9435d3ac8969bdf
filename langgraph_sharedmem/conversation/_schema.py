"""The conversation tables and the SQL that reads them; WHERE clauses built by pure functions.

``conv_messages`` holds one row per message, numbered by ``seq`` (AUTOINCREMENT: only grows,
so it is the keyset cursor of every page). ``message`` is LangChain's ``message_to_dict`` as
JSON, which rebuilds the same message (tool calls, ids, kwargs, metadata). ``text`` is what
relevance and summaries read; ``tokens`` and ``bytes`` are counted once, at append.
``visibility`` is ``public`` (every agent of the run), ``recipients`` (sender and
``recipients``, a JSON array) or ``private`` (sender only); ``scope`` (a `Scope.key`, NULL:
the run's own) further limits it to agents that may read that scope.

``conv_embeddings`` keeps each message's unit vector (float32 bytes) beside it, named by the
embedder that made it, so relevance is an exact cosine without embedding history again.
``conv_summaries`` caches summaries by (run, thread, viewer, summarizer, readable, last seq
covered); ``readable`` is a digest of the run's scopes the viewer could read when it was
built, so a summary is served only while the viewer reads exactly those (see `_reads`).

Migrations are an append-only list applied by sqlite-utils and recorded in the database.
"""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.transfer import CopyTable

MIGRATIONS = Migrations("langgraph_sharedmem.conversation")


@MIGRATIONS(name="0001_conversation")
def _m0001(db: _SUDatabase) -> None:
    db.executescript(
        """
        CREATE TABLE conv_messages (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            run TEXT NOT NULL,
            thread TEXT,
            msg_id TEXT,
            sender TEXT NOT NULL,
            recipients TEXT NOT NULL DEFAULT '[]',
            visibility TEXT NOT NULL CHECK (visibility IN ('public', 'recipients', 'private')),
            scope TEXT,
            type TEXT NOT NULL,
            message TEXT NOT NULL,
            text TEXT NOT NULL,
            tokens INTEGER NOT NULL,
            bytes INTEGER NOT NULL,
            created_at REAL NOT NULL
        );
        CREATE INDEX conv_messages_run ON conv_messages (run, seq);
        CREATE INDEX conv_messages_thread ON conv_messages (run, thread, seq);
        CREATE INDEX conv_messages_scope ON conv_messages (run, scope) WHERE scope IS NOT NULL;
        CREATE UNIQUE INDEX conv_messages_id ON conv_messages (run, msg_id)
            WHERE msg_id IS NOT NULL;
        CREATE TABLE conv_embeddings (
            seq INTEGER PRIMARY KEY REFERENCES conv_messages (seq) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vector BLOB NOT NULL
        );
        CREATE TABLE conv_summaries (
            run TEXT NOT NULL,
            thread TEXT NOT NULL,
            viewer TEXT NOT NULL,
            summarizer TEXT NOT NULL,
            upto INTEGER NOT NULL,
            messages INTEGER NOT NULL,
            summary TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (run, thread, viewer, summarizer, upto)
        ) WITHOUT ROWID;
        """
    )


@MIGRATIONS(name="0002_summaries_by_readable_scopes")
def _m0002(db: _SUDatabase) -> None:
    # A summary is only valid for the scopes it was built from: key it by their digest. The
    # old rows (keyed by viewer alone, so served after a revocation) are a cache: dropped.
    db.executescript(
        """
        DROP TABLE conv_summaries;
        CREATE TABLE conv_summaries (
            run TEXT NOT NULL,
            thread TEXT NOT NULL,
            viewer TEXT NOT NULL,
            summarizer TEXT NOT NULL,
            readable TEXT NOT NULL,
            upto INTEGER NOT NULL,
            messages INTEGER NOT NULL,
            summary TEXT NOT NULL,
            created_at REAL NOT NULL,
            PRIMARY KEY (run, thread, viewer, summarizer, readable, upto)
        ) WITHOUT ROWID;
        """
    )


INSERT_MESSAGE = """
INSERT INTO conv_messages (run, thread, msg_id, sender, recipients, visibility, scope, type,
    message, text, tokens, bytes, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_EMBEDDING = "INSERT OR REPLACE INTO conv_embeddings (seq, model, vector) VALUES (?, ?, ?)"
COLUMNS = (
    "m.seq, m.run, m.thread, m.sender, m.recipients, m.visibility, m.scope, m.message, "
    "m.tokens, m.bytes, m.created_at"
)
SELECT_BY_IDS = (
    f"SELECT {COLUMNS}, m.msg_id FROM conv_messages m WHERE m.run = ? AND m.msg_id IN "
    "(SELECT value FROM json_each(?))"
)
SUMMARY_AT_OR_BEFORE = """
SELECT upto, summary FROM conv_summaries
WHERE run = ? AND thread = ? AND viewer = ? AND summarizer = ? AND readable = ? AND upto <= ?
ORDER BY upto DESC LIMIT 1
"""
INSERT_SUMMARY = """
INSERT OR REPLACE INTO conv_summaries (run, thread, viewer, summarizer, readable, upto,
    messages, summary, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
COUNT = "SELECT count(*), coalesce(sum(tokens), 0), coalesce(sum(bytes), 0) FROM conv_messages m"


def where(
    run: str,
    *,
    thread: str | None,
    viewer: str | None,
    readable: tuple[tuple[str, ...], tuple[str, ...]] | None,
    after: int | None = None,
    before: int | None = None,
) -> tuple[str, list[Any]]:
    """``(" WHERE ...", params)`` selecting the messages of ``run`` a viewer may see.

    ``viewer`` None is the orchestrator: every message. ``readable`` (None: no scope rule)
    is the viewer's allow-list (`Permissions.readable`): the scope keys it may read and the
    kinds a wildcard opens whole. A scoped message outside it is left out in SQL, never
    fetched; an unscoped one belongs to the run, which the caller checked.
    """
    clauses: list[str] = ["m.run = ?"]
    params: list[Any] = [run]
    if thread is not None:
        clauses.append("m.thread = ?")
        params.append(thread)
    if after is not None:
        clauses.append("m.seq > ?")
        params.append(after)
    if before is not None:
        clauses.append("m.seq < ?")
        params.append(before)
    if viewer is not None:
        clauses.append(
            "(m.visibility = 'public' OR m.sender = ? OR (m.visibility = 'recipients' AND "
            "EXISTS (SELECT 1 FROM json_each(m.recipients) WHERE value = ?)))"
        )
        params += [viewer, viewer]
    if readable is not None:
        term, more = _readable(readable)
        clauses.append(f"(m.scope IS NULL OR {term})")
        params += more
    return " WHERE " + " AND ".join(clauses), params


def _readable(readable: tuple[tuple[str, ...], tuple[str, ...]]) -> tuple[str, list[Any]]:
    """The term keeping scoped messages of the allow-list ``(keys, wildcard kinds)``."""
    keys, kinds = readable
    terms = ["m.scope IN (SELECT value FROM json_each(?))"]
    params: list[Any] = [json.dumps(list(keys))]
    for kind in kinds:  # Scope keys are JSON arrays: '["run","r7"]' starts '["run",'
        prefix = '["' + kind + '",'
        terms.append("substr(m.scope, 1, ?) = ?")
        params += [len(prefix), prefix]
    return "(" + " OR ".join(terms) + ")", params


def readable_scopes(
    run: str, readable: tuple[tuple[str, ...], tuple[str, ...]]
) -> tuple[str, list[Any]]:
    """The run's message scopes the allow-list reads, sorted (on the ``(run, scope)`` index:
    scopes the viewer may not read, however many, are not visited one by one)."""
    term, params = _readable(readable)
    return (
        "SELECT DISTINCT m.scope FROM conv_messages m "
        f"WHERE m.run = ? AND m.scope IS NOT NULL AND {term} ORDER BY m.scope",
        [run, *params],
    )


# How `sharedmem copy` moves the conversation (see `core.transfer`); ``seq`` is kept.
COPY_TABLES = (
    CopyTable(
        "conv_messages",
        (
            ("seq", "integer"),
            ("run", "text"),
            ("thread", "text"),
            ("msg_id", "text"),
            ("sender", "text"),
            ("recipients", "json_text"),
            ("visibility", "text"),
            ("scope", "text"),
            ("type", "text"),
            ("message", "json_text"),
            ("text", "text"),
            ("tokens", "integer"),
            ("bytes", "integer"),
            ("created_at", "real"),
        ),
        key=("seq",),
        counter="seq",
    ),
    CopyTable(
        "conv_embeddings",
        (
            ("seq", "integer"),
            ("model", "text"),
            ("vector", "bytes"),
        ),
        key=("seq",),
    ),
    CopyTable(
        "conv_summaries",
        (
            ("run", "text"),
            ("thread", "text"),
            ("viewer", "text"),
            ("summarizer", "text"),
            ("readable", "text"),
            ("upto", "integer"),
            ("messages", "integer"),
            ("summary", "text"),
            ("created_at", "real"),
        ),
        key=(
            "run",
            "thread",
            "viewer",
            "summarizer",
            "readable",
            "upto",
        ),
    ),
)
