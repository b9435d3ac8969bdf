"""Checkpointer tables and SQL on PostgreSQL: the statements of `_schema`, same names.

The layout is SQLite's (see `_schema`): one row per checkpoint, one per channel version, list
segments, pending writes. What differs:

* ``%s`` / ``%(name)s`` placeholders; ``ON CONFLICT`` for ``INSERT OR IGNORE/REPLACE``;
* blobs are ``bytea``; ``channel_versions``, ``metadata`` and ``null_channels`` are ``json``
  since step 0003: the saver's compact text, smaller than ``jsonb``, cast to ``jsonb`` where
  SQL looks inside (and refused at put where ``jsonb`` would refuse), read back as text so
  the saver decodes them as on SQLite; a channel ``version`` is ``jsonb``, because
  LangGraph versions may be strings, ints or floats and must compare as such, as SQLite's
  typeless column does; the saver passes versions through `version` (JSON text);
* key columns use the "C" collation: byte order, as SQLite's, whatever the database's locale
  (``ORDER BY task_path`` decides the order LangGraph replays writes in);
* a recursive CTE cannot ``LIMIT`` its recursive term here, so the ancestor walk counts levels;
* `lock_thread`: writers that rewrite a thread's history (prune, delete, copy) hold the
  thread's advisory transaction lock exclusive; puts and task writes hold it shared (since
  step 0004), so a new list segment never loses its base to a concurrent prune in another
  process and a task's writes never interleave with a copy into the thread, while a put and
  its task's writes never wait for each other. Writes to different threads never wait.
* `PUT_CHECKPOINT` and `PUT_WRITES` (functions the migrations create) store a checkpoint or
  a task's writes in one statement: one round trip, no ``BEGIN``/``COMMIT`` of their own;
  `SELECT_TUPLE`/`SELECT_LATEST_TUPLE` read one back the same way.
* `put_checkpoint`, `put_writes` and `select_tuple` run those statements on the database's lean
  path (`PostgresDatabase.run_prepared`: prepared once per connection, parameters encoded here
  in binary, results decoded here), at a fraction of psycopg's client CPU per call;
* ``writes`` has no unique key since step 0003, only an index by checkpoint (half the bytes):
  its writers hold the task's advisory lock (`lock_task`) while they check what is stored.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Sequence
from typing import Any

from langgraph_sharedmem.core.postgres import PostgresMigrations, Prepared, advisory_key
from langgraph_sharedmem.errors import InvalidConfigError

PARAM = "%s"

_KEY = 'text COLLATE "C" NOT NULL'

# A checkpoint write in one round trip and one implicit transaction: the thread's lock, every
# new channel version, the checkpoint row. A list segment extends a base row that another
# process may have pruned or rewritten meanwhile, so every base is checked (under the lock)
# before anything is written; if one is gone, nothing is written and -1 marks it, and the
# saver stores that checkpoint again the slow way, with the list whole. Otherwise the result
# holds, per value in order, 1 for a row inserted and 0 for one that was already there.
# The values travel as one JSON array (blobs in base64): psycopg adapts a JSON string in C,
# arrays of parameters in Python, at about a third of a put's client time.
_PUT_CHECKPOINT_FUNCTION = """
CREATE FUNCTION langgraph_sharedmem_put_checkpoint(
    lock_key bigint, p_thread text, p_ns text, p_id text, p_parent text, p_run text,
    p_type text, p_checkpoint bytea, p_versions jsonb, p_metadata jsonb, p_values jsonb
) RETURNS integer[] LANGUAGE plpgsql AS $$
DECLARE
    v record;
    i integer := 0;
    status integer[] := '{}';
    missing boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    FOR v IN SELECT * FROM jsonb_to_recordset(p_values) AS x (channel text, version jsonb,
        base_version jsonb, base_token text) LOOP
        IF v.base_token IS NULL OR EXISTS (
            SELECT 1 FROM channel_values
            WHERE thread_id = p_thread AND checkpoint_ns = p_ns AND channel = v.channel
              AND version = v.base_version AND kind = 'list'
              AND segment_token = decode(v.base_token, 'base64')) THEN
            status := status || 0;
        ELSE
            status := status || -1;
            missing := true;
        END IF;
    END LOOP;
    IF missing THEN
        RETURN status;
    END IF;
    FOR v IN SELECT * FROM jsonb_to_recordset(p_values) AS x (channel text, version jsonb,
        kind text, type text, value text, base_version jsonb, base_len integer, depth integer,
        token text) LOOP
        i := i + 1;
        INSERT INTO channel_values (thread_id, checkpoint_ns, channel, version, kind, type,
            value, base_version, base_len, depth, segment_token)
        VALUES (p_thread, p_ns, v.channel, v.version, v.kind, v.type,
            decode(v.value, 'base64'), v.base_version, v.base_len, v.depth,
            decode(v.token, 'base64'))
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            status[i] := 1;
        END IF;
    END LOOP;
    INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,
        run_id, type, checkpoint, channel_versions, metadata)
    VALUES (p_thread, p_ns, p_id, p_parent, p_run, p_type, p_checkpoint, p_versions,
        p_metadata)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
        parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, run_id = EXCLUDED.run_id,
        type = EXCLUDED.type, checkpoint = EXCLUDED.checkpoint,
        channel_versions = EXCLUDED.channel_versions, metadata = EXCLUDED.metadata;
    RETURN status;
