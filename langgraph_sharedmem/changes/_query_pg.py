"""The change feed's reads on PostgreSQL: `changes._query`'s statements, run through
`core.pg_compat` (placeholders, ``json_each`` filters, ``WHERE 1`` translated), and the one
written out here. Cursor writes are single upserts, so the feed needs no write lock."""

from __future__ import annotations

from langgraph_sharedmem.changes import _query

OVERRIDES: dict[str, str] = {
    _query.MOVE_HORIZON: (
        "UPDATE change_horizon SET horizon_seq = %s, horizon_at = greatest(horizon_at, %s) "
        "WHERE id = 1"
    ),
}
