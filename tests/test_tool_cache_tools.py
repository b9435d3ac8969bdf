"""Tool cache: wrapped LangChain tools with injected arguments, wait timeouts, and hits that
never take the write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import InjectedState, InjectedStore, ToolNode
from langgraph.types import Command

from langgraph_sharedmem import SharedMemory, ToolCache, ToolCallWaitTimeout


@pytest.fixture
def cache(backend_url: str) -> Any:
    with ToolCache(backend_url) as c:
        yield c


def _tool_with_injected_args(runs: list[tuple[str, str, Any, Any]]) -> Any:
    @tool
    def forecast(
        city: str,
        tool_call_id: Annotated[str, InjectedToolCallId],
        state: Annotated[dict[str, Any], InjectedState],
        store: Annotated[Any, InjectedStore()],
        config: RunnableConfig,
        days: int = 1,
    ) -> str:
        """Weather forecast for a city."""
        thread = config.get("configurable", {}).get("thread_id")
        runs.append((city, tool_call_id, len(state["messages"]), thread))
        assert store is not None
        return f"sunny in {city} for {days} days"

    return forecast


def test_wrapped_tool_keeps_its_schema_and_leaves_injected_args_out_of_the_key(
    cache: ToolCache,
) -> None:
    runs: list[Any] = []
    original = _tool_with_injected_args(runs)
    wrapped = cache.wrap_tool(original)
    assert wrapped.name == original.name and wrapped.description == original.description
    assert wrapped.args == original.args
    assert (
        wrapped.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
        == original.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
    )
    assert set(wrapped.tool_call_schema.model_json_schema()["properties"]) == {"city", "days"}  # type: ignore[union-attr]


def test_tool_node_graph_injects_args_and_calls_once(tmp_path: Path) -> None:
    """A real graph: an AI message asks for the same forecast three times in one turn and
    again in a second thread of the same user; the tool, cached for the user, runs once,
    every ToolMessage answers its own call."""
    runs: list[Any] = []
    with SharedMemory.open(tmp_path / "mem.db", index=None) as mem:
        wrapped = mem.tool_cache.wrap_tool(_tool_with_injected_args(runs), scope="user")

        def model(state: MessagesState) -> dict[str, Any]:
            calls = [
                {"name": "forecast", "args": {"city": "Paris"}, "id": f"call-{i}"} for i in range(3)
            ]
            return {"messages": [AIMessage(content="", tool_calls=calls)]}

        builder = StateGraph(MessagesState)
        builder.add_node("model", model)
        builder.add_node("tools", ToolNode([wrapped]))
        builder.add_edge(START, "model")
        builder.add_edge("model", "tools")
        builder.add_edge("tools", END)
        graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)
        outs = [
            graph.invoke(
                {"messages": [HumanMessage(content="weather?")]},
                {"configurable": {"thread_id": thread, "user_id": "u1"}},
            )
            for thread in ("t1", "t2")
        ]
        for out in outs:
            answers = [m for m in out["messages"] if isinstance(m, ToolMessage)]
            assert sorted(m.tool_call_id for m in answers) == ["call-0", "call-1", "call-2"]
            assert {m.content for m in answers} == {"sunny in Paris for 1 days"}
        assert len(runs) == 1
        _city, call_id, n_messages, thread = runs[0]
        assert call_id.startswith("call-") and n_messages == 2 and thread == "t1"
        s = mem.tool_cache.stats("forecast")
        assert s.misses == 1 and s.calls_saved == 5


async def test_wrapped_tool_async_and_different_args_still_differ(cache: ToolCache) -> None:
    runs: list[Any] = []
    wrapped = cache.wrap_tool(_tool_with_injected_args(runs))

    def call(city: str, call_id: str, days: int = 1) -> dict[str, Any]:
        args = {"city": city, "days": days, "state": {"messages": []}, "store": object()}
        return {"type": "tool_call", "id": call_id, "name": "forecast", "args": args}

    run: Any = {"configurable": {"thread_id": "t1"}}
    first = await wrapped.ainvoke(call("Paris", "a"), run)
    again = await wrapped.ainvoke(call("Paris", "b"), run)
    other = await asyncio.to_thread(wrapped.invoke, call("Paris", "c", days=2), run)
    assert first.content == again.content == "sunny in Paris for 1 days"
    assert (first.tool_call_id, again.tool_call_id) == ("a", "b")
    assert other.content == "sunny in Paris for 2 days"
    assert [r[1] for r in runs] == ["a", "c"]


def test_results_naming_their_tool_call_are_not_replayed(cache: ToolCache) -> None:
    runs: list[str] = []

    @tool
    def update(city: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> Command:
        """Record a city in the state."""
        runs.append(tool_call_id)
        return Command(update={"messages": [ToolMessage(city, tool_call_id=tool_call_id)]})

    wrapped = cache.wrap_tool(update, scope="app")
    for call_id in ("x1", "x2"):
        out = wrapped.invoke(
            {"type": "tool_call", "id": call_id, "name": "update", "args": {"city": "Oslo"}}
        )
        assert out.update["messages"][0].tool_call_id == call_id
    assert runs == ["x1", "x2"] and cache.stats().uncacheable == 2


def test_wait_timeout_gives_a_clear_error(cache: ToolCache) -> None:
    release = threading.Event()

    @cache.cached(name="slow_api", lease=0.3, scope="app")
    def slow(q: str) -> str:
        release.wait(10)
        return q

    holder = threading.Thread(target=slow, args=("q",))
    holder.start()
    try:
        deadline = time.monotonic() + 5
        while cache.stats().misses == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        impatient = cache.cached(name="slow_api", wait_timeout=0.3, scope="app")(
            lambda q: "ran twice"
        )
        t0 = time.monotonic()
        with pytest.raises(ToolCallWaitTimeout) as info:
            impatient("q")
        waited = time.monotonic() - t0
        assert 0.3 <= waited < 1.5  # the lease (renewed) outlives the timeout
        err = info.value
        assert isinstance(err, TimeoutError)
        assert err.tool == "slow_api" and err.holder and "slow_api" in str(err)
        assert "wait_timeout" in str(err)
    finally:
        release.set()
        holder.join()
    assert (
        cache.cached(name="slow_api", wait_timeout=0.3, scope="app")(lambda q: "ran twice")("q")
        == "q"
    )


async def test_async_wait_timeout(cache: ToolCache) -> None:
    gate = asyncio.Event()

    @cache.cached(name="aslow", scope="app")
    async def slow() -> str:
        await gate.wait()
        return "done"

    holder = asyncio.ensure_future(slow())
    await asyncio.sleep(0.2)

    @cache.cached(name="aslow", wait_timeout=0.2, scope="app")
    async def impatient() -> str:
        return "ran twice"

    with pytest.raises(ToolCallWaitTimeout):
        await impatient()
    gate.set()
    assert await holder == "done" and await impatient() == "done"


def test_bad_wait_timeout_is_refused(cache: ToolCache) -> None:
    from langgraph_sharedmem import InvalidConfigError

    with pytest.raises(InvalidConfigError, match="wait_timeout"):
        ToolCache(":memory:", wait_timeout=0)
    with pytest.raises(InvalidConfigError, match="wait_timeout"):
        cache.call("t", {}, lambda: 1, wait_timeout=-1)


def test_hits_do_not_take_the_write_lock(db_path: Path) -> None:
    """Another process holding the write lock does not slow a hit down; hit counts reach
    the database in batches and exactly once."""
    with ToolCache(db_path) as cache:
        api = cache.cached(name="api", scope="app")(lambda q: {"q": q})
        api("x")
        other = sqlite3.connect(db_path, isolation_level=None, timeout=0)
        other.execute("BEGIN IMMEDIATE")  # a writer elsewhere, holding the lock
        try:
            samples = []
            for _ in range(200):
                t0 = time.perf_counter()
                assert api("x") == {"q": "x"}
                samples.append(time.perf_counter() - t0)
        finally:
            other.execute("ROLLBACK")
            other.close()
        samples.sort()
        assert samples[len(samples) // 2] < 0.001, samples[len(samples) // 2]
        assert cache.stats().hits == 200
        assert cache.shared_stats().calls_saved == 200  # flushed, none lost, none twice
    with ToolCache(db_path) as again:
        assert again.shared_stats().calls_saved == 200


def test_buffered_hits_are_written_on_close(backend_url: str) -> None:
    db_path = backend_url
    with SharedMemory.open(db_path, index=None) as mem:
        api = mem.tool_cache.cached(name="api", scope="app")(lambda q: q)
        for _ in range(5):
            api("x")
    with ToolCache(db_path) as cache:
        shared = cache.shared_stats()
        assert (shared.runs, shared.calls_saved) == (1, 4)


def test_clear_takes_the_wrapped_tool(cache: ToolCache) -> None:
    runs: list[str] = []

    @tool
    def convert(amount: int) -> str:
        """Convert an amount."""
        runs.append(str(amount))
        return str(amount)

    wrapped = cache.wrap_tool(convert, scope="app")
    wrapped.invoke({"amount": 3})
    wrapped.invoke({"amount": 3})
    assert cache.clear(wrapped) == 1
    wrapped.invoke({"amount": 3})
    assert runs == ["3", "3"]
