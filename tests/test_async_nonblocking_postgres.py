"""The async API never blocks the event loop on PostgreSQL either.

BlockBuster (`test_async_nonblocking.py`) sees SQLite's and the file system's blocking calls
but not psycopg's socket waits, so here the check is what a blocked loop would show: while
the server holds every call for half a second (another session locks the tables they
write), a ticker on the loop keeps ticking. A call that ran on the loop would stall it for
the whole wait."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import psycopg
from _graphs import linear_graph
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict

from langgraph_sharedmem import SharedMemory

HELD = 0.5  # seconds the server holds each call
TABLES = "checkpoints, channel_values, writes, facts, mem_items"


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


async def _ticker(ticks: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.005)
        ticks.append(time.perf_counter())


async def _while_held(
    url: str, calls: Callable[[], Awaitable[Any]], tables: str = TABLES
) -> tuple[float, float]:
    """Run ``calls`` while another session holds the tables for `HELD` seconds; return how
    long they took and the loop's longest stall meanwhile."""
    blocker = psycopg.connect(url)
    blocker.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(HELD, blocker.commit)
    ticks: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(_ticker(ticks, stop))
    started = time.perf_counter()
    release.start()
    try:
        await calls()
    finally:
        ended = time.perf_counter()
        stop.set()
        await ticker
        release.join()
        blocker.close()
    beats = [started, *(t for t in ticks if t <= ended), ended]
    return ended - started, max(b - a for a, b in zip(beats, beats[1:], strict=False))


async def test_async_calls_wait_for_the_server_off_the_loop(postgres_db: str) -> None:
    def answer(state: Chat) -> dict[str, Any]:
        return {"messages": [AIMessage("done")]}

    async with await SharedMemory.aopen(postgres_db, index=None) as mem:
        graph = linear_graph(Chat, ("answer", answer)).compile(
            checkpointer=mem.checkpointer, store=mem.store
        )
        config = {"configurable": {"thread_id": "t"}}
        # Every table exists and every part is set up before the server starts holding.
        await graph.ainvoke({"messages": [HumanMessage("warm")]}, config)
        await mem.facts.aassert_fact("app", "s", "a", 0, author="x")
        await mem.store.aput(("notes",), "k", {"text": "warm"})

        async def calls() -> None:
            await asyncio.gather(
                graph.ainvoke({"messages": [HumanMessage("go")]}, config),
                mem.facts.aassert_fact("app", "s", "a", 1, author="x"),
                mem.store.aput(("notes",), "k", {"text": "written"}),
                mem.checkpointer.aget_tuple(config),
            )

        took, stall = await _while_held(postgres_db, calls)
        assert took >= HELD * 0.9  # the server really held the calls
        assert stall < 0.25, f"the loop stalled {stall:.3f}s while calls waited"
        assert (await mem.facts.aget("app", "s", "a")).value == 1
        assert (await mem.store.aget(("notes",), "k")).value == {"text": "written"}
        state = await graph.aget_state(config)
        assert [m.content for m in state.values["messages"]][-1] == "done"


async def test_the_check_sees_a_call_that_waits_on_the_loop(postgres_db: str) -> None:
    """The measure is real: the sync API called on the loop stalls it for the whole wait."""
    async with await SharedMemory.aopen(postgres_db, index=None) as mem:
        await mem.facts.aassert_fact("app", "s", "a", 0, author="x")

        async def calls() -> None:
            mem.facts.assert_fact("app", "s", "a", 1, author="x")

        _, stall = await _while_held(postgres_db, calls, "facts")
        assert stall >= HELD * 0.8
