"""Store tables and SQL on PostgreSQL: the statements of `_schema`, under the same names.

The layout is SQLite's (see `_schema`); the store's logic picks this module by the
connection's dialect (`_schema.sql_of`). What differs:

* ``%s`` / ``%(name)s`` placeholders, ``ON CONFLICT`` for ``INSERT OR IGNORE/REPLACE``,
  ``RETURNING`` where the logic needs to know a row was changed (in pipeline mode a
  ``rowcount`` is unknown until a result is read);
* ``mem_items`` keeps the value's exact JSON text (``value``, what reads return: jsonb would
  reorder keys and turn ``1e20`` into an int) and a ``jsonb`` copy (``doc``) that filters
  read (`_filters_pg`). The few values jsonb cannot hold (a NUL or a lone surrogate in a
  string) get a ``doc`` with those characters replaced by U+FFFD (`doc_text`);
* key columns and times use the "C" collation: byte order, as SQLite's, whatever the
  database's locale, so a namespace prefix is the same key range and pages the same order;
* no FTS5: each vector row carries its text's tokens as FTS5's ``unicode61`` tokenizer makes
  them (`fts_tokens`: runs of letters and digits, lower-cased) in ``tokens text[]`` under a
  GIN index, and a rare query token is matched as the same phrase FTS5 would match, so the
  keyword evidence of `_ranking` -- and thus every hybrid score -- is SQLite's;
* the change counter is the row of ``mem_seq`` (SQLite keeps it in ``sqlite_sequence``).
  Writers of the store hold the advisory transaction lock `WRITE_LOCK` while they take
  ``seq`` numbers, so numbers are taken in commit order and a reader that sees ``seq = S``
  has seen every change up to ``S`` -- what SQLite's single write lock gives for free.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langgraph_sharedmem.core.postgres import PostgresMigrations, advisory_key

DIALECT = "postgres"
PARAM = "%s"

_KEY = 'text COLLATE "C" NOT NULL'

MIGRATIONS = PostgresMigrations(
    "langgraph_sharedmem.store",
    [
        (
            "0001_store_tables",
            (
                f"""CREATE TABLE mem_items (
                    prefix {_KEY},
                    key {_KEY},
                    value text NOT NULL,
                    doc jsonb NOT NULL,
                    created_at {_KEY},
                    updated_at {_KEY},
                    expires_at double precision,
                    ttl_minutes double precision,
                    PRIMARY KEY (prefix, key)
                )""",
                "CREATE INDEX mem_items_expires_at ON mem_items (expires_at) "
                "WHERE expires_at IS NOT NULL",
                f"""CREATE TABLE mem_vectors (
                    id bigint PRIMARY KEY,
                    prefix {_KEY},
                    key {_KEY},
                    field {_KEY},
                    text_hash bytea NOT NULL,
                    embedding bytea NOT NULL,
                    seq bigint NOT NULL,
                    tokens text[] NOT NULL,
                    UNIQUE (prefix, key, field)
                )""",
                "CREATE INDEX mem_vectors_seq ON mem_vectors (seq)",
                "CREATE INDEX mem_vectors_tokens ON mem_vectors USING gin (tokens)",
                f"""CREATE TABLE mem_outbox (
                    seq bigint PRIMARY KEY,
                    op text NOT NULL CHECK (op IN ('upsert', 'delete')),
                    prefix {_KEY},
                    key {_KEY},
                    field {_KEY}
                )""",
                """CREATE TABLE mem_seq (
                    id integer PRIMARY KEY CHECK (id = 1),
                    seq bigint NOT NULL
                )""",
                "INSERT INTO mem_seq (id, seq) VALUES (1, 0)",
                """CREATE TABLE mem_index_state (
                    name text PRIMARY KEY,
                    applied_seq bigint NOT NULL DEFAULT 0,
                    holder text,
                    lease_expires double precision
                )""",
                "CREATE TABLE mem_meta (key text PRIMARY KEY, value text NOT NULL)",
                "INSERT INTO mem_meta (key, value) VALUES "
                "('store_id', substr(md5(random()::text || clock_timestamp()::text), 1, 16)), "
                "('log_floor', '0')",
            ),
        ),
    ],
    tables=("mem_items", "mem_vectors", "mem_outbox", "mem_seq", "mem_index_state", "mem_meta"),
)

# Held (until commit) by every writer that takes seq numbers: see the module docstring.
WRITE_LOCK = advisory_key("langgraph_sharedmem.store", "seq")
TAKE_WRITE_LOCK = "SELECT pg_advisory_xact_lock(%s)"

ITEM_COLUMNS = "i.prefix, i.key, i.value, i.created_at, i.updated_at, i.ttl_minutes"

GET_ITEM = """
SELECT value, created_at, updated_at, expires_at, ttl_minutes FROM mem_items
WHERE prefix = %s AND key = %s
"""

SELECT_ITEMS_BY_PAIRS = f"""
SELECT {ITEM_COLUMNS} FROM jsonb_array_elements(%s::jsonb) AS j
JOIN mem_items AS i ON i.prefix = j ->> 0 AND i.key = j ->> 1
"""

# Items of a batch in one statement: a JSON array of [prefix, key, value, doc (null: the value
# itself), stamp, expires_at, ttl_minutes] rows (one orjson call; psycopg's text arrays
# escape each element in Python, which was half a batch put's time). plan_puts leaves one
# row per (prefix, key). The array is read as jsonb: parsed once, where json's operators
# parse each row's text again (the statement took twice as long).
UPSERT_ITEMS = """
INSERT INTO mem_items (prefix, key, value, doc, created_at, updated_at, expires_at, ttl_minutes)
SELECT j ->> 0, j ->> 1, j ->> 2, coalesce(j ->> 3, j ->> 2)::jsonb, j ->> 4, j ->> 4,
       (j ->> 5)::float8, (j ->> 6)::float8
