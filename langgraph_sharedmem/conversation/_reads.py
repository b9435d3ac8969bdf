"""Reads of the history: who sees what as a SQL filter, and the keyset walks every slice is
made of. Functions of a connection or a `Database`; `ConversationLog` is the front-end."""

from __future__ import annotations

import json
import time
from typing import Any, Final

from langgraph_sharedmem._db import Database
from langgraph_sharedmem.conversation import _model, _schema
from langgraph_sharedmem.conversation._model import MessagePage, StoredMessage

SCAN: Final = 256  # rows per keyset page when walking a history internally
_END: Final = 2**62


class View:
    """Who reads, resolved once per call: the SQL filter of what they may see, and the key
    their cached summaries are stored under (viewers never share one)."""

    __slots__ = ("hidden", "key", "run", "thread", "viewer")

    def __init__(
        self, run: str, thread: str | None, viewer: str | None, user: str | None, hidden: Any
    ) -> None:
        self.run, self.thread, self.viewer, self.hidden = run, thread, viewer, hidden
        self.key = "" if viewer is None else json.dumps([viewer, user])

    def where(
        self, *, after: int | None = None, before: int | None = None
    ) -> tuple[str, list[Any]]:
        return _schema.where(
            self.run,
            thread=self.thread,
            viewer=self.viewer,
            hidden_scopes=self.hidden,
            after=after,
            before=before,
        )


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
) -> tuple[int, str | None, int | None] | None:
    """``(last seq to cover, cached summary or None, seq it covers or None)``; None when
    the viewer sees nothing up to ``upto``."""
    with db.read() as conn:
        where, params = view.where(before=None if upto is None else upto + 1)
        (last,) = conn.execute(f"SELECT max(m.seq) FROM conv_messages m{where}", params).fetchone()
        if last is None:
            return None
        cached = conn.execute(
            _schema.SUMMARY_AT_OR_BEFORE,
            (view.run, view.thread or "", view.key, name, last),
        ).fetchone()
    if cached is None:
        return last, None, None
    return last, cached[1], cached[0]


def summary_page(db: Database, view: View, after: int | None, last: int) -> MessagePage:
    with db.read() as conn:
        return page(conn, view, after, last + 1, SCAN, newest_first=False)


def store_summary(
    db: Database, view: View, name: str, last: int, covered: int, summary: str
) -> None:
    with db.write() as conn:
        conn.execute(
            _schema.INSERT_SUMMARY,
            (view.run, view.thread or "", view.key, name, last, covered, summary, time.time()),
        )
