"""The tool-call cache on PostgreSQL: the table of `toolcache._schema` and its statements.

Same layout and the same names as the SQLite module; `_protocol` picks one by dialect.
``result`` is ``bytea`` (JSON text is stored as its UTF-8 bytes; ``json.loads`` reads both).

Claiming is serialized per key, not per database: `claim` takes the transaction-level
advisory lock `LOCK_CALL` of the key before re-reading the row, so two processes that both
found no live row cannot both take the lease (``SELECT ... FOR UPDATE`` would not do: it
locks nothing when the row does not exist yet). Claims of different keys run in parallel.
"""

from __future__ import annotations

from langgraph_sharedmem.core.postgres import PostgresMigrations, advisory_key

MIGRATIONS = PostgresMigrations(
    "langgraph_sharedmem.toolcache",
    [
        (
            "0001_tool_calls",
            (
                """CREATE TABLE tool_calls (
                    key text PRIMARY KEY,
                    tool text NOT NULL,
                    args_json text NOT NULL,
                    scope text,
                    status text NOT NULL CHECK (status IN ('in_flight', 'done', 'error')),
                    result_type text,
                    result bytea,
                    holder text,
                    lease_until double precision,
                    created_at double precision NOT NULL,
                    finished_at double precision,
                    expires_at double precision,
                    runs bigint NOT NULL DEFAULT 0,
                    hits bigint NOT NULL DEFAULT 0
                )""",
                "CREATE INDEX tool_calls_tool ON tool_calls (tool)",
                "CREATE INDEX tool_calls_expires ON tool_calls (expires_at) "
                "WHERE expires_at IS NOT NULL",
            ),
        ),
    ],
    tables=("tool_calls",),
)

LOCK_CALL = "SELECT pg_advisory_xact_lock(%s)"


def call_lock_key(key: str) -> int:
    """The advisory-lock key `LOCK_CALL` takes for one call key."""
    return advisory_key("toolcache", key)


SELECT_CALL = """
SELECT status, result_type, result, holder, lease_until, expires_at
FROM tool_calls WHERE key = %s
"""
# Locks the row too: a finish or renewal committing meanwhile is waited for and seen.
CLAIM_CALL = SELECT_CALL + " FOR UPDATE"
SELECT_LEASE = "SELECT status, lease_until FROM tool_calls WHERE key = %s"
ADD_HITS = "UPDATE tool_calls SET hits = hits + %s WHERE key = %s"
TAKE_LEASE = """
INSERT INTO tool_calls (key, tool, args_json, scope, status, holder, lease_until, created_at,
    runs)
VALUES (%(key)s, %(tool)s, %(args)s, %(scope)s, 'in_flight', %(holder)s, %(lease_until)s,
    %(now)s, 1)
ON CONFLICT (key) DO UPDATE SET status = 'in_flight', holder = %(holder)s,
    lease_until = %(lease_until)s, result_type = NULL, result = NULL, finished_at = NULL,
    expires_at = NULL, runs = tool_calls.runs + 1
"""
RENEW_LEASE = """
UPDATE tool_calls SET lease_until = %s WHERE key = %s AND holder = %s AND status = 'in_flight'
"""
FINISH = """
UPDATE tool_calls SET status = %(status)s, result_type = %(result_type)s, result = %(result)s,
    holder = NULL, lease_until = NULL, finished_at = %(now)s, expires_at = %(expires_at)s
WHERE key = %(key)s AND holder = %(holder)s AND status = 'in_flight'
"""
RELEASE = "DELETE FROM tool_calls WHERE key = %s AND holder = %s AND status = 'in_flight'"
SHARED_STATS = """
SELECT count(*), coalesce(sum(runs), 0)::bigint, coalesce(sum(hits), 0)::bigint FROM tool_calls
"""
SHARED_STATS_OF_TOOL = SHARED_STATS + " WHERE tool = %s"
DELETE_ALL = "DELETE FROM tool_calls WHERE status != 'in_flight'"
DELETE_TOOL = "DELETE FROM tool_calls WHERE status != 'in_flight' AND tool = %s"
DELETE_EXPIRED = "DELETE FROM tool_calls WHERE status != 'in_flight' AND expires_at <= %s"
