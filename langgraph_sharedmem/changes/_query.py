"""Reading the change log: rows as `Change`, the visibility filter, cursors, the horizon.

Pure SQL builders return ``(sql, params)``; values reach SQL only as parameters (scope keys,
kinds and keys travel as one JSON array each, expanded with ``json_each``).

Who sees a change (an agent subscriber, i.e. one with ``agent`` set):

* a change in a scope: when the agent may read that scope at delivery time (its
  `Permissions`, resolved in the same read transaction as the fetch, so a revocation that
  committed before the fetch is always honoured, also for changes logged before it);
* a change with no scope: registry changes (``kind="agent"``) go to every active agent —
  the registry is what agents discover each other by; grant changes (``kind="access"``) only
  to the agent they concern (``data["agent"]``); anything else only to unfiltered readers;
* a message (``kind="message"``) besides needs the conversation log's visibility: public,
  sent by the agent, or addressed to it (``recipients``).

A reader without ``agent`` (an operator, an audit job) sees every change.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from langgraph_sharedmem.agents import WILDCARD, Permissions
from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import CursorExpiredError, InvalidConfigError

__all__ = ["Change", "ChangeFilter"]

COLUMNS: Final = "seq, at, kind, op, scope, key, author, data"
# The newest row is never pruned (`prune`), so max(seq) only grows: seq is never reused.
HEAD: Final = "SELECT coalesce(max(seq), 0) FROM changes"
HORIZON: Final = "SELECT horizon_seq, horizon_at FROM change_horizon WHERE id = 1"
GET_CURSOR: Final = "SELECT seq FROM change_cursors WHERE name = ?"
# Cursors of a subscription only move forward: two processes sharing a name (or a late
# commit after a restart) never move it back and re-deliver a long stretch.
ADVANCE_CURSOR: Final = """
INSERT INTO change_cursors (name, seq, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
WHERE excluded.seq > change_cursors.seq
"""
SET_CURSOR: Final = """
INSERT INTO change_cursors (name, seq, updated_at) VALUES (?, ?, ?)
ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, updated_at = excluded.updated_at
"""
DELETE_CURSOR: Final = "DELETE FROM change_cursors WHERE name = ?"
MOVE_HORIZON: Final = (
    "UPDATE change_horizon SET horizon_seq = ?, horizon_at = max(horizon_at, ?) WHERE id = 1"
)
_RUN_PREFIX: Final = '["run",'


@dataclass(frozen=True)
class Change:
    """One committed change to shared memory. ``seq`` numbers changes in commit order (use
    it to drop a re-delivered change); ``scope`` is None for registry and grant changes."""

    seq: int
    at: float
    kind: str
    op: str
    scope: Scope | None
    key: str
    author: str | None
    data: Any


def change_from_row(row: tuple[Any, ...]) -> Change:
    seq, at, kind, op, scope, key, author, data = row
    return Change(
        seq,
        at,
        kind,
        op,
        None if scope is None else Scope.from_key(scope),
        key,
        author,
        None if data is None else json.loads(data),
    )


def _texts(what: str, values: Iterable[Any] | None) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    out = list(values)
    for v in out:
        if not isinstance(v, str) or not v:
            raise InvalidConfigError(f"{what} must be non-empty strings, got {v!r}")
    return out


@dataclass(frozen=True)
class ChangeFilter:
    """What a reader asked for: whose eyes (agent/user/run) and which kinds, scopes, keys."""

    agent: str | None = None
    user: str | None = None
    run: str | None = None
    kinds: tuple[str, ...] | None = None
    scopes: tuple[str, ...] | None = None  # Scope.key values
    keys: tuple[str, ...] | None = None
    exclude_author: str | None = None

    @classmethod
    def build(
        cls,
        *,
        agent: str | None = None,
        user_id: str | None = None,
        run_id: str | None = None,
        kinds: Iterable[str] | str | None = None,
        scopes: Iterable[Any] | None = None,
        keys: Iterable[str] | str | None = None,
        exclude_author: str | None = None,
    ) -> ChangeFilter:
        from langgraph_sharedmem.core.values import as_scope, check_id

        if agent is not None:
            check_id("agent id", agent)
        elif user_id is not None or run_id is not None:
            raise InvalidConfigError("user_id and run_id need an agent: they narrow its rights")
        if user_id is not None:
            check_id("user id", user_id)
        if run_id is not None:
            check_id("run id", run_id)
        scope_keys = None
        if scopes is not None:
            if isinstance(scopes, (str, Scope)) or (
                isinstance(scopes, tuple) and scopes and isinstance(scopes[0], str)
            ):
                scopes = [scopes]
            scope_keys = tuple(as_scope(s).key for s in scopes)
        kind_list, key_list = _texts("kinds", kinds), _texts("keys", keys)
        return cls(
            agent,
            user_id,
            run_id,
            None if kind_list is None else tuple(kind_list),
            scope_keys,
            None if key_list is None else tuple(key_list),
            exclude_author,
        )


def visibility_sql(perms: Permissions | None) -> tuple[str, list[Any]]:
    """The WHERE term keeping the changes ``perms`` may read (None: everything)."""
    if perms is None:
        return "1", []
    if not perms.rights:  # unknown or retired agent: nothing at all
        return "0", []
    exact, kinds = [], []
    for (kind, ident), (can_read, _) in sorted(perms.rights.items()):
        if not can_read:
            continue
        if ident == WILDCARD:
            kinds.append(kind)
        else:
            exact.append(Scope(kind, None if kind == "app" else ident).key)
    terms = ["scope IN (SELECT value FROM json_each(?))"]
    params: list[Any] = [json.dumps(exact)]
    for kind in kinds:
        # Scope keys are JSON arrays: '["run","r7"]' starts with '["run",'.
        terms.append("substr(scope, 1, ?) = ?")
        prefix = '["' + kind + '",'
        params.extend([len(prefix), prefix])
    terms.append(
        "(scope IS NULL AND (kind = 'agent' OR (kind = 'access' AND "
        "json_extract(data, '$.agent') = ?)))"
    )
    params.append(perms.agent)
    # Messages keep the conversation log's own rule (conversation/_schema.py): public, or
    # the agent sent it, or it is one of the recipients.
    message = (
        "(kind != 'message' OR json_extract(data, '$.visibility') = 'public' OR author = ? "
        "OR (json_extract(data, '$.visibility') = 'recipients' AND EXISTS "
        "(SELECT 1 FROM json_each(data, '$.recipients') WHERE value = ?)))"
    )
    params += [perms.agent, perms.agent]
    # A message scoped wider than its run (e.g. to a user) is still part of the run: a
    # viewer who may not read the run (a closed run it is not a member of) sees none of it.
    if "run" not in perms.readable()[1]:
        runs = [ident for (kind, ident), (r, _) in perms.rights.items() if kind == "run" and r]
        message += (
            " AND (kind != 'message' OR json_extract(data, '$.run') IN "
            "(SELECT value FROM json_each(?)))"
        )
        params.append(json.dumps(sorted(runs)))
    return "(" + " OR ".join(terms) + ") AND " + message, params


def select_sql(
    flt: ChangeFilter, perms: Permissions | None, *, after: int, upto: int, limit: int
) -> tuple[str, list[Any]]:
    """Visible changes with ``after < seq <= upto``, oldest first, at most ``limit``."""
    where, params = visibility_sql(perms)
    clauses, args = [where], list(params)
    for column, wanted in (("kind", flt.kinds), ("scope", flt.scopes), ("key", flt.keys)):
        if wanted is not None:
            clauses.append(f"{column} IN (SELECT value FROM json_each(?))")
            args.append(json.dumps(list(wanted)))
    if flt.exclude_author is not None:
        clauses.append("(author IS NULL OR author != ?)")
        args.append(flt.exclude_author)
    sql = (
        f"SELECT {COLUMNS} FROM changes WHERE seq > ? AND seq <= ? AND "
        + " AND ".join(clauses)
        + " ORDER BY seq LIMIT ?"
    )
    return sql, [after, upto, *args, limit]


def head(conn: sqlite3.Connection) -> int:
    return int(conn.execute(HEAD).fetchone()[0])


def horizon(conn: sqlite3.Connection) -> tuple[int, float]:
    row = conn.execute(HORIZON).fetchone()
    return (0, 0.0) if row is None else (int(row[0]), float(row[1]))


def check_after(conn: sqlite3.Connection, after: int, name: str | None) -> None:
    """`CursorExpiredError` if changes after ``after`` were pruned: never a silent gap."""
    pruned, pruned_at = horizon(conn)
    if after < pruned:
        who = f"subscriber {name!r}" if name else "this read"
        raise CursorExpiredError(
            f"{who} is at change {after}, but changes up to {pruned} (older than "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(pruned_at))} UTC) were pruned "
            "by retention: it would miss them. Re-read the current state and restart it from "
            "the head (ChangeFeed.set_cursor(name, feed.head()) or start='latest').",
            name=name,
            cursor=after,
            horizon=pruned,
        )


def fetch(
    conn: sqlite3.Connection,
    flt: ChangeFilter,
    perms: Permissions | None,
    *,
    after: int,
    limit: int,
    name: str | None = None,
) -> tuple[list[Change], int]:
    """Visible changes after ``after`` and how far the log was scanned (the position a
    reader may move to once it has processed them, past changes it may not see)."""
    check_after(conn, after, name)
    upto = head(conn)
    if upto <= after:
        return [], after
    sql, params = select_sql(flt, perms, after=after, upto=upto, limit=limit)
    rows = [change_from_row(r) for r in conn.execute(sql, params).fetchall()]
    scanned = rows[-1].seq if len(rows) >= limit else upto
    return rows, scanned


def last_seq_before(conn: sqlite3.Connection, moment: float) -> int:
    """The newest seq logged before ``moment`` (0 if none), by bisecting on seq: ``at`` grows
    with seq (writes are serialized and stamp ``at`` inside their transaction), and an index
    on ``at`` would cost every write a page."""
    lo, hi = horizon(conn)[0], head(conn)  # answer in [lo, hi]
    probe = "SELECT at FROM changes WHERE seq >= ? ORDER BY seq LIMIT 1"
    while lo < hi:
        mid = (lo + hi + 1) // 2
        row = conn.execute(probe, (mid,)).fetchone()
        if row is not None and row[0] < moment:
            lo = mid
        else:
            hi = mid - 1
    return lo


def prune(conn: sqlite3.Connection, cutoff: int) -> int:
    """Delete rows up to ``cutoff`` and move the horizon there; how many rows went.

    The newest row of each run-scoped item is kept, so run memory stays reconstructable
    (`MemoryAsOf`) from the horizon on; the feed never delivers it again (it is below the
    horizon, where cursors are refused).
    """
    pruned, _ = horizon(conn)
    cutoff = min(cutoff, head(conn) - 1)  # keep the newest row: new rows number after it
    if cutoff <= pruned:
        return 0
    row = conn.execute("SELECT max(at) FROM changes WHERE seq <= ?", (cutoff,)).fetchone()
    at = float(row[0]) if row and row[0] is not None else time.time()
    n = conn.execute(
        """
        DELETE FROM changes WHERE seq <= :cut AND seq NOT IN (
            SELECT max(seq) FROM changes
            WHERE kind = 'item' AND seq <= :cut AND substr(scope, 1, :n) = :run
            GROUP BY scope, key
        )
        """,
        {"cut": cutoff, "n": len(_RUN_PREFIX), "run": _RUN_PREFIX},
    ).rowcount
    conn.execute(MOVE_HORIZON, (cutoff, at))
    return int(n)
