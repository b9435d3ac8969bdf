"""The change feed's reads on PostgreSQL: `changes._query`'s statements, run through
`core.pg_compat` (placeholders, ``json_each``/``json_extract`` filters, ``WHERE 1``
translated), and the one written out here. Cursor writes are single upserts, so the feed
needs no write lock. An agent subscriber's rights are resolved on the feed's connection by
`AccessControl`, which translates its own statements (`agents._schema_pg`)."""

from __future__ import annotations

from langgraph_sharedmem.changes import _query

OVERRIDES: dict[str, str] = {
    _query.MOVE_HORIZON: (
        "UPDATE change_horizon SET horizon_seq = %s, horizon_at = greatest(horizon_at, %s) "
        "WHERE id = 1"
    ),
}
