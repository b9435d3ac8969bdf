"""Checkpointer tables and the SQL that reads and writes them.

Layout (one row per thing, nothing copied per checkpoint):

* ``checkpoints``: one row per checkpoint, without its channel values; ``channel_versions``
  is a JSON column so pruning and copying can find referenced values in SQL.
* ``channel_values``: one row per (thread, namespace, channel, version), written once when
  the version is new. ``kind`` is ``value`` (a serialized value), ``empty`` (the channel has no
  value at this version) or ``list``: a list stored as a *segment* -- the first ``base_len``
  elements of the list at ``base_version`` followed by the elements packed in ``value``. An
  ``add_messages`` channel that grows by one message per step therefore stores one message per
  step instead of the whole history (see `_lists`).
* ``writes``: pending writes, with the task path LangGraph orders them by; a ``put_writes``
  call's regular writes share one row (the first in the columns, the others packed in
  ``more``: see `_writes`).
* A channel whose value at a checkpoint is None has no ``channel_values`` row for it: the
  checkpoint row names it in ``null_channels`` (a JSON array; NULL when none).

Migrations are an append-only list applied by sqlite-utils and recorded in the database; a
step is never edited once released (a dead one becomes a no-op with a comment).

`_schema_pg` holds the same statements, under the same names, for PostgreSQL; the saver picks
the module by its backend's dialect. Besides SQL, both modules define `PARAM` (the
placeholder), `version` (a channel version as a parameter), `lock_thread` (the statement
locking a thread for a writer, shared or alone, if any), `inserted` (whether an
insert-if-absent stored its row), `metadata_term` (a list-filter prefilter),
`PUT_CHECKPOINT`/`PUT_WRITES` (a checkpoint or a task's writes in one statement, where a round
trip costs; None here) and `SELECT_TUPLE`/`SELECT_LATEST_TUPLE` (a checkpoint with its values
and writes in one statement; None here, and so are never run: `_schema_pg` alone has their
runners, `put_checkpoint`, `put_writes` and `select_tuple`).
"""

from __future__ import annotations

import math
from typing import Any

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.transfer import CopyTable

MIGRATIONS = Migrations("langgraph_sharedmem.checkpoint")


@MIGRATIONS(name="0001_checkpoint_tables")
def _m0001(db: _SUDatabase) -> None:
    db.executescript(
        """
        CREATE TABLE checkpoints (
            thread_id TEXT NOT NULL,
            checkpoint_ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            parent_checkpoint_id TEXT,
            run_id TEXT,
            type TEXT NOT NULL,
            checkpoint BLOB NOT NULL,
            channel_versions TEXT NOT NULL,
            metadata TEXT NOT NULL,
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id)
        );
        CREATE INDEX checkpoints_run_id ON checkpoints (run_id) WHERE run_id IS NOT NULL;
        CREATE TABLE channel_values (
            thread_id TEXT NOT NULL,
            checkpoint_ns TEXT NOT NULL,
            channel TEXT NOT NULL,
            version NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('value', 'empty', 'list')),
            type TEXT,
            value BLOB,
            base_version,
            base_len INTEGER,
            depth INTEGER NOT NULL DEFAULT 0,
            segment_token BLOB,
            PRIMARY KEY (thread_id, checkpoint_ns, channel, version)
        );
        CREATE TABLE writes (
            thread_id TEXT NOT NULL,
            checkpoint_ns TEXT NOT NULL,
            checkpoint_id TEXT NOT NULL,
            task_id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            channel TEXT NOT NULL,
            type TEXT,
            value BLOB,
            task_path TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx)
        );
        """
    )


@MIGRATIONS(name="0002_zlib_preset_dictionary")
def _m0002(db: _SUDatabase) -> None:
    """No table changes: blobs may now be compressed with `_zdict`'s preset dictionary.

    Recorded so that a langgraph-sharedmem from before it refuses the file as written by a
    newer version (`SchemaVersionError`) instead of reporting those blobs as damaged.
    """


@MIGRATIONS(name="0003_null_channels_packed_writes")
def _m0003(db: _SUDatabase) -> None:
    """Fewer rows per step: a checkpoint names its channels whose value is None
    (``null_channels``, a JSON array) instead of a ``channel_values`` row per such version,
    and a ``put_writes`` call's regular writes share one row (``more``, see `_writes`).

    Compressed blobs are written in a shorter framing from now on (`_lists._DEFLATE_1`).
    Old rows stay valid as they are (NULL in both columns, zlib blobs); a version from before
    this step refuses the file (`SchemaVersionError`) instead of misreading it.
    """
    db.executescript(
        """
        ALTER TABLE checkpoints ADD COLUMN null_channels TEXT;
        ALTER TABLE writes ADD COLUMN more BLOB;
        """
    )