END
$$
"""

# Step 0002's function as 0003 replaces it: the checkpoint row also names its channels whose
# value is None (``null_channels``), which then have no ``channel_values`` row.
_PUT_CHECKPOINT_FUNCTION_V2 = """
CREATE FUNCTION langgraph_sharedmem_put_checkpoint(
    lock_key bigint, p_thread text, p_ns text, p_id text, p_parent text, p_run text,
    p_type text, p_checkpoint bytea, p_versions json, p_metadata json, p_nulls json,
    p_values jsonb
) RETURNS integer[] LANGUAGE plpgsql AS $$
DECLARE
    v record;
    i integer := 0;
    status integer[] := '{}';
    missing boolean := false;
BEGIN
    -- Stored as json, the compact text the saver wrote; refused as before where jsonb
    -- refuses (NUL, lone surrogates), so every row can still be read as jsonb.
    PERFORM p_versions::jsonb, p_metadata::jsonb;
    PERFORM pg_advisory_xact_lock(lock_key);
    FOR v IN SELECT * FROM jsonb_to_recordset(p_values) AS x (channel text, version jsonb,
        base_version jsonb, base_token text) LOOP
        IF v.base_token IS NULL OR EXISTS (
            SELECT 1 FROM channel_values
            WHERE thread_id = p_thread AND checkpoint_ns = p_ns AND channel = v.channel
              AND version = v.base_version AND kind = 'list'
              AND segment_token = decode(v.base_token, 'base64')) THEN
            status := status || 0;
        ELSE
            status := status || -1;
            missing := true;
        END IF;
    END LOOP;
    IF missing THEN
        RETURN status;
    END IF;
    FOR v IN SELECT * FROM jsonb_to_recordset(p_values) AS x (channel text, version jsonb,
        kind text, type text, value text, base_version jsonb, base_len integer, depth integer,
        token text) LOOP
        i := i + 1;
        INSERT INTO channel_values (thread_id, checkpoint_ns, channel, version, kind, type,
            value, base_version, base_len, depth, segment_token)
        VALUES (p_thread, p_ns, v.channel, v.version, v.kind, v.type,
            decode(v.value, 'base64'), v.base_version, v.base_len, v.depth,
            decode(v.token, 'base64'))
        ON CONFLICT DO NOTHING;
        IF FOUND THEN
            status[i] := 1;
        END IF;
    END LOOP;
    INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id,
        run_id, type, checkpoint, channel_versions, metadata, null_channels)
    VALUES (p_thread, p_ns, p_id, p_parent, p_run, p_type, p_checkpoint, p_versions,
        p_metadata, p_nulls)
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
        parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, run_id = EXCLUDED.run_id,
        type = EXCLUDED.type, checkpoint = EXCLUDED.checkpoint,
        channel_versions = EXCLUDED.channel_versions, metadata = EXCLUDED.metadata,
        null_channels = EXCLUDED.null_channels;
    RETURN status;
END
$$
"""

# A task's writes in one round trip, as their own transaction. Under the task's advisory
# lock: with no regular write of the task stored yet (the usual case), its regular writes go in
# as one row (`_writes`: the first in the columns, the others packed in ``more``); with some
# already stored, nothing is written and false is returned, and the saver merges them the
# slow way (regular writes keep what was stored first: a retried task must not change
# history). Special writes (idx < 0: errors, interrupts, resumes) replace, one row each.
_PUT_WRITES_FUNCTION = """
CREATE FUNCTION langgraph_sharedmem_put_writes(
    lock_key bigint, p_thread text, p_ns text, p_id text, p_task text, p_path text,
    p_idx integer, p_channel text, p_type text, p_value bytea, p_more bytea, p_special jsonb
) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_key);
    IF p_idx IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM writes WHERE thread_id = p_thread AND checkpoint_ns = p_ns
                AND checkpoint_id = p_id AND right(task_id, 2) = right(p_task, 2)
                AND task_id = p_task AND idx >= 0) THEN
            RETURN false;
        END IF;
        INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel,
            type, value, task_path, more)
        VALUES (p_thread, p_ns, p_id, p_task, p_idx, p_channel, p_type, p_value, p_path,
            p_more);
    END IF;
    IF p_special IS NOT NULL THEN
        DELETE FROM writes WHERE thread_id = p_thread AND checkpoint_ns = p_ns
            AND checkpoint_id = p_id AND right(task_id, 2) = right(p_task, 2)
            AND task_id = p_task
            AND idx IN (SELECT (w ->> 'idx')::integer FROM jsonb_array_elements(p_special) AS w);
        INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel,
            type, value, task_path)
        SELECT p_thread, p_ns, p_id, p_task, w.idx, w.channel, w.type,
            decode(w.value, 'base64'), p_path
        FROM jsonb_to_recordset(p_special) AS w (idx integer, channel text, type text,
            value text);
    END IF;
    RETURN true;
