"""Reads of the history: who sees what as a SQL filter, and the keyset walks every slice is
made of. Functions of a connection or a `Database`; `ConversationLog` is the front-end."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any, Final

from langgraph_sharedmem.agents import AccessControl
from langgraph_sharedmem.conversation import _model, _schema
from langgraph_sharedmem.conversation._model import MessagePage, StoredMessage
from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import AccessDenied

SCAN: Final = 256  # rows per keyset page when walking a history internally
_END: Final = 2**62


class View:
    """Who reads: the run, thread, viewer and user of one call, and the viewer's rights as
    an allow-list, resolved again on every read transaction (`resolve`) so what a fetch
    returns is what the viewer may read at that transaction's snapshot. ``key`` names the
    viewer's cached summaries (viewers never share one)."""

    __slots__ = ("access", "key", "readable", "run", "thread", "user", "viewer")

    def __init__(
        self,
        run: str,
        thread: str | None,
        viewer: str | None,
        user: str | None,
        access: AccessControl | None,
    ) -> None:
        self.run, self.thread, self.viewer, self.user = run, thread, viewer, user
        self.access = access if viewer is not None else None
        self.readable: tuple[tuple[str, ...], tuple[str, ...]] | None = None
        self.key = "" if viewer is None else json.dumps([viewer, user])

    def resolve(self, conn: Any) -> View:
        """The viewer's rights now, read on ``conn`` inside the caller's read transaction:
        every fetch of that transaction filters by them. `AccessDenied` if the viewer may no
        longer read the run."""
        if self.access is None or self.viewer is None:
            return self
        perms = self.access.resolve(conn, self.viewer, self.user, self.run, time.time())
        if not perms.allows(Scope.run(self.run), write=False):
            raise AccessDenied(
                f"agent {self.viewer!r} may not read the conversation of run {self.run!r}",
                agent=self.viewer,
                action="history",
                scope=f"run:{self.run}",
            )
        self.readable = perms.readable()
        return self

    def where(
        self, *, after: int | None = None, before: int | None = None
    ) -> tuple[str, list[Any]]:
        return _schema.where(
            self.run,
            thread=self.thread,
            viewer=self.viewer,
            readable=self.readable,
            after=after,
            before=before,
        )

    def digest(self, conn: Any) -> str:
        """Which of the run's scopes the viewer reads under the resolved rights, as a short
        digest: a cached summary is served only under the digest it was built with, so a
        revocation, an ended window or a new grant never serves an old summary. (A new
        message in a scope the viewer may not read leaves the digest, and the cache, as
        they were.)"""
        if self.readable is None:
            return ""
        sql, params = _schema.readable_scopes(self.run, self.readable)
        seen = [scope for (scope,) in conn.execute(sql, params)]
        return hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:32]


