"""The claim-wait-run protocol, written once as a generator and driven by a sync and an async
runner (the httpx auth-flow pattern): the generator yields `Db`, `Sleep` and `Execute` steps,
the runner performs them and sends back their results.

Lease protocol. A read (`lookup`, no write lock) answers the common cases: a ``done`` (or
cached ``error``) row not past ``expires_at`` is a hit, and a live ``in_flight`` row means
wait. Only when neither holds does the caller decide again in one ``BEGIN IMMEDIATE``
transaction (`claim`), which re-reads the row so two claimers never both run:

* a ``done`` (or cached ``error``) row not past ``expires_at`` is a hit;
* an ``in_flight`` row whose ``lease_until`` is in the future means another caller is running
  the call: wait, polling with a read (1 ms growing to 50 ms) until the row is finished, gone,
  or its lease has run out, then claim again;
* otherwise (no row, stale result, dead holder's lease) take the lease and run. While running,
  the holder renews ``lease_until`` every third of the lease (heartbeat), so a long call keeps
  it and a killed holder loses it within one lease. Only the holder may finish or release its
  row (``WHERE holder = ?``); a holder that stalled past its lease and was taken over still
  returns its result to its caller but does not store it.

Hits are counted in memory and added to the rows' ``hits`` in batches (`HitBuffer`): a hit
never waits for the write lock, which other processes may hold for milliseconds.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_sharedmem.core.part import sql_of
from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.errors import ToolCallWaitTimeout
from langgraph_sharedmem.toolcache import _keys, _schema
from langgraph_sharedmem.toolcache._model import CachedToolError, Counters

_FIRST_POLL = 0.001
_MAX_POLL = 0.05
_PG = "langgraph_sharedmem.toolcache._schema_pg"


def _sql(db: Any) -> Any:
    """The statements of ``db``'s dialect (`_schema` or `_schema_pg`)."""
    return sql_of(db, _schema, _PG)


@dataclass(frozen=True)
class Call:
    """One call to make or to find: its key and how to cache it."""

    tool: str
    key: str
    args_json: str
    scope: str | None
    ttl: float | None
    lease: float
    cache_errors: bool
    holder: str
    wait_timeout: float | None = None
    storable: Callable[[Any], bool] | None = None


@dataclass(frozen=True)
class Db:
    fn: Callable[..., Any]
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Execute:
    """Run the tool while renewing the lease; the runner sends back ``(ok, value_or_exc)``."""

    call: Call


Step = Db | Sleep | Execute