END
$$
"""


def _edited(sql: str, *edits: tuple[str, str]) -> str:
    """``sql`` with each ``(old, new)`` replaced once: a released step's function, changed."""
    for old, new in edits:
        assert sql.count(old) == 1, old
        sql = sql.replace(old, new)
    return sql


# Step 0004: puts and task writes hold the thread's lock shared, the writers that rewrite a
# thread (prune, delete, copy) exclusive. A put and its task's writes, which LangGraph runs at
# once, still never wait for each other, and neither interleaves with a copy into the thread:
# a task's writes stored while a copy replaced that task's rows were kept beside the copied
# ones, twice. `put_writes` gains the thread's key; the 12-argument form stays for processes
# started before the step, which go on as before until they restart.
_PUT_CHECKPOINT_FUNCTION_V3 = _edited(
    _PUT_CHECKPOINT_FUNCTION_V2,
    ("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"),
    ("pg_advisory_xact_lock(lock_key)", "pg_advisory_xact_lock_shared(lock_key)"),
)
_PUT_WRITES_FUNCTION_V2 = _edited(
    _PUT_WRITES_FUNCTION,
    ("    lock_key bigint, p_thread", "    thread_key bigint, lock_key bigint, p_thread"),
    (
        "    PERFORM pg_advisory_xact_lock(lock_key);",
        "    PERFORM pg_advisory_xact_lock_shared(thread_key);\n"
        "    PERFORM pg_advisory_xact_lock(lock_key);",
    ),
)


MIGRATIONS = PostgresMigrations(
    "langgraph_sharedmem.checkpoint",
    [
        (
            "0001_checkpoint_tables",
            (
                f"""CREATE TABLE checkpoints (
                    thread_id {_KEY},
                    checkpoint_ns {_KEY},
                    checkpoint_id {_KEY},
                    parent_checkpoint_id text COLLATE "C",
                    run_id text,
                    type text NOT NULL,
                    checkpoint bytea NOT NULL,
                    channel_versions jsonb NOT NULL,
                    metadata jsonb NOT NULL,
                    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
                )""",
                "CREATE INDEX checkpoints_run_id ON checkpoints (run_id) WHERE run_id IS NOT NULL",
                f"""CREATE TABLE channel_values (
                    thread_id {_KEY},
                    checkpoint_ns {_KEY},
                    channel {_KEY},
                    version jsonb NOT NULL,
                    kind text NOT NULL CHECK (kind IN ('value', 'empty', 'list')),
                    type text,
                    value bytea,
                    base_version jsonb,
                    base_len integer,
                    depth integer NOT NULL DEFAULT 0,
                    segment_token bytea,
                    PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
                )""",
                f"""CREATE TABLE writes (
                    thread_id {_KEY},
                    checkpoint_ns {_KEY},
                    checkpoint_id {_KEY},
                    task_id {_KEY},
                    idx integer NOT NULL,
                    channel text NOT NULL,
                    type text,
                    value bytea,
                    task_path text COLLATE "C" NOT NULL DEFAULT '',
                    PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
                )""",
            ),
        ),
        ("0002_one_statement_put", (_PUT_CHECKPOINT_FUNCTION,)),
        (
            "0003_null_channels_packed_writes",
            (
                "ALTER TABLE checkpoints ADD COLUMN null_channels json",
                "ALTER TABLE writes ADD COLUMN more bytea",
                # json keeps the saver's compact text: ~40 bytes a checkpoint fewer than jsonb.
                "ALTER TABLE checkpoints "
                "ALTER COLUMN channel_versions TYPE json USING channel_versions::json, "
                "ALTER COLUMN metadata TYPE json USING metadata::json",
                # (task, idx) stays unique by the writers' task lock (`_PUT_WRITES_FUNCTION`,
                # `lock_task`); the index finds a checkpoint's writes at ~half the bytes.
                "ALTER TABLE writes DROP CONSTRAINT writes_pkey",
                # The last 2 characters of the task id (random in LangGraph's ids) find one
                # task's writes among thousands of a fan-out, at no cost in index bytes here:
                # they fit in the padding the 8-byte alignment of an entry leaves anyway.
                "CREATE INDEX writes_checkpoint ON writes "
                "(thread_id, checkpoint_ns, checkpoint_id, right(task_id, 2)) "
                "WITH (fillfactor = 100)",
                # A thread's keys arrive in order (time-ordered checkpoint ids, growing
                # versions): a page split at its last key may leave the page full, as no
                # later key goes there. Other splits still halve the page.
                "ALTER INDEX checkpoints_pkey SET (fillfactor = 100)",
                "ALTER INDEX channel_values_pkey SET (fillfactor = 100)",
                "DROP FUNCTION langgraph_sharedmem_put_checkpoint(bigint, text, text, text, "
                "text, text, text, bytea, jsonb, jsonb, jsonb)",
                _PUT_CHECKPOINT_FUNCTION_V2,
                _PUT_WRITES_FUNCTION,
            ),
        ),
        (
            "0004_puts_share_the_thread_lock",
            (_PUT_CHECKPOINT_FUNCTION_V3, _PUT_WRITES_FUNCTION_V2),
        ),
    ],
    tables=("checkpoints", "channel_values", "writes"),
)