FROM jsonb_array_elements(%s::jsonb) AS j
ON CONFLICT (prefix, key) DO UPDATE SET
    value = excluded.value, doc = excluded.doc, updated_at = excluded.updated_at,
    expires_at = excluded.expires_at, ttl_minutes = excluded.ttl_minutes
"""
DELETE_ITEMS = """
DELETE FROM mem_items AS i USING jsonb_array_elements(%s::jsonb) AS j
WHERE i.prefix = j ->> 0 AND i.key = j ->> 1
"""

REFRESH_TTL = """
UPDATE mem_items SET expires_at = %s + ttl_minutes * 60.0
WHERE prefix = %s AND key = %s AND ttl_minutes IS NOT NULL
"""

SELECT_VECTORS_BY_PAIRS = """
SELECT v.id, v.prefix, v.key, v.field, v.text_hash, v.embedding
FROM jsonb_array_elements(%s::jsonb) AS j
JOIN mem_vectors AS v ON v.prefix = j ->> 0 AND v.key = j ->> 1
"""

SELECT_VECTOR_HASHES_BY_PAIRS = """
SELECT v.id, v.prefix, v.key, v.field, v.text_hash FROM jsonb_array_elements(%s::jsonb) AS j
JOIN mem_vectors AS v ON v.prefix = j ->> 0 AND v.key = j ->> 1
"""

MAX_VECTOR_ID = "SELECT coalesce(max(id), 0) FROM mem_vectors"

UPSERT_VECTOR = """
INSERT INTO mem_vectors (id, prefix, key, field, text_hash, embedding, seq, tokens)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (prefix, key, field) DO UPDATE SET
    text_hash = excluded.text_hash, embedding = excluded.embedding, seq = excluded.seq,
    tokens = excluded.tokens
"""

DELETE_VECTOR = "DELETE FROM mem_vectors WHERE id = %s"

CURRENT_SEQ = "SELECT seq FROM mem_seq WHERE id = 1"
INSERT_OUTBOX = "INSERT INTO mem_outbox (seq, op, prefix, key, field) VALUES (%s, %s, %s, %s, %s)"
BUMP_SEQ = "UPDATE mem_seq SET seq = greatest(seq, %s) WHERE id = 1"

SELECT_VECTORS_SINCE = """
SELECT prefix, key, field, embedding, seq FROM mem_vectors WHERE seq > %s ORDER BY seq
"""
SELECT_ALL_VECTORS = "SELECT prefix, key, field, embedding, seq FROM mem_vectors"
SELECT_DELETES_SINCE = """
SELECT prefix, key, field FROM mem_outbox WHERE seq > %s AND op = 'delete' ORDER BY seq
"""

# Whether any item has expired is asked as min(expires_at): an index lookup. Asked as
# EXISTS or a LIMIT 1, the planner (without statistics on a young table) chose a scan of
# every item, 1.3 ms at 20k items on each search.
SNAPSHOT = """
SELECT (SELECT seq FROM mem_seq WHERE id = 1),
       (SELECT value FROM mem_meta WHERE key = 'log_floor'),
       coalesce((SELECT min(expires_at) FROM mem_items) <= %s, false)
