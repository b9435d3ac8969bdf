"""The shared tool-call cache: one execution per call across branches, threads, processes."""

from __future__ import annotations

import asyncio
import operator
import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph

from langgraph_sharedmem import CachedToolError, InvalidConfigError, SharedMemory, ToolCache
from tests import _tool_cache_workers as workers
from tests._spawn import CTX, run_together


@pytest.fixture
def cache(backend_url: str) -> Any:
    with ToolCache(backend_url) as c:
        yield c


def test_hit_after_first_call_and_argument_order(cache: ToolCache) -> None:
    calls: list[tuple[int, int]] = []

    @cache.cached(ttl=60, scope="app")
    def add(a: int, b: int = 2) -> int:
        calls.append((a, b))
        return a + b

    assert add(1) == add(a=1, b=2) == add(b=2, a=1) == 3
    assert calls == [(1, 2)]
    s = cache.stats()
    assert (s.hits, s.misses, s.calls_saved) == (2, 1, 2)
    assert cache.shared_stats().runs == 1


def test_mission_parallel_branches_in_a_stategraph(backend_url: str, tmp_path: Path) -> None:
    """Research and planning agents, parallel branches, three calls each: one API run."""
    counter = str(tmp_path / "runs.txt")
    with SharedMemory.open(backend_url, index=None) as mem:
        api = mem.tool_cache.cached(name="weather_api", scope="app")(workers.slow_api)

        class State(TypedDict):
            answers: Annotated[list[Any], operator.add]

        def agent(state: State) -> dict[str, Any]:
            return {"answers": workers.call_from_three_threads(api, counter, 0.5)}

        builder = StateGraph(State)
        builder.add_node("research", agent)
        builder.add_node("planning", agent)
        builder.add_edge(START, "research")
        builder.add_edge(START, "planning")
        builder.add_edge("research", END)
        builder.add_edge("planning", END)
        out = builder.compile().invoke({"answers": []})
        assert workers.runs(counter) == 1
        assert out["answers"] == [{"query": "weather in Paris", "answer": 42}] * 6
        s = mem.tool_cache.stats()
        assert s.misses == 1 and s.calls_saved == 5


async def test_mission_async_branches(backend_url: str, tmp_path: Path) -> None:
    counter = tmp_path / "runs.txt"
    with ToolCache(backend_url) as cache:

        @cache.cached(name="weather_api")  # scope "run": the branches share one run
        async def api(query: str) -> dict[str, Any]:
            with open(counter, "a") as f:
                f.write("ran\n")
            await asyncio.sleep(0.3)
            return {"query": query}

        class State(TypedDict):
            answers: Annotated[list[Any], operator.add]

        async def agent(state: State) -> dict[str, Any]:
            return {"answers": list(await asyncio.gather(*(api("q") for _ in range(3))))}

        builder = StateGraph(State)
        builder.add_node("research", agent)
        builder.add_node("planning", agent)
        builder.add_edge(START, "research")
        builder.add_edge(START, "planning")
        graph = builder.compile()
        out = await graph.ainvoke({"answers": []}, {"configurable": {"thread_id": "t1"}})
        assert workers.runs(counter) == 1
        assert out["answers"] == [{"query": "q"}] * 6
        # Another run does not get the first run's result: it makes its own call.
        await graph.ainvoke({"answers": []}, {"configurable": {"thread_id": "t2"}})
        assert workers.runs(counter) == 2


def test_mission_separate_processes(backend_url: str, tmp_path: Path) -> None:
    path, counter = backend_url, str(tmp_path / "runs.txt")
    ToolCache(path).setup()
    outcomes = run_together(
        workers.agent_process, [(path, counter, "research"), (path, counter, "planning")]
    )
    assert [o[3] for o in outcomes] == [None, None], [o[3] for o in outcomes]
    assert workers.runs(counter) == 1
    answers = [a for o in outcomes for a in o[1]]
    assert answers == [{"query": "weather in Paris", "answer": 42}] * 6
    assert sum(o[2].misses for o in outcomes) == 1
    assert sum(o[2].calls_saved for o in outcomes) == 5