def version(value: Any) -> str | None:
    """A channel version as a ``jsonb`` parameter (None stays SQL NULL)."""
    return None if value is None else json.dumps(value)


def thread_lock_key(thread_id: str) -> int:
    """The advisory-lock key of a thread's writers."""
    return advisory_key("checkpoint", thread_id)


def task_lock_key(thread_id: str, ns: str, checkpoint_id: str, task_id: str) -> int:
    """The advisory-lock key of the writers of one task's writes."""
    return advisory_key("checkpoint-writes", thread_id, ns, checkpoint_id, task_id)


def lock_task(
    thread_id: str, ns: str, checkpoint_id: str, task_id: str
) -> tuple[str, tuple[int, int]] | None:
    """The statement taking the locks of a task's writers: its thread's, shared (as puts take
    it; a rewrite of the thread takes it exclusive), then the task's (key: `task_lock_key`)."""
    return "SELECT pg_advisory_xact_lock_shared(%s), pg_advisory_xact_lock(%s)", (
        thread_lock_key(thread_id),
        task_lock_key(thread_id, ns, checkpoint_id, task_id),
    )


def lock_thread(thread_id: str, *, shared: bool = False) -> tuple[str, tuple[int]] | None:
    """The statement taking a thread's write lock (key: `thread_lock_key`): ``shared`` for a
    put; exclusive for a rewrite of the thread, which every other writer of it then waits for,
    its puts and task writes too."""
    if shared:
        return "SELECT pg_advisory_xact_lock_shared(%s)", (thread_lock_key(thread_id),)
    return "SELECT pg_advisory_xact_lock(%s)", (thread_lock_key(thread_id),)


def metadata_term(path: tuple[str, ...], value: Any) -> tuple[str, list[Any]] | None:
    """A prefilter keeping every row whose metadata at ``path`` equals ``value`` (and maybe
    a few others: the saver re-checks in Python), or None where only Python can decide.

    ``@>`` containment uses jsonb equality: exact for strings, numeric for numbers. Booleans
    and None are left to Python (``True == 1``; a missing key reads as None).
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        if "\x00" in value:
            return None
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None
    elif isinstance(value, float):
        if not math.isfinite(value):
            return None
    elif not (isinstance(value, int) and -(2**63) <= value < 2**63):
        return None  # huge ints (past float range, past str's digit limit): Python compares
    nested: Any = value
    for key in reversed(path):
        nested = {key: nested}
    return "metadata::jsonb @> %s::jsonb", [json.dumps(nested)]


CHECKPOINT_COLUMNS = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, "
    "channel_versions::text, metadata::text, null_channels::text"
)

# Every parameter cast: the lean form (`_numbered`) sends them in binary, typed by the casts.
PUT_CHECKPOINT = """
SELECT langgraph_sharedmem_put_checkpoint(%s::bigint, %s::text, %s::text, %s::text, %s::text,
    %s::text, %s::text, %s::bytea, %s::json, %s::json, %s::json, %s::jsonb)
"""

# See `_PUT_WRITES_FUNCTION_V2`: the thread's and the task's lock keys, the first regular write
# (idx, channel, type, value; all NULL without one), the others packed, then the special ones
# (a JSON array, or NULL); false when the task already had regular writes (nothing was written).
PUT_WRITES = """
SELECT langgraph_sharedmem_put_writes(%s::bigint, %s::bigint, %s::text, %s::text, %s::text,
    %s::text, %s::text, %s::integer, %s::text, %s::text, %s::bytea, %s::bytea, %s::jsonb)
