"""The audit log: every read, write and denial through an agent view (who, what, when).

Writes and grant changes add their row inside the transaction that makes the change, so the
log never shows a write that did not happen nor misses one that did. Denials are written at
once, in their own transaction, before `AccessDenied` is raised.

Reads are buffered and stored compactly. One INSERT per read would be a write transaction per
read (~300 us, against ~40 us for a store get), and even batched, one row per read costs
~5 us in SQLite: more than the whole 10% budget of a view's read. So buffered reads are
grouped per (agent, user, run) and each group is ONE row, ``action = 'reads'``, whose
``detail`` is a JSON array of ``[at, action, scope, subject, detail]`` entries; `query`
expands those rows with ``json_each`` in SQL, so callers see one `AuditEntry` per read, with
its own time. A view's read costs one tuple appended to a list; the buffer is written when
`MAX_BUFFER` reads wait or the oldest is `MAX_AGE` seconds old (by the next read), by the next
write or denial of this process (inside its transaction), before every audit query, and on
close. The cost: a process that crashes loses up to `MAX_AGE` seconds of *read* records
(writes and denials are never lost).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from langgraph_sharedmem.agents import _schema
from langgraph_sharedmem.core.sqlite import Database

__all__ = ["AuditEntry", "AuditLog"]

# A flush is a write transaction; at 512 a busy reader committed ~60 of them a second, and
# the WAL they grew (and its checkpoints) slowed every later read of the process. At 4096 a
# reader doing nothing else flushes on age, twice a second.
MAX_BUFFER: Final = 4096
MAX_AGE: Final = 0.5
Outcome = Literal["allowed", "denied"]
Row = tuple[float, str | None, str | None, str | None, str, str | None, str | None, str, str | None]


@dataclass(frozen=True)
class AuditEntry:
    """One audited access: ``agent`` (for ``user`` in ``run``) did ``action`` on ``subject``
    (a key, query, fact or grant) in ``scope``, with ``outcome`` allowed or denied, at ``at``.
    ``id`` is the row it is stored in (reads written together share one)."""

    id: int
    at: datetime
    agent: str | None
    user: str | None
    run: str | None
    action: str
    scope: str | None
    subject: str | None
    outcome: Outcome
    detail: str | None


class AuditLog:
    """Appends and queries the ``acl_audit`` table of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._pending: list[Row] = []
        self._oldest = 0.0

    @staticmethod
    def row(
        agent: str | None,
        user: str | None,
        run: str | None,
        action: str,
        scope: str | None,
        subject: str | None,
        outcome: Outcome = "allowed",
        detail: str | None = None,
    ) -> Row:
        return (time.time(), agent, user, run, action, scope, subject, outcome, detail)

    def read(self, row: Row) -> None:
        """Record an allowed read (buffered; see the module docstring)."""
        pending = self._pending
        pending.append(row)  # atomic under the GIL; _take swaps the list under the lock
        if len(pending) == 1:
            self._oldest = row[0]
        elif len(pending) >= MAX_BUFFER or row[0] - self._oldest >= MAX_AGE:
            self.flush()

    def close(self) -> None:
        """Write what is buffered."""
        self.flush()

    def write(self, conn: Any, *rows: Row) -> None:
        """Record rows inside the caller's write transaction, with the buffered reads."""
        conn.executemany(_schema.INSERT_AUDIT, [*_compact(self._take()), *rows])

    def deny(self, row: Row) -> None:
        """Record a denial now, in its own transaction."""
        with self.db.write() as conn:
            self.write(conn, row)

    def flush(self) -> None:
        """Write the buffered read records now."""
        pending = self._take()
        if pending:
            try:
                with self.db.write() as conn:
                    conn.executemany(_schema.INSERT_AUDIT, _compact(pending))
            except BaseException:
                with self._lock:  # keep them for the next flush rather than lose them
                    self._pending[:0] = pending
                raise

    def _take(self) -> list[Row]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def query(
        self,
        *,
        agent: str | None = None,
        user: str | None = None,
        run: str | None = None,
        action: str | Sequence[str] | None = None,
        outcome: Outcome | None = None,
        since: float | datetime | None = None,
        until: float | datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        """Entries matching every given field, oldest first (at most ``limit``)."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (("agent_id", agent), ("user_id", user), ("run_id", run)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if action is not None:
            actions = [action] if isinstance(action, str) else list(action)
            where.append(f"action IN ({', '.join('?' * len(actions))})")
            params.extend(actions)
        if outcome is not None:
            where.append("outcome = ?")
            params.append(outcome)
        if since is not None:
            where.append("at >= ?")
            params.append(_seconds(since))
        if until is not None:
            where.append("at < ?")
            params.append(_seconds(until))
        sql = f"SELECT * FROM ({_schema.SELECT_AUDIT}) AS audit"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY at, id, seq LIMIT ?"
        params.append(int(limit))
        self.flush()
        with self.db.read() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [
            AuditEntry(r[0], datetime.fromtimestamp(r[2], UTC), *r[3:])  # type: ignore[arg-type]
            for r in rows
        ]


def _compact(reads: list[Row]) -> list[Row]:
    """One ``'reads'`` row per (agent, user, run) holding its reads as a JSON array."""
    groups: dict[tuple[str | None, str | None, str | None], list[Row]] = {}
    for row in reads:
        groups.setdefault((row[1], row[2], row[3]), []).append(row)
    out: list[Row] = []
    for (agent, user, run), rows in groups.items():
        entries = [(r[0], r[4], r[5], r[6], r[8]) for r in rows]
        text = json.dumps(entries, ensure_ascii=False, separators=(",", ":"))
        out.append((rows[0][0], agent, user, run, "reads", None, None, "allowed", text))
    return out


def _seconds(moment: float | datetime) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)