class HitBuffer:
    """Hits not yet added to the database: written with the next claim, or in one small
    transaction once `FLUSH_EVERY` hits or `FLUSH_AFTER` seconds have gathered, or on close.
    So `shared_stats` of other processes lag by at most a second; ``stats()`` is exact."""

    FLUSH_EVERY = 256
    FLUSH_AFTER = 1.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._since = 0.0

    def add(self, key: str) -> bool:
        """Count one hit; True when the buffer should be flushed now."""
        with self._lock:
            if not self._pending:
                self._since = time.monotonic()
            self._pending[key] = self._pending.get(key, 0) + 1
            return (
                len(self._pending) >= self.FLUSH_EVERY
                or time.monotonic() - self._since >= self.FLUSH_AFTER
            )

    def write(self, conn: Any, sql: Any = _schema) -> None:
        """Add the pending hits inside the caller's write transaction."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            try:
                # In key order: two flushes lock their rows in one order, never deadlock.
                rows = [(n, k) for k, n in sorted(pending.items())]
                conn.cursor().executemany(sql.ADD_HITS, rows)
            except BaseException:
                with self._lock:  # the transaction rolls back: keep them for the next one
                    for k, n in pending.items():
                        self._pending[k] = self._pending.get(k, 0) + n
                raise

    def flush(self, db: Database) -> None:
        with self._lock:
            if not self._pending:
                return
        with db.write() as conn:
            self.write(conn, _sql(db))


def lookup(db: Database, key: str) -> tuple[Any, ...] | None:
    """A read, no write lock: ``("hit", status, type, data)``, ``("wait", holder)``, or None
    when only `claim` can decide."""
    with db.read() as conn:
        row = conn.execute(_sql(db).SELECT_CALL, (key,)).fetchone()
    return None if row is None else _decide(row, time.time())


def _decide(row: tuple[Any, ...], now: float) -> tuple[Any, ...] | None:
    """A row of `SELECT_CALL` read at ``now``: a fresh result is a hit, a live lease means
    wait, anything else (None) may be claimed. One rule for `lookup` and `claim`."""
    status, result_type, result, holder, lease_until, expires_at = row
    if status != "in_flight" and (expires_at is None or expires_at > now):
        return ("hit", status, result_type, result)
    if status == "in_flight" and lease_until > now:
        return ("wait", holder)
    return None


def claim(db: Database, call: Call, hits: HitBuffer) -> tuple[Any, ...]:
    """``("hit", status, type, data)``, ``("wait", holder)`` or ``("run", took_over)``."""
    sql = _sql(db)
    with db.write() as conn:
        if db.dialect == "postgres":
            # SQLite's BEGIN IMMEDIATE serializes claims; here the key's own lock does. Hits
            # are not added here: updating other keys' rows while claiming one could deadlock
            # with a claim of those keys (they go in their own transaction, see `flush`).
            conn.execute(sql.LOCK_CALL, (sql.call_lock_key(call.key),))
        else:
            hits.write(conn, sql)
        now = time.time()
        row = conn.execute(sql.CLAIM_CALL, (call.key,)).fetchone()
        if row is not None and (decided := _decide(row, now)) is not None:
            return decided
        conn.execute(
            sql.TAKE_LEASE,
            {
                "key": call.key,
                "tool": call.tool,
                "args": call.args_json,
                "scope": call.scope,
                "holder": call.holder,
                "lease_until": now + call.lease,
                "now": now,
            },
        )
        return ("run", row is not None and row[0] == "in_flight")


def still_running(db: Database, key: str) -> bool:
    """Whether another caller still holds a live lease on ``key`` (a read, no write lock)."""
    with db.read() as conn:
        row = conn.execute(_sql(db).SELECT_LEASE, (key,)).fetchone()
    return row is not None and row[0] == "in_flight" and row[1] > time.time()


def renew(db: Database, call: Call) -> bool:
    """Push the lease forward; False when this holder no longer has it."""
    with db.write() as conn:
        cur = conn.execute(_sql(db).RENEW_LEASE, (time.time() + call.lease, call.key, call.holder))
        return cur.rowcount == 1


def finish(db: Database, call: Call, status: str, stored: tuple[str, Any]) -> bool:
    now = time.time()
    result = stored[1]
    if db.dialect == "postgres" and isinstance(result, str):
        result = result.encode("utf-8")  # bytea, as SQLite's BLOB column keeps either
    with db.write() as conn:
        cur = conn.execute(
            _sql(db).FINISH,
            {
                "status": status,
                "result_type": stored[0],
                "result": result,
                "now": now,
                "expires_at": None if call.ttl is None else now + call.ttl,
                "key": call.key,
                "holder": call.holder,
            },
        )
        return cur.rowcount == 1


def release(db: Database, call: Call) -> None:
    with db.write() as conn:
        conn.execute(_sql(db).RELEASE, (call.key, call.holder))


def _error_of(result_type: str, data: Any, tool: str) -> CachedToolError:
    info = json.loads(data)
    return CachedToolError(
        f"{tool} failed earlier with {info['type']}: {info['message']} (cached error)",
        tool=tool,
        error_type=info["type"],
        error_message=info["message"],
    )


def _timeout(call: Call, waited: float, holder: str | None) -> ToolCallWaitTimeout:
    return ToolCallWaitTimeout(
        f"gave up waiting for {call.tool!r} after {waited:.3g}s (wait_timeout="
        f"{call.wait_timeout}s): the same call is still running in {holder or 'another caller'}"
        ", which keeps renewing its lease. Raise wait_timeout, or retry later",
        tool=call.tool,
        waited=waited,
        holder=holder,
    )


def protocol(
    db: Database, call: Call, serde: SerializerProtocol, counters: Counters, hits: HitBuffer
) -> Generator[Step, Any, Any]:
    """Find, wait for or make one call; returns its result or raises its error."""
    waited_since: float | None = None
    while True:
        decision = yield Db(lookup, (db, call.key))
        if decision is None:
            decision = yield Db(claim, (db, call, hits))
        if decision[0] == "hit":
            _, status, result_type, data = decision
            counters.add(call.tool, "hits" if waited_since is None else "waits")
            if hits.add(call.key):
                yield Db(hits.flush, (db,))
            if status == "error":
                raise _error_of(result_type, data, call.tool)
            return _keys.decode_result(result_type, data, serde)
        if decision[0] == "wait":
            if waited_since is None:
                waited_since = time.monotonic()
            delay = _FIRST_POLL
            while True:
                waited = time.monotonic() - waited_since
                if call.wait_timeout is not None:
                    if waited >= call.wait_timeout:
                        raise _timeout(call, waited, decision[1])
                    delay = min(delay, call.wait_timeout - waited)
                yield Sleep(delay)
                delay = min(delay * 2, _MAX_POLL)
                if not (yield Db(still_running, (db, call.key))):
                    break
            continue
        if decision[1]:
            counters.add(call.tool, "takeovers")
        counters.add(call.tool, "misses")
        ok, value = yield Execute(call)
        if ok:
            storable = call.storable is None or call.storable(value)
            stored = _keys.encode_result(value, serde) if storable else None
            if stored is None:  # documented fallback: returned to the caller, not stored
                counters.add(call.tool, "uncacheable")
                yield Db(release, (db, call))
            else:
                yield Db(finish, (db, call, "done", stored))
            return value
        counters.add(call.tool, "errors")
        if call.cache_errors and isinstance(value, Exception):
            info = {"type": type(value).__name__, "message": str(value)}
            yield Db(finish, (db, call, "error", (_keys.JSON_TYPE, _keys.dumps(info))))
        else:
            yield Db(release, (db, call))
        raise value