"""


def _numbered(sql: str) -> str:
    """``sql`` with its ``%s`` placeholders as ``$1``, ``$2``, ... (for `Prepared`)."""
    parts = sql.split("%s")
    return parts[0] + "".join(f"${i}{part}" for i, part in enumerate(parts[1:], 1))


# The lean forms of `PUT_CHECKPOINT`, `PUT_WRITES` and the one-statement reads. All three may
# run again after a lost connection: a put stores the same rows again or finds them (then its
# status says 0 and the saver trusts no cached list), writes already stored send the saver
# to its merging path, a read reads.
_LEAN_PUT_CHECKPOINT = Prepared(
    "langgraph_sharedmem_put_checkpoint_1", _numbered(PUT_CHECKPOINT), idempotent=True
)
_LEAN_PUT_WRITES = Prepared(
    "langgraph_sharedmem_put_writes_2", _numbered(PUT_WRITES), idempotent=True
)

_BIGINT = struct.Struct("!q").pack
_INTEGER = struct.Struct("!i").pack


def _text(value: str) -> bytes:
    """A ``text`` parameter in binary form: its UTF-8 bytes. A NUL is refused here as psycopg
    refuses it (the server would too, naming an invalid byte sequence)."""
    if "\x00" in value:
        raise InvalidConfigError(
            "PostgreSQL cannot store this value: PostgreSQL text fields cannot contain NUL "
            "(0x00) bytes"
        )
    return value.encode()


def _maybe_text(value: str | None) -> bytes | None:
    return None if value is None else _text(value)


def _jsonb(value: str | None) -> bytes | None:
    """A ``jsonb`` parameter in binary form: format version 1, then the JSON text."""
    return None if value is None else b"\x01" + value.encode()


def put_checkpoint(db: Any, params: Sequence[Any]) -> list[int]:
    """Run `PUT_CHECKPOINT` with ``params`` (in its order) and return its status array."""
    run = getattr(db, "run_prepared", None)
    if run is not None:
        key, thread, ns, cid, parent, run_id, type_, blob, versions, md, nulls, rows = params
        result = run(
            _LEAN_PUT_CHECKPOINT,
            (
                _BIGINT(key),
                _text(thread),
                _text(ns),
                _text(cid),
                _maybe_text(parent),
                _maybe_text(run_id),
                _text(type_),
                blob,
                versions.encode(),  # JSON text: a NUL in it is escaped
                md.encode(),
                None if nulls is None else nulls.encode(),
                _jsonb(rows),
            ),
        )
        if result is not None:
            array: bytes = result.get_value(0, 0)  # text form: b"{1,0,1}"
            return [int(n) for n in array[1:-1].split(b",")] if len(array) > 2 else []
    [(status,)] = db.statement(PUT_CHECKPOINT, params)
    return list(status)


def put_writes(db: Any, params: Sequence[Any]) -> bool:
    """Run `PUT_WRITES` with ``params`` (in its order): whether the writes were stored."""
    run = getattr(db, "run_prepared", None)
    if run is not None:
        thread_key, key, thread, ns, cid, task, path, idx, channel, type_, blob, more, special = (
            params
        )
        result = run(
            _LEAN_PUT_WRITES,
            (
                _BIGINT(thread_key),
                _BIGINT(key),
                _text(thread),
                _text(ns),
                _text(cid),
                _text(task),
                _text(path),
                None if idx is None else _INTEGER(idx),
                _maybe_text(channel),
                _maybe_text(type_),
                blob,
                more,
                _jsonb(special),
            ),
        )
        if result is not None:
            return bool(result.get_value(0, 0) == b"t")
    [(done,)] = db.statement(PUT_WRITES, params)
    return bool(done)


def rows_json(rows: list[dict[str, Any]]) -> str:
    """Rows for `PUT_CHECKPOINT` and `PUT_WRITES`: one JSON array, bytes in base64."""
    return json.dumps(
        [
            {k: base64.b64encode(v).decode() if isinstance(v, bytes) else v for k, v in r.items()}
            for r in rows
        ],
        allow_nan=False,
    )


SELECT_CHECKPOINT = f"""
SELECT {CHECKPOINT_COLUMNS} FROM checkpoints
WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s
"""

SELECT_LATEST_CHECKPOINT = f"""
SELECT {CHECKPOINT_COLUMNS} FROM checkpoints
WHERE thread_id = %s AND checkpoint_ns = %s ORDER BY checkpoint_id DESC LIMIT 1
"""

SELECT_CHECKPOINTS = f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints"

# A checkpoint with its values and pending writes in one statement: one round trip and one
# snapshot, with no BEGIN/COMMIT (three round trips in a read transaction otherwise, and
# 2.4x PostgresSaver's get_tuple on short threads). Values are probed as in
# `SELECT_VALUES`. Blobs travel in base64 inside JSON arrays; a list's older segments are not
# here: the saver reads those in a transaction when its cache does not hold the version.
_TUPLE = f"""
SELECT {CHECKPOINT_COLUMNS},
    (SELECT json_agg(json_build_array(v.channel, v.version, v.kind, v.type,
            encode(v.value, 'base64'), v.base_version, v.base_len, v.depth,
            encode(v.segment_token, 'base64')))::text
     FROM jsonb_each(c.channel_versions::jsonb) AS w
     CROSS JOIN LATERAL (
        SELECT * FROM channel_values AS v
        WHERE v.thread_id = c.thread_id AND v.checkpoint_ns = c.checkpoint_ns
          AND v.channel = w.key AND v.version = w.value
        LIMIT 1) AS v),
    (SELECT json_agg(json_build_array(x.task_id, x.channel, x.type, encode(x.value, 'base64'),
            x.task_path, x.idx, encode(x.more, 'base64')))::text
     FROM writes AS x
     WHERE x.thread_id = c.thread_id AND x.checkpoint_ns = c.checkpoint_ns
       AND x.checkpoint_id = c.checkpoint_id)