def page(
    conn: Any,
    view: View,
    after: int | None,
    before: int | None,
    limit: int,
    newest_first: bool,
) -> MessagePage:
    """One keyset page: an indexed range on (run, seq), never an OFFSET."""
    where, params = view.where(after=after, before=before)
    order = "DESC" if newest_first else "ASC"
    rows = conn.execute(
        f"SELECT {_schema.COLUMNS} FROM conv_messages m{where} ORDER BY m.seq {order} LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    items = [_model.stored_from_row(r) for r in rows[:limit]]
    return MessagePage(items, items[-1].seq if len(rows) > limit else None)


def tail(conn: Any, view: View, n: int | None, max_tokens: int | None) -> list[StoredMessage]:
    """The newest messages, at most ``n`` and ``max_tokens``, oldest first: a newest-first
    keyset walk over (seq, tokens) only, decoding just what is kept."""
    if n == 0 or max_tokens == 0:
        return []
    if max_tokens is None:
        assert n is not None
        return page(conn, view, None, None, n, newest_first=True).items[::-1]
    kept = total = 0
    start: int | None = None
    before: int | None = None
    while n is None or kept < n:
        where, params = view.where(before=before)
        rows = conn.execute(
            f"SELECT m.seq, m.tokens FROM conv_messages m{where} ORDER BY m.seq DESC LIMIT ?",
            (*params, SCAN),
        ).fetchall()
        for seq, tokens in rows:
            if total + tokens > max_tokens or (n is not None and kept >= n):
                rows = []
                break
            total += tokens
            kept += 1
            start = seq
        else:
            if len(rows) == SCAN:
                before = rows[-1][0]
                continue
        break
    if start is None:
        return []
    where, params = view.where(after=start - 1)
    rows = conn.execute(
        f"SELECT {_schema.COLUMNS} FROM conv_messages m{where} ORDER BY m.seq", params
    ).fetchall()
    return [_model.stored_from_row(r) for r in rows]


def window(
    db: Database, view: View, last: int | None, max_tokens: int | None
) -> tuple[list[StoredMessage], bool]:
    """The recent window of a context (everything when neither bound is given), and whether
    the viewer may see older messages: one read transaction for both."""
    with db.read() as conn:
        view.resolve(conn)
        if last is None and max_tokens is None:
            where, params = view.where()
            rows = conn.execute(
                f"SELECT {_schema.COLUMNS} FROM conv_messages m{where} ORDER BY m.seq", params
            ).fetchall()
            found = [_model.stored_from_row(r) for r in rows]
        else:
            found = tail(conn, view, last, max_tokens)
        return found, _has_before(conn, view, found[0].seq if found else None)


def _has_before(conn: Any, view: View, seq: int | None) -> bool:
    """Whether the viewer may see any message older than ``seq`` (None: any at all)."""
    where, params = view.where(before=seq if seq is not None else _END)
    row = conn.execute(f"SELECT 1 FROM conv_messages m{where} LIMIT 1", params).fetchone()
    return row is not None


def summary_plan(
    db: Database, view: View, upto: int | None, name: str
) -> tuple[int, str | None, int | None, str] | None:
    """``(last seq to cover, cached summary or None, seq it covers or None, digest of what
    the viewer reads)``; None when the viewer sees nothing up to ``upto``."""
    with db.read() as conn:
        view.resolve(conn)
        where, params = view.where(before=None if upto is None else upto + 1)
        (last,) = conn.execute(f"SELECT max(m.seq) FROM conv_messages m{where}", params).fetchone()
        if last is None:
            return None
        digest = view.digest(conn)
        cached = conn.execute(
            _schema.SUMMARY_AT_OR_BEFORE,
            (view.run, view.thread or "", view.key, name, digest, last),
        ).fetchone()
    if cached is None:
        return last, None, None, digest
    return last, cached[1], cached[0], digest


def summary_page(db: Database, view: View, after: int | None, last: int) -> tuple[MessagePage, str]:
    """The next page to fold in, and the digest of what the viewer read it under."""
    with db.read() as conn:
        view.resolve(conn)
        return page(conn, view, after, last + 1, SCAN, newest_first=False), view.digest(conn)


def store_summary(
    db: Database, view: View, name: str, digest: str, last: int, covered: int, summary: str
) -> None:
    """Cache ``summary`` under ``digest`` unless the viewer's rights moved since: a summary
    is only ever served to a viewer reading exactly what it was built from."""
    with db.write() as conn:
        try:
            view.resolve(conn)
        except AccessDenied:  # revoked meanwhile: what was read was readable then
            return
        if view.digest(conn) != digest:
            return
        conn.execute(
            _schema.INSERT_SUMMARY,
            (
                view.run,
                view.thread or "",
                view.key,
                name,
                digest,
                last,
                covered,
                summary,
                time.time(),
            ),
        )


def older(
    db: Database, view: View, before: int | None, plain: str, after: int | None
) -> list[tuple[int, int, str, str | None, bytes | None]]:
    """One page (`SCAN` * 16) of the viewer's messages older than ``before`` and newer than
    ``after``, as ``(seq, tokens, text, embedding model, vector)``: the candidates of a
    budgeted slice, filtered by the viewer's rights inside this read transaction."""
    with db.read() as conn:
        where, params = view.resolve(conn).where(after=after, before=before)
        return conn.execute(  # type: ignore[no-any-return]
            "SELECT m.seq, m.tokens, m.text, e.model, e.vector FROM conv_messages m LEFT JOIN "
            f"conv_embeddings e ON e.seq = m.seq{where}{plain} ORDER BY m.seq LIMIT ?",
            (*params, SCAN * 16),
        ).fetchall()


def still_readable(
    db: Database, view: View, seqs: list[int], fetch: list[int]
) -> tuple[set[int], list[StoredMessage]]:
    """Under the viewer's rights of now, in one read transaction: which of ``seqs`` it may
    still read, and the messages ``fetch`` that it may, oldest first."""
    with db.read() as conn:
        where, params = view.resolve(conn).where()
        alive = {
            seq
            for (seq,) in conn.execute(
                f"SELECT m.seq FROM conv_messages m{where} AND m.seq IN "
                "(SELECT value FROM json_each(?))",
                (*params, json.dumps(seqs)),
            )
        }
        rows = conn.execute(
            f"SELECT {_schema.COLUMNS} FROM conv_messages m{where} AND m.seq IN "
            "(SELECT value FROM json_each(?)) ORDER BY m.seq",
            (*params, json.dumps([s for s in fetch if s in alive])),
        ).fetchall()
    return alive, [_model.stored_from_row(r) for r in rows]