"""

GET_META = "SELECT value FROM mem_meta WHERE key = %s"
SET_META = """
INSERT INTO mem_meta (key, value) VALUES (%s, %s)
ON CONFLICT (key) DO UPDATE SET value = excluded.value
"""

SELECT_EXPIRED = """
SELECT prefix, key FROM mem_items WHERE expires_at IS NOT NULL AND expires_at <= %s
ORDER BY expires_at LIMIT %s
"""
ANY_EXPIRED = """
SELECT 1 FROM mem_items WHERE expires_at IS NOT NULL AND expires_at <= %s
ORDER BY expires_at LIMIT 1
"""

SELECT_PREFIXES = """
WITH RECURSIVE p (x) AS (
    SELECT (SELECT min(prefix) FROM mem_items WHERE prefix >= %(lo)s AND prefix < %(hi)s)
    UNION ALL
    SELECT (SELECT min(prefix) FROM mem_items WHERE prefix > p.x AND prefix < %(hi)s)
    FROM p WHERE p.x IS NOT NULL
)
SELECT x FROM p WHERE x IS NOT NULL
"""
PREFIX_HAS_LIVE_ITEM = """
SELECT 1 FROM mem_items WHERE prefix = %s AND (expires_at IS NULL OR expires_at > %s) LIMIT 1
"""

INDEX_STATE = "SELECT applied_seq, holder, lease_expires FROM mem_index_state WHERE name = %s"
ENSURE_INDEX_STATE = """
INSERT INTO mem_index_state (name, applied_seq) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING
"""
TAKE_LEASE = """
UPDATE mem_index_state SET holder = %(me)s, lease_expires = %(until)s
WHERE name = %(name)s AND (holder IS NULL OR holder = %(me)s OR lease_expires < %(now)s)
RETURNING 1
"""
RELEASE_LEASE = """
UPDATE mem_index_state SET holder = NULL, lease_expires = NULL WHERE name = %s AND holder = %s
"""
SET_APPLIED = """
UPDATE mem_index_state SET applied_seq = greatest(applied_seq, %s)
WHERE name = %s AND holder = %s RETURNING 1
"""
RESET_APPLIED = "UPDATE mem_index_state SET applied_seq = %s WHERE name = %s AND holder = %s"
PENDING_KEYS = """
SELECT prefix, key, field FROM mem_outbox WHERE seq > %(lo)s AND seq <= %(hi)s
UNION
SELECT prefix, key, field FROM mem_vectors WHERE seq > %(lo)s AND seq <= %(hi)s
"""
MIN_APPLIED = "SELECT min(applied_seq) FROM mem_index_state"
PRUNE_OUTBOX = "DELETE FROM mem_outbox WHERE seq <= %s"

# `_index`'s statements (module constants there on SQLite).
SELECT_CURRENT_VECTORS = """
SELECT v.prefix, v.key, v.field, v.text_hash, v.embedding, v.seq
FROM jsonb_array_elements(%s::jsonb) AS j
JOIN mem_vectors AS v ON v.prefix = j ->> 0 AND v.key = j ->> 1 AND v.field = j ->> 2
"""
SELECT_ALL_VECTOR_ROWS = "SELECT prefix, key, field, text_hash, embedding, seq FROM mem_vectors"
SELECT_VECTOR_HASHES = "SELECT prefix, key, field, text_hash, seq FROM mem_vectors"

# `_search`'s statements; ``{where}`` is the search's scope (`_search._scope`).
SEARCH_ITEMS = f"""
SELECT {ITEM_COLUMNS} FROM mem_items AS i WHERE {{where}}
ORDER BY i.updated_at DESC, i.prefix, i.key LIMIT %s OFFSET %s
"""
SEARCH_UNVECTORED = f"""
SELECT {ITEM_COLUMNS} FROM mem_items AS i WHERE {{where}} AND NOT EXISTS
(SELECT 1 FROM mem_vectors AS v WHERE v.prefix = i.prefix AND v.key = i.key)
ORDER BY i.updated_at DESC, i.prefix, i.key LIMIT %s OFFSET %s
"""
SCOPE_ITEMS = "SELECT i.prefix, i.key FROM mem_items AS i WHERE {where}"
LIVE = "(i.expires_at IS NULL OR i.expires_at > %s)"
IN_PREFIX = "(i.prefix = %s OR (i.prefix >= %s AND i.prefix < %s))"


# -- rare tokens: FTS5's unicode61 tokenizer, in Python ---------------------------------------

# unicode61 (remove_diacritics 0) makes tokens of runs of letters and digits (categories L*
# and N*) and folds case; "_" and everything else separates. ``[^\W_]`` is that class.
_FTS_TOKEN = re.compile(r"[^\W_]+")


def fts_tokens(text: str) -> list[str]:
    """The tokens FTS5's ``unicode61`` tokenizer makes of ``text``, in order."""
    return _FTS_TOKEN.findall(text.lower())