FROM checkpoints AS c
WHERE c.thread_id = %s AND c.checkpoint_ns = %s
"""

SELECT_TUPLE = _TUPLE + "AND c.checkpoint_id = %s"

SELECT_LATEST_TUPLE = _TUPLE + "ORDER BY c.checkpoint_id DESC LIMIT 1"


# Their lean forms (`select_tuple`): every result column is text or bytea, so they come back
# in binary, as bytes; the key columns' types tell the server the parameters' (text).
_LEAN_SELECT = {
    SELECT_TUPLE: Prepared(
        "langgraph_sharedmem_select_tuple_1", _numbered(SELECT_TUPLE), True, True
    ),
    SELECT_LATEST_TUPLE: Prepared(
        "langgraph_sharedmem_select_latest_tuple_1",
        _numbered(SELECT_LATEST_TUPLE),
        True,
        True,
    ),
}
_BLOB_COLUMN = 5  # the checkpoint's bytea; the others are text


def select_tuple(db: Any, sql: str, params: Sequence[str]) -> list[tuple[Any, ...]]:
    """Run `SELECT_TUPLE` or `SELECT_LATEST_TUPLE` (``sql``) with ``params``: its rows, as
    psycopg would give them (text as str, bytea as bytes)."""
    run = getattr(db, "run_prepared", None)
    if run is not None:
        result = run(_LEAN_SELECT[sql], [_text(p) for p in params])
        if result is not None:
            if not result.ntuples:
                return []
            row = [result.get_value(0, i) for i in range(result.nfields)]
            return [
                tuple(
                    v if v is None or i == _BLOB_COLUMN else v.decode() for i, v in enumerate(row)
                )
            ]
    return list(db.statement(sql, params))


INSERT_CHECKPOINT = """
INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id,
    parent_checkpoint_id, run_id, type, checkpoint, channel_versions, metadata, null_channels)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb::json, %s::jsonb::json, %s::json)
ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
    parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, run_id = EXCLUDED.run_id,
    type = EXCLUDED.type, checkpoint = EXCLUDED.checkpoint,
    channel_versions = EXCLUDED.channel_versions, metadata = EXCLUDED.metadata,
    null_channels = EXCLUDED.null_channels
"""

INSERT_VALUE = """
INSERT INTO channel_values (thread_id, checkpoint_ns, channel, version, kind, type,
    value, base_version, base_len, depth, segment_token)
VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s::jsonb, %s, %s, %s)
ON CONFLICT DO NOTHING
RETURNING 1
"""


def inserted(cursor: Any) -> bool:
    """Whether an ``INSERT ... RETURNING 1`` stored its row (in pipeline mode, psycopg
    knows no ``rowcount`` until results are read; reading this one is the round trip)."""
    return cursor.fetchone() is not None


INSERT_SEGMENT = """
INSERT INTO channel_values (thread_id, checkpoint_ns, channel, version, kind, type,
    value, base_version, base_len, depth, segment_token)
SELECT %s, %s, %s, %s::jsonb, 'list', 'list', %s::bytea, %s::jsonb, %s::integer, %s::integer,
    %s::bytea
WHERE EXISTS (
    SELECT 1 FROM channel_values
    WHERE thread_id = %s AND checkpoint_ns = %s AND channel = %s AND version = %s::jsonb
      AND kind = 'list' AND segment_token = %s)
ON CONFLICT DO NOTHING
RETURNING 1
"""

SELECT_LIST_ROW = """
SELECT depth FROM channel_values
WHERE thread_id = %s AND checkpoint_ns = %s AND channel = %s AND version = %s::jsonb
  AND kind = 'list' AND segment_token = %s
"""

SELECT_LATEST_LIST_VERSION = """
SELECT version, depth, segment_token FROM channel_values
WHERE thread_id = %s AND checkpoint_ns = %s AND channel = %s AND kind = 'list'
  AND version < %s::jsonb