def test_killed_holder_lease_expires_and_one_waiter_takes_over(
    backend_url: str, tmp_path: Path
) -> None:
    path, counter = backend_url, str(tmp_path / "runs.txt")
    ToolCache(path).setup()
    started = CTX.Event()
    child = CTX.Process(target=workers.hold_and_hang, args=(path, counter, started))
    child.start()
    try:
        assert started.wait(60)
        with ToolCache(path, lease=0.5) as cache:

            @cache.cached(name="hanging_api", scope="app")
            def api(query: str) -> str:
                with open(counter, "a") as f:
                    f.write("ran\n")
                time.sleep(0.2)
                return "taken over"

            results: list[str] = []
            waiters = [threading.Thread(target=lambda: results.append(api("q"))) for _ in range(3)]
            for t in waiters:
                t.start()
            time.sleep(1.0)  # the child renews its lease: nobody may take over yet
            assert workers.runs(counter) == 1 and results == []
            os.kill(child.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            for t in waiters:
                t.join(30)
            assert results == ["taken over"] * 3
            assert time.monotonic() - killed_at < 5
            assert workers.runs(counter) == 2  # the dead child's run and one takeover
            s = cache.stats()
            assert (s.takeovers, s.misses, s.waits) == (1, 1, 2)
    finally:
        child.kill()
        child.join()


def test_long_call_keeps_its_lease(cache: ToolCache) -> None:
    runs: list[int] = []

    @cache.cached(lease=0.2, scope="app")
    def slow() -> str:
        runs.append(1)
        time.sleep(1.0)  # five leases long: only the heartbeat keeps it
        return "done"

    threads = [threading.Thread(target=slow) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert runs == [1]


def test_errors_not_cached_by_default(cache: ToolCache) -> None:
    attempts: list[int] = []

    @cache.cached(scope="app")
    def flaky(x: int) -> int:
        attempts.append(x)
        if len(attempts) == 1:
            raise ConnectionError("api down")
        return x * 10

    with pytest.raises(ConnectionError):
        flaky(1)
    assert flaky(1) == 10 and flaky(1) == 10
    assert len(attempts) == 2
    assert cache.stats().errors == 1


def test_errors_cached_when_asked(cache: ToolCache) -> None:
    attempts: list[int] = []

    @cache.cached(cache_errors=True, ttl=60, scope="app")
    def broken(x: int) -> int:
        attempts.append(x)
        raise ValueError("bad city")

    with pytest.raises(ValueError):
        broken(1)
    with pytest.raises(CachedToolError) as info:
        broken(1)
    assert info.value.error_type == "ValueError" and info.value.error_message == "bad city"
    assert attempts == [1]


def test_ttl_expiry(cache: ToolCache) -> None:
    runs: list[int] = []

    @cache.cached(ttl=0.2, scope="app")
    def now() -> int:
        runs.append(1)
        return len(runs)

    assert now() == now() == 1
    time.sleep(0.3)
    assert now() == 2
    assert cache.purge_expired() == 0  # the fresh one stays


def test_clear_forgets_one_tools_results_or_all(cache: ToolCache) -> None:
    runs: list[str] = []

    @cache.cached(name="rate", scope="app")
    def rate(currency: str) -> str:
        runs.append(f"rate {currency}")
        return currency

    @cache.cached(name="weather", scope="app")
    def weather(city: str) -> str:
        runs.append(f"weather {city}")
        return city

    rate("EUR"), rate("USD"), weather("Oslo")
    assert cache.clear("rate") == 2  # that tool's results only
    rate("EUR"), weather("Oslo")
    assert runs == ["rate EUR", "rate USD", "weather Oslo", "rate EUR"]
    assert cache.clear() == 2  # every tool's
    weather("Oslo")
    assert runs[-1] == "weather Oslo" and cache.shared_stats().entries == 1


def test_clear_takes_the_cached_function_whatever_it_is_named(cache: ToolCache) -> None:
    """A function cached without ``name=`` is stored under ``module.qualname``: clearing it
    by its short name forgets nothing, clearing it by the function forgets its results."""
    runs: list[str] = []

    @cache.cached(scope="app")
    def rate(currency: str) -> str:
        runs.append(currency)
        return currency

    rate("EUR")
    assert cache.clear("rate") == 0
    assert cache.clear(rate) == 1
    rate("EUR")
    assert runs == ["EUR", "EUR"]
    with pytest.raises(InvalidConfigError, match="clear\\(\\) takes a tool's name"):
        cache.clear(print)
    assert cache.shared_stats().entries == 1  # the refused call forgot nothing


def test_scope_keeps_results_private(cache: ToolCache) -> None:
    """The user and run come from the config: a parameter annotated RunnableConfig (left
    out of the key), else the config LangChain set for the runnable being run."""
    runs: list[str] = []

    @cache.cached(scope="user")
    def inbox(folder: str, config: RunnableConfig) -> str:
        user = config["configurable"]["user_id"]
        runs.append(user)
        return f"{folder} of {user}"

    def as_user(user: str, thread: str) -> RunnableConfig:
        return {"configurable": {"user_id": user, "thread_id": thread}}

    assert inbox("mail", as_user("u1", "t1")) == inbox("mail", as_user("u1", "t2"))
    assert inbox("mail", as_user("u2", "t1")) == "mail of u2"
    assert runs == ["u1", "u2"]

    @cache.cached  # scope "run", config from the runnable it is called in
    def weather(city: str) -> str:
        runs.append(city)
        return f"sunny in {city}"

    step = RunnableLambda(lambda city: weather(city))
    for thread in ("t1", "t1", "t2"):
        assert step.invoke("Paris", as_user("u1", thread)) == "sunny in Paris"
    assert runs[2:] == ["Paris", "Paris"]  # one call per run

    # A scope that leaves the user or run unknown is refused before the tool runs.
    with pytest.raises(InvalidConfigError, match="scope='run'.*no run"):
        weather("Rome")
    with pytest.raises(InvalidConfigError, match="scope='user'.*no user"):
        inbox("mail", {"configurable": {"thread_id": "t1"}})
    with pytest.raises(InvalidConfigError, match="'run'.*'user' or 'app'"):
        cache.cached(scope="user:u1")(weather)
    assert "Rome" not in runs


async def test_async_and_sync_share_results(cache: ToolCache) -> None:
    @cache.cached(name="api", scope="app")
    async def aapi(q: str) -> list[str]:
        return [q, "async"]

    @cache.cached(name="api", scope="app")
    def api(q: str) -> list[str]:
        return [q, "sync"]

    assert await aapi("x") == ["x", "async"]
    assert await asyncio.to_thread(api, "x") == ["x", "async"]


def test_wrap_tool_sync_and_async(cache: ToolCache) -> None:
    runs: list[str] = []

    @tool
    def lookup(city: str, days: int = 1) -> str:
        """Weather forecast for a city."""
        runs.append(city)
        return f"sunny in {city} for {days}"

    cached = cache.wrap_tool(lookup, scope="app")
    assert cached.name == "lookup" and cached.description == lookup.description
    assert cached.invoke({"city": "Paris"}) == "sunny in Paris for 1"
    assert asyncio.run(cached.ainvoke({"days": 1, "city": "Paris"})) == "sunny in Paris for 1"
    msg = cached.invoke(
        {"type": "tool_call", "id": "c1", "name": "lookup", "args": {"city": "Paris"}}
    )
    assert msg.content == "sunny in Paris for 1" and msg.tool_call_id == "c1"
    assert runs == ["Paris"]


def test_non_json_results_use_the_serializer_or_are_not_stored(cache: ToolCache) -> None:
    from langchain_core.messages import AIMessage

    runs: list[int] = []

    @cache.cached(scope="app")
    def message() -> AIMessage:
        runs.append(1)
        return AIMessage(content="hi")

    @cache.cached(scope="app")
    def opaque() -> object:
        runs.append(2)
        return threading.Lock()

    assert message() == message() == AIMessage(content="hi")
    opaque()
    opaque()
    assert runs == [1, 2, 2]
    assert cache.stats().uncacheable == 2
