"""The multi-step reads — a summary, an agent's context — written once as generators of
steps and driven by a sync and an async runner (the httpx auth-flow pattern). A step is
``(fn, *args)``, a database call (run on the database's worker thread when async), or
``(MODEL, fn, *args)``, a summarizer call (awaited when async: a model never runs on the
database's thread)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from langchain_core.messages import BaseMessage, SystemMessage

from langgraph_sharedmem.conversation import _model, _reads

if TYPE_CHECKING:
    from langgraph_sharedmem.conversation.log import ConversationLog
    from langgraph_sharedmem.core.sqlite import Database

MODEL: Final = "model"  # a step that calls the summarizer, not the database
SUMMARY_PREFIX: Final = "Summary of the earlier conversation:\n"
DIGEST_PREFIX: Final = "Earlier messages mention:\n"
BUDGET_LAST: Final = 2
"""With a ``budget``, the newest messages always sent (the turn being answered and the one
before it), budget permitting; older ones are chosen by value."""


def summary_flow(
    log: ConversationLog,
    run: str,
    viewer: str | None,
    user: str | None,
    thread: str | None,
    upto: int | None,
    summarizer: Any,
    *,
    asynchronous: bool = False,
) -> Any:
    """A generator of steps ``(fn, *args)``: database reads and writes, and summarizer
    calls; the sync and async runners perform them (the model never runs on the
    database's thread)."""
    fn = log._summarizer(summarizer)
    if upto is not None:
        _model.check_count("upto", upto)
    view = yield (log._view, run, viewer, user, thread)
    plan = yield (_reads.summary_plan, log.db, view, upto, fn.name)
    if plan is None:
        return None
    last, previous, start, digest = plan
    if start == last:
        return previous
    covered = 0
    cursor = start
    stable = True  # the viewer's rights the same for every page: the summary may be cached
    while True:
        page, seen = yield (_reads.summary_page, log.db, view, cursor, last)
        stable = stable and seen == digest
        if not page.items:
            break
        call = fn.acall if asynchronous else fn
        previous = yield (MODEL, call, page.messages, previous)
        covered += len(page.items)
        cursor = page.items[-1].seq
        if page.next_cursor is None:
            break
    if stable:
        yield (_reads.store_summary, log.db, view, fn.name, digest, last, covered, previous)
    return previous


def context_flow(
    log: ConversationLog,
    run: str,
    viewer: str | None,
    user: str | None,
    thread: str | None,
    last: int | None,
    max_tokens: int | None,
    query: str | None,
    k: int,
    summarize_older: bool,
    summarizer: Any,
    budget: int | None = None,
    instruction: str | None = None,
    role: str | None = None,
    *,
    asynchronous: bool = False,
) -> Any:
    if budget is not None:
        return (
            yield from budget_flow(
                log,
                run,
                viewer,
                user,
                thread,
                last,
                max_tokens,
                query,
                summarize_older,
                summarizer,
                budget,
                instruction,
                role,
                asynchronous=asynchronous,
            )
        )
    if last is not None:
        _model.check_count("last", last)
    if max_tokens is not None:
        _model.check_count("max_tokens", max_tokens)
    if query is not None:
        _model.check_text("query", query)
    view = yield (log._view, run, viewer, user, thread)
    window, older_exist = yield (_reads.window, log.db, view, last, max_tokens)
    start = window[0].seq if window else None
    out: list[BaseMessage] = []
    if summarize_older and older_exist:
        text = yield from summary_flow(
            log,
            run,
            viewer,
            user,
            thread,
            None if start is None else start - 1,
            summarizer,
            asynchronous=asynchronous,
        )
        if text:
            out.append(SystemMessage(content=SUMMARY_PREFIX + text))
    if query is not None and older_exist and k:
        extra = yield (log._relevant, run, query, k, viewer, user, thread, start, True)
        out += [m.message for m in extra]
    out += _model.drop_orphan_tool_results([m.message for m in window])
    return out


def budget_flow(
    log: ConversationLog,
    run: str,
    viewer: str | None,
    user: str | None,
    thread: str | None,
    last: int | None,
    max_tokens: int | None,
    query: str | None,
    summarize_older: bool,
    summarizer: Any,
    budget: int,
    instruction: str | None,
    role: str | None,
    *,
    asynchronous: bool = False,
) -> Any:
    """`context` with a ``budget``: the window (``last``, default `BUDGET_LAST`), then older
    messages by value per token (`_select`), then a summary or extractive digest if it fits;
    never more than ``budget`` tokens in all."""
    _model.check_count("budget", budget)
    for name, value in (("last", last), ("max_tokens", max_tokens)):
        if value is not None:
            _model.check_count(name, value)
    for name, given in (("query", query), ("instruction", instruction), ("role", role)):
        if given is not None:
            _model.check_text(name, given)
    view = yield (log._view, run, viewer, user, thread)
    cap = budget if max_tokens is None else min(budget, max_tokens)
    window, older_exist = yield (
        _reads.window,
        log.db,
        view,
        BUDGET_LAST if last is None else last,
        cap,
    )
    recent = _model.drop_orphan_tool_results([m.message for m in window])
    left = budget - sum(m.tokens for m in window)
    chosen: list[BaseMessage] = []
    head: list[BaseMessage] = []
    if older_exist and left > 0:
        have_model = summarizer is not None or log.summarizer is not None
        picked, sentences = yield (
            log._budget_pick,
            view,
            window,
            left,
            query,
            instruction,
            role,
            summarize_older and not have_model,
            log.slice_weights,
        )
        chosen = [m.message for m in picked]
        left -= sum(m.tokens for m in picked)
        text: str | None = None
        if summarize_older and have_model:
            start = window[0].seq if window else None
            text = yield from summary_flow(
                log,
                run,
                viewer,
                user,
                thread,
                None if start is None else start - 1,
                summarizer,
                asynchronous=asynchronous,
            )
            text = SUMMARY_PREFIX + text if text else None
        elif sentences:
            text = DIGEST_PREFIX + "\n".join(sentences)
        while text:  # the digest is cut to what is left; a model summary fits or is left out
            note = SystemMessage(content=text)
            if log.token_counter(note) <= left:
                head = [note]
                break
            if not sentences:
                break
            sentences.pop()
            text = DIGEST_PREFIX + "\n".join(sentences) if sentences else None
    return head + chosen + recent


def drive_sync(flow: Any) -> Any:
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return done.value
        reply = step[1](*step[2:]) if step[0] == MODEL else step[0](*step[1:])


async def drive_async(db: Database, flow: Any) -> Any:
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return done.value
        if step[0] == MODEL:
            reply = await step[1](*step[2:])
        else:
            reply = await db.run(step[0], *step[1:])
