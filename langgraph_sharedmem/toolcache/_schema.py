"""The tool-call cache table and the SQL that reads and writes it.

Layout: ``tool_calls`` holds one row per call key (sha256 of the canonical JSON of
``{"tool", "args", "scope"}``). ``status`` is ``in_flight`` while a caller (``holder``: host,
pid and a random id) runs the call under a lease ending at ``lease_until``; ``done`` or
``error`` once it finished, fresh until ``expires_at`` (NULL: forever). ``result_type`` is
``"json"`` when ``result`` is JSON text, else the serializer's type tag of a blob. ``runs``
counts executions of the key, ``hits`` answers given without running (cache hits and waiters
served by another caller's run; counted in memory and added in batches, see
`_protocol.HitBuffer`). Times are Unix seconds (``time.time()``): leases are compared
across processes, so a monotonic clock would not do.

Migrations are an append-only list applied by sqlite-utils and recorded in the database; a
step is never edited once released (a dead one becomes a no-op with a comment).
"""

from __future__ import annotations

from sqlite_utils import Database as _SUDatabase
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.transfer import CopyTable

MIGRATIONS = Migrations("langgraph_sharedmem.toolcache")


@MIGRATIONS(name="0001_tool_calls")
def _m0001(db: _SUDatabase) -> None:
    db.executescript(
        """
        CREATE TABLE tool_calls (
            key TEXT PRIMARY KEY,
            tool TEXT NOT NULL,
            args_json TEXT NOT NULL,
            scope TEXT,
            status TEXT NOT NULL CHECK (status IN ('in_flight', 'done', 'error')),
            result_type TEXT,
            result BLOB,
            holder TEXT,
            lease_until REAL,
            created_at REAL NOT NULL,
            finished_at REAL,
            expires_at REAL,
            runs INTEGER NOT NULL DEFAULT 0,
            hits INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX tool_calls_tool ON tool_calls (tool);
        CREATE INDEX tool_calls_expires ON tool_calls (expires_at) WHERE expires_at IS NOT NULL;
        """
    )


SELECT_CALL = """
SELECT status, result_type, result, holder, lease_until, expires_at
FROM tool_calls WHERE key = ?
"""
ADD_HITS = "UPDATE tool_calls SET hits = hits + ? WHERE key = ?"
# Taking the lease: a new key, an expired result, an uncached error or a dead holder's row.
TAKE_LEASE = """
INSERT INTO tool_calls (key, tool, args_json, scope, status, holder, lease_until, created_at,
    runs)
VALUES (:key, :tool, :args, :scope, 'in_flight', :holder, :lease_until, :now, 1)
ON CONFLICT (key) DO UPDATE SET status = 'in_flight', holder = :holder,
    lease_until = :lease_until, result_type = NULL, result = NULL, finished_at = NULL,
    expires_at = NULL, runs = runs + 1
"""
RENEW_LEASE = """
UPDATE tool_calls SET lease_until = ? WHERE key = ? AND holder = ? AND status = 'in_flight'
"""
FINISH = """
UPDATE tool_calls SET status = :status, result_type = :result_type, result = :result,
    holder = NULL, lease_until = NULL, finished_at = :now, expires_at = :expires_at
WHERE key = :key AND holder = :holder AND status = 'in_flight'
"""
RELEASE = "DELETE FROM tool_calls WHERE key = ? AND holder = ? AND status = 'in_flight'"
SHARED_STATS = """
SELECT count(*), coalesce(sum(runs), 0), coalesce(sum(hits), 0) FROM tool_calls
"""
SHARED_STATS_OF_TOOL = SHARED_STATS + " WHERE tool = ?"
DELETE_ALL = "DELETE FROM tool_calls WHERE status != 'in_flight'"
DELETE_TOOL = "DELETE FROM tool_calls WHERE status != 'in_flight' AND tool = ?"
DELETE_EXPIRED = "DELETE FROM tool_calls WHERE status != 'in_flight' AND expires_at <= ?"
SELECT_LEASE = "SELECT status, lease_until FROM tool_calls WHERE key = ?"
# `claim` re-reads the row in its write transaction (PostgreSQL adds FOR UPDATE).
CLAIM_CALL = SELECT_CALL


# How `sharedmem copy` moves the cache (see `core.transfer`); a JSON result held as text in
# SQLite's BLOB column becomes its UTF-8 bytes on PostgreSQL (``json.loads`` reads both).
COPY_TABLES = (
    CopyTable(
        "tool_calls",
        (
            ("key", "text"),
            ("tool", "text"),
            ("args_json", "text"),
            ("scope", "text"),
            ("status", "text"),
            ("result_type", "text"),
            ("result", "bytes"),
            ("holder", "text"),
            ("lease_until", "real"),
            ("created_at", "real"),
            ("finished_at", "real"),
            ("expires_at", "real"),
            ("runs", "integer"),
            ("hits", "integer"),
        ),
        key=("key",),
    ),
)
