"""Store tables and the SQL that reads and writes them.

Layout:

* ``mem_items``: one row per item. ``prefix`` is the namespace joined with ``.`` (LangGraph
  forbids ``.`` in labels, so the join is unambiguous and a namespace prefix is a key range:
  ``prefix = 'a.b' OR prefix >= 'a.b.' AND prefix < 'a.b/'``, an index range scan).
  Times are ISO-8601 UTC text; ``expires_at`` is Unix seconds so comparisons are numeric.
* ``mem_vectors``: one row per embedded text of an item (``field`` is the JSON path, with
  ``.N`` appended for the N-th of several texts, as `InMemoryStore` names them). The embedding
  is float32 bytes, ``text_hash`` the SHA-256 of the text, so unchanged text is never embedded
  twice and the Chroma index can be rebuilt from here without calling the embedder.
* ``mem_fts``: FTS5 over the same texts (``rowid`` = ``mem_vectors.id``) for keyword search.
* ``mem_outbox``: the vector change counter and the log of deletions, written in the same
  transaction as the item, so it cannot disagree with the items. Every vector change takes the
  next ``seq`` (AUTOINCREMENT's counter in ``sqlite_sequence``): a written vector keeps it in
  its ``mem_vectors.seq``, a deleted one gets an outbox row. Writers serialize on SQLite's write
  lock, so a reader that sees ``seq = S`` has seen every change up to ``S``. Together they feed
  the Chroma applier and keep each process's in-memory vector cache current. (Writes were
  logged as outbox rows too until a batch put of 1000 items showed one more row and index
  entry per item for information ``mem_vectors`` already held.)
* ``mem_index_state``: per index, the highest ``seq`` applied and the lease (holder, expiry)
  that makes one process at a time the writer of an embedded Chroma directory.
* ``mem_meta``: store-wide constants (store id, embedding dimensions).

`_schema_pg` holds the same statements, under the same names, for PostgreSQL; the store's
logic picks the module by the connection (`sql_of`) or the backend's dialect (`for_dialect`).
"""

from __future__ import annotations

import sqlite3
import sys
from types import ModuleType
from typing import Any

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("langgraph_sharedmem.store")


@MIGRATIONS(name="0001_store_tables")
def _m0001(db: _SUDatabase) -> None:
    db.executescript(
        """
        CREATE TABLE mem_items (
            prefix TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            expires_at REAL,
            ttl_minutes REAL,
            PRIMARY KEY (prefix, key)
        );
        CREATE INDEX mem_items_expires_at ON mem_items (expires_at)
            WHERE expires_at IS NOT NULL;
        CREATE TABLE mem_vectors (
            id INTEGER PRIMARY KEY,
            prefix TEXT NOT NULL,
            key TEXT NOT NULL,
            field TEXT NOT NULL,
            text_hash BLOB NOT NULL,
            embedding BLOB NOT NULL,
            seq INTEGER NOT NULL,
            UNIQUE (prefix, key, field)
        );
        CREATE INDEX mem_vectors_seq ON mem_vectors (seq);
        CREATE VIRTUAL TABLE mem_fts USING fts5 (
            text, tokenize = 'unicode61 remove_diacritics 0'
        );
        CREATE TABLE mem_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
            prefix TEXT NOT NULL,
            key TEXT NOT NULL,
            field TEXT NOT NULL
        );
        CREATE TABLE mem_index_state (
            name TEXT PRIMARY KEY,
            applied_seq INTEGER NOT NULL DEFAULT 0,
            holder TEXT,
            lease_expires REAL
        );
        CREATE TABLE mem_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO mem_meta (key, value) VALUES ('store_id', lower(hex(randomblob(8))));
        INSERT INTO mem_meta (key, value) VALUES ('log_floor', '0');
        """
    )


ITEM_COLUMNS = "i.prefix, i.key, i.value, i.created_at, i.updated_at, i.ttl_minutes"

GET_ITEM = """
SELECT value, created_at, updated_at, expires_at, ttl_minutes FROM mem_items
WHERE prefix = ? AND key = ?
"""