PARAM = "?"

_INT64 = (-(2**63), 2**63 - 1)


def version(value: Any) -> Any:
    """A channel version as a parameter: SQLite's typeless column takes it as it is."""
    return value


def lock_thread(thread_id: str, *, shared: bool = False) -> tuple[str, tuple[Any, ...]] | None:
    """None: ``BEGIN IMMEDIATE`` already serializes every writer of the file."""
    return None


def lock_task(thread_id: str, ns: str, checkpoint_id: str, task_id: str) -> None:
    """None: ``BEGIN IMMEDIATE`` already serializes every writer of the file."""
    return None


# The one-round-trip writes of `_schema_pg`: none here, where a transaction costs no round
# trip; the saver then runs the statements below in one write transaction.
PUT_CHECKPOINT = None
PUT_WRITES = None
SELECT_TUPLE = None
SELECT_LATEST_TUPLE = None


def inserted(cursor: Any) -> bool:
    """Whether an ``INSERT OR IGNORE`` stored its row."""
    return bool(cursor.rowcount > 0)


def metadata_term(path: tuple[str, ...], value: Any) -> tuple[str, list[Any]] | None:
    """A SQL term that keeps every row whose metadata at ``path`` equals ``value`` (and few
    others), or None where only the Python check can decide."""
    json_path = "$." + ".".join(path)  # parts are [a-zA-Z0-9_-]+: no quoting needed
    if value is None:  # a missing key and JSON null both read as None
        return "json_extract(metadata, ?) IS NULL", [json_path]
    if isinstance(value, bool):
        return "json_extract(metadata, ?) = ?", [json_path, int(value)]
    if isinstance(value, int) and _INT64[0] <= value <= _INT64[1]:
        return "json_extract(metadata, ?) = ?", [json_path, value]
    if isinstance(value, float) and math.isfinite(value):
        return "json_extract(metadata, ?) = ?", [json_path, value]
    if isinstance(value, str):
        if "\x00" in value:
            return None  # SQLite's JSON functions cut decoded text at a NUL
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return None  # stored as a \udXXX escape: json.loads reads it back, SQLite cannot
        return "json_extract(metadata, ?) = ?", [json_path, value]
    return None  # dicts, lists, huge ints, NaN: compared in Python


# Columns of a checkpoint row, in the order `_decode` reads them.
CHECKPOINT_COLUMNS = (
    "thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint, "
    "channel_versions, metadata, null_channels"
)

SELECT_CHECKPOINT = f"""
SELECT {CHECKPOINT_COLUMNS} FROM checkpoints
WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?
"""

SELECT_LATEST_CHECKPOINT = f"""
SELECT {CHECKPOINT_COLUMNS} FROM checkpoints
WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1
"""

SELECT_CHECKPOINTS = f"SELECT {CHECKPOINT_COLUMNS} FROM checkpoints"

INSERT_CHECKPOINT = """
INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id,
    parent_checkpoint_id, run_id, type, checkpoint, channel_versions, metadata, null_channels)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

INSERT_VALUE = """
INSERT OR IGNORE INTO channel_values (thread_id, checkpoint_ns, channel, version, kind, type,
    value, base_version, base_len, depth, segment_token)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""

# A list segment, stored only if its base is still the row the writer extended (same token).
INSERT_SEGMENT = """
INSERT OR IGNORE INTO channel_values (thread_id, checkpoint_ns, channel, version, kind, type,
    value, base_version, base_len, depth, segment_token)
SELECT ?, ?, ?, ?, 'list', 'list', ?, ?, ?, ?, ?
WHERE EXISTS (
    SELECT 1 FROM channel_values
    WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND version = ? AND kind = 'list'
      AND segment_token = ?)
"""

SELECT_LIST_ROW = """
SELECT depth FROM channel_values
WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND version = ? AND kind = 'list'
  AND segment_token = ?
"""

SELECT_LATEST_LIST_VERSION = """
SELECT version, depth, segment_token FROM channel_values
WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND kind = 'list' AND version < ?
ORDER BY version DESC LIMIT 1
"""

# The rows holding the values of one checkpoint: (channel, version) pairs from a JSON object.
SELECT_VALUES = """
SELECT v.channel, v.version, v.kind, v.type, v.value, v.base_version, v.base_len, v.depth,
    v.segment_token
FROM json_each(:wanted) AS w
CROSS JOIN channel_values AS v  -- CROSS: make SQLite look up each wanted row by key
  ON v.thread_id = :thread_id AND v.checkpoint_ns = :checkpoint_ns
 AND v.channel = w.key AND v.version = w.value
"""

# Candidate segments of a list's chain: one index range scan instead of a lookup per link.
# Bases are older versions, so for a linear thread this is exactly the chain.
SELECT_SEGMENTS_BEFORE = """
SELECT version, base_version, base_len, value FROM channel_values
WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND kind = 'list' AND version < ?
"""