def token_match(token: str) -> tuple[str, list[Any]] | None:
    """A condition on ``mem_vectors AS v`` true where FTS5 would match the query token
    ``token`` (a ``\\w+`` run, quoted as one phrase): its tokens in a row. None: nothing
    matches (a token of underscores is an empty phrase, which FTS5 matches nowhere)."""
    phrase = fts_tokens(token)
    if not phrase:
        return None
    if len(phrase) == 1:
        return "v.tokens @> %s::text[]", [phrase]
    return (
        "v.tokens @> %s::text[] AND EXISTS (SELECT 1 FROM generate_subscripts(v.tokens, 1) "
        "AS g (n) WHERE v.tokens[g.n : g.n + %s] = %s::text[])",
        [phrase, len(phrase) - 1, phrase],
    )


def count_token(conn: Any, token: str, cap: int) -> int:
    """Texts holding ``token`` as FTS5 would count them, up to ``cap``."""
    match = token_match(token)
    if match is None:
        return 0
    sql, params = match
    row = conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM mem_vectors AS v WHERE {sql} LIMIT %s) AS c",
        [*params, cap],
    ).fetchone()
    return int(row[0])


def token_items(conn: Any, token: str, where: str, params: list[Any]) -> list[tuple[str, str]]:
    """Items in the search's scope (``where`` over ``mem_items AS i``) with a text holding
    ``token``."""
    match = token_match(token)
    if match is None:
        return []
    sql, match_params = match
    return [
        (p, k)
        for p, k in conn.execute(
            "SELECT DISTINCT v.prefix, v.key FROM mem_vectors AS v"
            " JOIN mem_items AS i ON i.prefix = v.prefix AND i.key = v.key"
            f" WHERE {sql} AND {where}",
            [*match_params, *params],
        )
    ]


# -- values ------------------------------------------------------------------------------------

_UNSAFE = re.compile(r"\\u0000|\\u[dD][89abAB][0-9a-fA-F]{2}|\\u[dD][c-fC-F][0-9a-fA-F]{2}")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(obj: Any) -> Any:
    if isinstance(obj, str):
        return _SURROGATE.sub("\ufffd", obj.replace("\x00", "\ufffd"))
    if isinstance(obj, dict):
        return {_clean(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def doc_text(value: str) -> str | None:
    """The JSON text for ``mem_items.doc``, or None when it is ``value`` itself.

    jsonb refuses a NUL character (``\\u0000``) and lone surrogates; the few values holding
    them (``\\u`` escapes are rare: the encoders write UTF-8) are filtered with those
    characters replaced by U+FFFD. A valid surrogate pair also lands here and reads back
    unchanged."""
    if "\\u" not in value or not _UNSAFE.search(value):
        return None
    return json.dumps(_clean(json.loads(value)), ensure_ascii=False)