# Items named by a JSON array of [prefix, key] pairs, in one statement.
SELECT_ITEMS_BY_PAIRS = f"""
SELECT {ITEM_COLUMNS} FROM json_each(?) AS j
JOIN mem_items AS i ON i.prefix = j.value ->> 0 AND i.key = j.value ->> 1
"""

UPSERT_ITEM = """
INSERT INTO mem_items (prefix, key, value, created_at, updated_at, expires_at, ttl_minutes)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (prefix, key) DO UPDATE SET
    value = excluded.value, updated_at = excluded.updated_at,
    expires_at = excluded.expires_at, ttl_minutes = excluded.ttl_minutes
"""

DELETE_ITEM = "DELETE FROM mem_items WHERE prefix = ? AND key = ?"

REFRESH_TTL = """
UPDATE mem_items SET expires_at = ? + ttl_minutes * 60.0
WHERE prefix = ? AND key = ? AND ttl_minutes IS NOT NULL
"""

# Vectors of the items named by a JSON array of [prefix, key] pairs.
SELECT_VECTORS_BY_PAIRS = """
SELECT v.id, v.prefix, v.key, v.field, v.text_hash, v.embedding FROM json_each(?) AS j
JOIN mem_vectors AS v ON v.prefix = j.value ->> 0 AND v.key = j.value ->> 1
"""

SELECT_VECTOR_HASHES_BY_PAIRS = """
SELECT v.id, v.prefix, v.key, v.field, v.text_hash FROM json_each(?) AS j
JOIN mem_vectors AS v ON v.prefix = j.value ->> 0 AND v.key = j.value ->> 1
"""

MAX_VECTOR_ID = "SELECT coalesce(max(id), 0) FROM mem_vectors"

UPSERT_VECTOR = """
INSERT INTO mem_vectors (id, prefix, key, field, text_hash, embedding, seq)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (prefix, key, field) DO UPDATE SET
    text_hash = excluded.text_hash, embedding = excluded.embedding, seq = excluded.seq
"""

DELETE_VECTOR = "DELETE FROM mem_vectors WHERE id = ?"
DELETE_FTS = "DELETE FROM mem_fts WHERE rowid = ?"
INSERT_FTS = "INSERT INTO mem_fts (rowid, text) VALUES (?, ?)"

CURRENT_SEQ = "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'mem_outbox'), 0)"
INSERT_OUTBOX = "INSERT INTO mem_outbox (seq, op, prefix, key, field) VALUES (?, ?, ?, ?, ?)"
# A written vector takes its seq without an outbox row (its mem_vectors row carries it), so
# the counter is moved by hand; SQLite documents sqlite_sequence as writable.
BUMP_SEQ = "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'mem_outbox'"
START_SEQ = "INSERT INTO sqlite_sequence (name, seq) VALUES ('mem_outbox', ?)"

# The vector cache catches up from here: rows changed since, and deletions since.
SELECT_VECTORS_SINCE = """
SELECT prefix, key, field, embedding, seq FROM mem_vectors WHERE seq > ? ORDER BY seq
"""
SELECT_ALL_VECTORS = "SELECT prefix, key, field, embedding, seq FROM mem_vectors"
SELECT_DELETES_SINCE = """
SELECT prefix, key, field FROM mem_outbox WHERE seq > ? AND op = 'delete' ORDER BY seq
"""

# What a semantic search reads first, in one statement: the newest change (to catch the
# vector cache up to), the oldest change still logged, and whether any item has expired.
SNAPSHOT = """
SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'mem_outbox'), 0),
       (SELECT value FROM mem_meta WHERE key = 'log_floor'),
       EXISTS (SELECT 1 FROM mem_items WHERE expires_at IS NOT NULL AND expires_at <= ?)
"""

GET_META = "SELECT value FROM mem_meta WHERE key = ?"
SET_META = "INSERT OR REPLACE INTO mem_meta (key, value) VALUES (?, ?)"

# Expired items and everything hanging off them, in one transaction per sweep.
SELECT_EXPIRED = """
SELECT prefix, key FROM mem_items WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT ?
"""
ANY_EXPIRED = "SELECT 1 FROM mem_items WHERE expires_at IS NOT NULL AND expires_at <= ? LIMIT 1"