SELECT_SEGMENT = """
SELECT version, base_version, base_len, value FROM channel_values
WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND version = ? AND kind = 'list'
"""

# A checkpoint's writes (``more`` last: see `_writes.expand`).
SELECT_WRITES = """
SELECT task_id, channel, type, value, task_path, idx, more FROM writes
WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?
ORDER BY task_path, task_id, idx
"""

# The writes a task already has: regular ones are kept as first stored.
SELECT_TASK_WRITES = """
SELECT idx, more FROM writes
WHERE thread_id = :thread_id AND checkpoint_ns = :checkpoint_ns
  AND checkpoint_id = :checkpoint_id AND task_id = :task_id
"""

DELETE_WRITE = """
DELETE FROM writes
WHERE thread_id = :thread_id AND checkpoint_ns = :checkpoint_ns
  AND checkpoint_id = :checkpoint_id AND task_id = :task_id AND idx = :idx
"""

# After `SELECT_TASK_WRITES` or `DELETE_WRITE`, in the same write transaction.
INSERT_WRITE = """
INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel,
    type, value, task_path, more)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


# Up to :limit ancestors of a checkpoint (itself first), following parent_checkpoint_id.
# The LIMIT inside the recursive part stops the walk there instead of at the root.
SELECT_ANCESTORS = """
WITH RECURSIVE chain (checkpoint_id, parent_checkpoint_id, channel_versions, null_channels,
    lvl) AS (
    SELECT checkpoint_id, parent_checkpoint_id, channel_versions, null_channels, 0
    FROM checkpoints
    WHERE thread_id = :thread_id AND checkpoint_ns = :checkpoint_ns
      AND checkpoint_id = :checkpoint_id
    UNION ALL
    SELECT p.checkpoint_id, p.parent_checkpoint_id, p.channel_versions, p.null_channels,
        c.lvl + 1
    FROM chain AS c JOIN checkpoints AS p
      ON p.thread_id = :thread_id AND p.checkpoint_ns = :checkpoint_ns
     AND p.checkpoint_id = c.parent_checkpoint_id
    LIMIT :limit
)
SELECT checkpoint_id, parent_checkpoint_id, channel_versions, null_channels FROM chain
ORDER BY lvl
"""

# Which of the (channel, version) pairs in a JSON array hold a value (not 'empty').
SELECT_STORED_PAIRS = """
SELECT v.channel, v.version
FROM json_each(:pairs) AS p
CROSS JOIN channel_values AS v  -- CROSS: one key lookup per pair
  ON v.thread_id = :thread_id AND v.checkpoint_ns = :checkpoint_ns
 AND v.channel = json_extract(p.value, '$[0]') AND v.version = json_extract(p.value, '$[1]')
WHERE v.kind != 'empty'
"""

SELECT_LATEST_METADATA = """
SELECT checkpoint_id, metadata FROM checkpoints
WHERE thread_id = ? AND checkpoint_ns = ? ORDER BY checkpoint_id DESC LIMIT 1
"""

# Rows that may hold writes to these channels: packed ones are checked in Python.
SELECT_CHECKPOINTS_WRITING = """
SELECT checkpoint_id, channel, more FROM writes WHERE thread_id = ? AND checkpoint_ns = ?
  AND (channel IN (SELECT value FROM json_each(?)) OR more IS NOT NULL)
"""

SELECT_PARENT_OF_LATEST = """
SELECT parent_checkpoint_id FROM checkpoints WHERE thread_id = ? AND checkpoint_ns = ?
ORDER BY checkpoint_id DESC LIMIT 1
"""

SELECT_PARENT_OF = """
SELECT parent_checkpoint_id FROM checkpoints
WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?
"""

SELECT_HISTORY_WRITES = """
SELECT checkpoint_id, task_id, channel, type, value, task_path, idx, more FROM writes
WHERE thread_id = ? AND checkpoint_ns = ?
  AND checkpoint_id IN (SELECT value FROM json_each(?))
  AND (channel IN (SELECT value FROM json_each(?)) OR more IS NOT NULL)
"""

SELECT_THREADS_OF_RUNS = """
SELECT DISTINCT thread_id FROM checkpoints WHERE run_id IN (SELECT value FROM json_each(?))
"""

DELETE_RUNS = "DELETE FROM checkpoints WHERE run_id IN (SELECT value FROM json_each(?))"

SELECT_NAMESPACES = "SELECT DISTINCT checkpoint_ns FROM checkpoints WHERE thread_id = ?"

DELETE_CHECKPOINTS_EXCEPT = """
DELETE FROM checkpoints WHERE thread_id = ? AND (checkpoint_ns, checkpoint_id) NOT IN (
    SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))