ORDER BY version DESC LIMIT 1
"""

# One index probe per wanted version: `LIMIT 1` (the key is unique) keeps the planner from
# flattening the lateral into a hash join over every value row of the thread, which it chose
# for a plain join (0.5 ms at 800 steps, growing with the thread; 0.005 ms per probe here).
SELECT_VALUES = """
SELECT v.channel, v.version, v.kind, v.type, v.value, v.base_version, v.base_len, v.depth,
    v.segment_token
FROM jsonb_each(%(wanted)s::jsonb) AS w
CROSS JOIN LATERAL (
    SELECT * FROM channel_values AS v
    WHERE v.thread_id = %(thread_id)s AND v.checkpoint_ns = %(checkpoint_ns)s
      AND v.channel = w.key AND v.version = w.value
    LIMIT 1) AS v
"""

SELECT_SEGMENTS_BEFORE = """
SELECT version, base_version, base_len, value FROM channel_values
WHERE thread_id = %s AND checkpoint_ns = %s AND channel = %s AND kind = 'list'
  AND version < %s::jsonb
"""

SELECT_SEGMENT = """
SELECT version, base_version, base_len, value FROM channel_values
WHERE thread_id = %s AND checkpoint_ns = %s AND channel = %s AND version = %s::jsonb
  AND kind = 'list'
"""

SELECT_WRITES = """
SELECT task_id, channel, type, value, task_path, idx, more FROM writes
WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s
ORDER BY task_path, task_id, idx
"""

SELECT_TASK_WRITES = """
SELECT idx, more FROM writes
WHERE thread_id = %(thread_id)s AND checkpoint_ns = %(checkpoint_ns)s
  AND checkpoint_id = %(checkpoint_id)s AND right(task_id, 2) = right(%(task_id)s, 2)
  AND task_id = %(task_id)s
"""

DELETE_WRITE = """
DELETE FROM writes
WHERE thread_id = %(thread_id)s AND checkpoint_ns = %(checkpoint_ns)s
  AND checkpoint_id = %(checkpoint_id)s AND right(task_id, 2) = right(%(task_id)s, 2)
  AND task_id = %(task_id)s AND idx = %(idx)s
"""

# Under the task's lock, after `SELECT_TASK_WRITES` or `DELETE_WRITE`: no unique key here.
INSERT_WRITE = """
INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel,
    type, value, task_path, more)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""

SELECT_ANCESTORS = """
WITH RECURSIVE chain (checkpoint_id, parent_checkpoint_id, channel_versions, null_channels,
    lvl) AS (
    SELECT checkpoint_id, parent_checkpoint_id, channel_versions, null_channels, 0
    FROM checkpoints
    WHERE thread_id = %(thread_id)s AND checkpoint_ns = %(checkpoint_ns)s
      AND checkpoint_id = %(checkpoint_id)s
    UNION ALL
    SELECT p.checkpoint_id, p.parent_checkpoint_id, p.channel_versions, p.null_channels,
        c.lvl + 1
    FROM chain AS c JOIN checkpoints AS p
      ON p.thread_id = %(thread_id)s AND p.checkpoint_ns = %(checkpoint_ns)s
     AND p.checkpoint_id = c.parent_checkpoint_id
    WHERE c.lvl + 1 < %(limit)s
)
SELECT checkpoint_id, parent_checkpoint_id, channel_versions::text, null_channels::text
FROM chain ORDER BY lvl
"""

SELECT_STORED_PAIRS = """
SELECT v.channel, v.version
FROM jsonb_array_elements(%(pairs)s::jsonb) AS p
JOIN channel_values AS v
  ON v.thread_id = %(thread_id)s AND v.checkpoint_ns = %(checkpoint_ns)s
 AND v.channel = p.value ->> 0 AND v.version = p.value -> 1
WHERE v.kind <> 'empty'
"""

SELECT_LATEST_METADATA = """
SELECT checkpoint_id, metadata::text FROM checkpoints
WHERE thread_id = %s AND checkpoint_ns = %s ORDER BY checkpoint_id DESC LIMIT 1
"""

SELECT_CHECKPOINTS_WRITING = """
SELECT checkpoint_id, channel, more FROM writes WHERE thread_id = %s AND checkpoint_ns = %s
  AND (channel IN (SELECT jsonb_array_elements_text(%s::jsonb)) OR more IS NOT NULL)
"""

SELECT_PARENT_OF_LATEST = """
SELECT parent_checkpoint_id FROM checkpoints WHERE thread_id = %s AND checkpoint_ns = %s
ORDER BY checkpoint_id DESC LIMIT 1
"""

SELECT_PARENT_OF = """
SELECT parent_checkpoint_id FROM checkpoints
WHERE thread_id = %s AND checkpoint_ns = %s AND checkpoint_id = %s
"""