# Distinct namespaces by skip-scan over the primary key: one index seek per namespace
# instead of a pass over every item (500 namespaces of 50k items: ~1 ms instead of ~10).
SELECT_PREFIXES = """
WITH RECURSIVE p (x) AS (
    SELECT (SELECT min(prefix) FROM mem_items WHERE prefix >= :lo AND prefix < :hi)
    UNION ALL
    SELECT (SELECT min(prefix) FROM mem_items WHERE prefix > p.x AND prefix < :hi)
    FROM p WHERE p.x IS NOT NULL
)
SELECT x FROM p WHERE x IS NOT NULL
"""
PREFIX_HAS_LIVE_ITEM = """
SELECT 1 FROM mem_items WHERE prefix = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1
"""

INDEX_STATE = "SELECT applied_seq, holder, lease_expires FROM mem_index_state WHERE name = ?"
ENSURE_INDEX_STATE = "INSERT OR IGNORE INTO mem_index_state (name, applied_seq) VALUES (?, 0)"
TAKE_LEASE = """
UPDATE mem_index_state SET holder = :me, lease_expires = :until
WHERE name = :name AND (holder IS NULL OR holder = :me OR lease_expires < :now)
"""
RELEASE_LEASE = """
UPDATE mem_index_state SET holder = NULL, lease_expires = NULL WHERE name = ? AND holder = ?
"""
SET_APPLIED = """
UPDATE mem_index_state SET applied_seq = max(applied_seq, ?) WHERE name = ? AND holder = ?
"""
RESET_APPLIED = "UPDATE mem_index_state SET applied_seq = ? WHERE name = ? AND holder = ?"
# What changed in (lo, hi]: vectors written there (their row carries the seq) and deletions
# logged there. Rows logged as 'upsert' by earlier versions are read too.
PENDING_KEYS = """
SELECT prefix, key, field FROM mem_outbox WHERE seq > :lo AND seq <= :hi
UNION
SELECT prefix, key, field FROM mem_vectors WHERE seq > :lo AND seq <= :hi
"""
MIN_APPLIED = "SELECT min(applied_seq) FROM mem_index_state"
PRUNE_OUTBOX = "DELETE FROM mem_outbox WHERE seq <= ?"

# `_search`'s statements; ``{where}`` is the search's scope (`_search._scope`).
SEARCH_ITEMS = f"""
SELECT {ITEM_COLUMNS} FROM mem_items AS i WHERE {{where}}
ORDER BY i.updated_at DESC, i.prefix, i.key LIMIT ? OFFSET ?
"""
SEARCH_UNVECTORED = f"""
SELECT {ITEM_COLUMNS} FROM mem_items AS i WHERE {{where}} AND NOT EXISTS
(SELECT 1 FROM mem_vectors AS v WHERE v.prefix = i.prefix AND v.key = i.key)
ORDER BY i.updated_at DESC, i.prefix, i.key LIMIT ? OFFSET ?
"""
SCOPE_ITEMS = "SELECT i.prefix, i.key FROM mem_items AS i WHERE {where}"
LIVE = "(i.expires_at IS NULL OR i.expires_at > ?)"
IN_PREFIX = "(i.prefix = ? OR (i.prefix >= ? AND i.prefix < ?))"

DIALECT = "sqlite"


def sql_of(conn: Any) -> ModuleType:
    """The SQL of ``conn``'s dialect: this module for SQLite, `_schema_pg` for PostgreSQL
    (imported on first use: it needs psycopg, which SQLite users may lack)."""
    if isinstance(conn, sqlite3.Connection):
        return sys.modules[__name__]
    from langgraph_sharedmem.store import _schema_pg

    return _schema_pg


def for_dialect(dialect: str) -> ModuleType:
    """The SQL of a backend's ``dialect``."""
    if dialect == "sqlite":
        return sys.modules[__name__]
    from langgraph_sharedmem.store import _schema_pg

    return _schema_pg