"""

DELETE_THREAD = (
    "DELETE FROM checkpoints WHERE thread_id = ?",
    "DELETE FROM channel_values WHERE thread_id = ?",
    "DELETE FROM writes WHERE thread_id = ?",
)

COPY_THREAD = (
    """INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id,
        parent_checkpoint_id, run_id, type, checkpoint, channel_versions, metadata,
        null_channels)
    SELECT :target, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, type,
        checkpoint, channel_versions, metadata, null_channels
    FROM checkpoints WHERE thread_id = :source""",
    """INSERT OR REPLACE INTO channel_values (thread_id, checkpoint_ns, channel, version, kind,
        type, value, base_version, base_len, depth, segment_token)
    SELECT :target, checkpoint_ns, channel, version, kind, type, value, base_version, base_len,
        depth, segment_token
    FROM channel_values WHERE thread_id = :source""",
    # A task's writes are copied as a whole (one row may hold several): the target's
    # writes of a task the source has are replaced, not merged.
    """DELETE FROM writes WHERE thread_id = :target AND EXISTS (
        SELECT 1 FROM writes AS s WHERE s.thread_id = :source
        AND s.checkpoint_ns = writes.checkpoint_ns AND s.checkpoint_id = writes.checkpoint_id
        AND s.task_id = writes.task_id)""",
    """INSERT OR REPLACE INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, idx,
        channel, type, value, task_path, more)
    SELECT :target, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, value, task_path,
        more
    FROM writes WHERE thread_id = :source""",
)

# After checkpoints of a thread were deleted: drop writes whose checkpoint is gone, and values
# no remaining checkpoint references, directly or as the base of a list segment it uses.
COLLECT_GARBAGE = (
    """DELETE FROM writes WHERE thread_id = :thread_id AND NOT EXISTS (
        SELECT 1 FROM checkpoints AS c WHERE c.thread_id = writes.thread_id
        AND c.checkpoint_ns = writes.checkpoint_ns AND c.checkpoint_id = writes.checkpoint_id)""",
    """WITH RECURSIVE live (checkpoint_ns, channel, version) AS (
        SELECT c.checkpoint_ns, j.key, j.value
        FROM checkpoints AS c, json_each(c.channel_versions) AS j
        WHERE c.thread_id = :thread_id
        UNION
        SELECT v.checkpoint_ns, v.channel, v.base_version
        FROM live AS l JOIN channel_values AS v
          ON v.thread_id = :thread_id AND v.checkpoint_ns = l.checkpoint_ns
         AND v.channel = l.channel AND v.version = l.version
        WHERE v.base_version IS NOT NULL
    )
    DELETE FROM channel_values WHERE thread_id = :thread_id AND NOT EXISTS (
        SELECT 1 FROM live AS l WHERE l.checkpoint_ns = channel_values.checkpoint_ns
        AND l.channel = channel_values.channel AND l.version = channel_values.version)""",
)


# How `sharedmem copy` moves checkpoints (see `core.transfer`): a channel ``version`` is a
# raw SQLite value (int, float or text) and jsonb on PostgreSQL.
COPY_TABLES = (
    CopyTable(
        "checkpoints",
        (
            ("thread_id", "text"),
            ("checkpoint_ns", "text"),
            ("checkpoint_id", "text"),
            ("parent_checkpoint_id", "text"),
            ("run_id", "text"),
            ("type", "text"),
            ("checkpoint", "bytes"),
            ("channel_versions", "json_text"),
            ("metadata", "json_text"),
            ("null_channels", "json_text"),
        ),
        key=(
            "thread_id",
            "checkpoint_ns",
            "checkpoint_id",
        ),
    ),
    CopyTable(
        "channel_values",
        (
            ("thread_id", "text"),
            ("checkpoint_ns", "text"),
            ("channel", "text"),
            ("version", "json_scalar"),
            ("kind", "text"),
            ("type", "text"),
            ("value", "bytes"),
            ("base_version", "json_scalar"),
            ("base_len", "integer"),
            ("depth", "integer"),
            ("segment_token", "bytes"),
        ),
        key=(
            "thread_id",
            "checkpoint_ns",
            "channel",
            "version",
        ),
    ),
    CopyTable(
        "writes",
        (
            ("thread_id", "text"),
            ("checkpoint_ns", "text"),
            ("checkpoint_id", "text"),
            ("task_id", "text"),
            ("idx", "integer"),
            ("channel", "text"),
            ("type", "text"),
            ("value", "bytes"),
            ("task_path", "text"),
            ("more", "bytes"),
        ),
        key=(
            "thread_id",
            "checkpoint_ns",
            "checkpoint_id",
            "task_id",
            "idx",
        ),
    ),
)