SELECT_HISTORY_WRITES = """
SELECT checkpoint_id, task_id, channel, type, value, task_path, idx, more FROM writes
WHERE thread_id = %s AND checkpoint_ns = %s
  AND checkpoint_id IN (SELECT jsonb_array_elements_text(%s::jsonb))
  AND (channel IN (SELECT jsonb_array_elements_text(%s::jsonb)) OR more IS NOT NULL)
"""

SELECT_THREADS_OF_RUNS = """
SELECT DISTINCT thread_id FROM checkpoints
WHERE run_id IN (SELECT jsonb_array_elements_text(%s::jsonb))
"""

DELETE_RUNS = """
DELETE FROM checkpoints WHERE run_id IN (SELECT jsonb_array_elements_text(%s::jsonb))
"""

SELECT_NAMESPACES = "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = %s"

DELETE_CHECKPOINTS_EXCEPT = """
DELETE FROM checkpoints WHERE thread_id = %s AND (checkpoint_ns, checkpoint_id) NOT IN (
    SELECT k ->> 0, k ->> 1 FROM jsonb_array_elements(%s::jsonb) AS k)
"""

DELETE_THREAD = (
    "DELETE FROM checkpoints WHERE thread_id = %s",
    "DELETE FROM channel_values WHERE thread_id = %s",
    "DELETE FROM writes WHERE thread_id = %s",
)

# Under the target thread's lock, exclusive, not each task's: a copy may cover thousands of
# tasks, more advisory locks than one transaction should hold. A task's writers take the
# thread's lock shared (`lock_task`, `_PUT_WRITES_FUNCTION_V2`), so none runs while the copy
# replaces the task's rows.
COPY_THREAD = (
    """INSERT INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id,
        parent_checkpoint_id, run_id, type, checkpoint, channel_versions, metadata,
        null_channels)
    SELECT %(target)s, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, type,
        checkpoint, channel_versions, metadata, null_channels
    FROM checkpoints WHERE thread_id = %(source)s
    ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET
        parent_checkpoint_id = EXCLUDED.parent_checkpoint_id, run_id = EXCLUDED.run_id,
        type = EXCLUDED.type, checkpoint = EXCLUDED.checkpoint,
        channel_versions = EXCLUDED.channel_versions, metadata = EXCLUDED.metadata,
        null_channels = EXCLUDED.null_channels""",
    """INSERT INTO channel_values (thread_id, checkpoint_ns, channel, version, kind,
        type, value, base_version, base_len, depth, segment_token)
    SELECT %(target)s, checkpoint_ns, channel, version, kind, type, value, base_version,
        base_len, depth, segment_token
    FROM channel_values WHERE thread_id = %(source)s
    ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO UPDATE SET
        kind = EXCLUDED.kind, type = EXCLUDED.type, value = EXCLUDED.value,
        base_version = EXCLUDED.base_version, base_len = EXCLUDED.base_len,
        depth = EXCLUDED.depth, segment_token = EXCLUDED.segment_token""",
    """DELETE FROM writes WHERE thread_id = %(target)s AND EXISTS (
        SELECT 1 FROM writes AS s WHERE s.thread_id = %(source)s
        AND s.checkpoint_ns = writes.checkpoint_ns AND s.checkpoint_id = writes.checkpoint_id
        AND s.task_id = writes.task_id)""",
    """INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx,
        channel, type, value, task_path, more)
    SELECT %(target)s, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, value,
        task_path, more
    FROM writes WHERE thread_id = %(source)s""",
)

COLLECT_GARBAGE = (
    """DELETE FROM writes WHERE thread_id = %(thread_id)s AND NOT EXISTS (
        SELECT 1 FROM checkpoints AS c WHERE c.thread_id = writes.thread_id
        AND c.checkpoint_ns = writes.checkpoint_ns AND c.checkpoint_id = writes.checkpoint_id)""",
    """WITH RECURSIVE live (checkpoint_ns, channel, version) AS (
        SELECT c.checkpoint_ns, j.key COLLATE "C", j.value
        FROM checkpoints AS c, jsonb_each(c.channel_versions::jsonb) AS j
        WHERE c.thread_id = %(thread_id)s
        UNION
        SELECT v.checkpoint_ns, v.channel, v.base_version
        FROM live AS l JOIN channel_values AS v
          ON v.thread_id = %(thread_id)s AND v.checkpoint_ns = l.checkpoint_ns
         AND v.channel = l.channel AND v.version = l.version
        WHERE v.base_version IS NOT NULL
    )
    DELETE FROM channel_values WHERE thread_id = %(thread_id)s AND NOT EXISTS (
        SELECT 1 FROM live AS l WHERE l.checkpoint_ns = channel_values.checkpoint_ns
        AND l.channel = channel_values.channel AND l.version = channel_values.version)""",
)
