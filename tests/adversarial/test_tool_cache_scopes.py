"""I3: no cached tool result crosses a user/run boundary unless the cache call said so.

The attacker is another user (or another run of the same user) calling the same tool with the
same arguments: through a wrapped LangChain tool, LangGraph's ``ToolNode``, a decorated
function called inside a runnable, ``cache.call``/``acall``, a template team, and processes
racing on one file. Every real execution records whom it served; every answer a caller gets
must come from an execution for its own user and run (``scope="run"``, the default), its own
user (``scope="user"``) or anyone (``scope="app"``, said explicitly).
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import re
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from langgraph_sharedmem import InvalidConfigError, SharedMemory, ToolCache
from langgraph_sharedmem.templates import (
    CUSTOMER_SERVICE_AGENTS,
    ScriptedChatModel,
    customer_service_team,
    tool_call,
)
from tests._servers import fresh_database
from tests.adversarial._stress import race_seconds

SCOPES = ("run", "user", "app")
PATHS = ("invoke", "ainvoke", "tool_node", "decorated", "adecorated", "call", "acall")


class Ledger:
    """Which caller each real execution served: the harness says who calls before each call
    (calls are sequential), the tool stamps its answer with its execution number."""

    def __init__(self) -> None:
        self.caller: tuple[str | None, str | None] = (None, None)
        self.served: dict[int, tuple[str | None, str | None]] = {}
        self._ids = itertools.count()

    def execute(self, q: str) -> str:
        n = next(self._ids)
        self.served[n] = self.caller
        return f"exec:{n}:{q}"

    def execution(self, answer: Any) -> int:
        found = re.fullmatch(r"exec:(\d+):.*", str(answer))
        assert found, f"not an answer of the probe tool: {answer!r}"
        return int(found.group(1))

    def origin(self, answer: Any) -> tuple[str | None, str | None]:
        return self.served[self.execution(answer)]


def allowed(scope: str, caller: tuple[Any, Any], origin: tuple[Any, Any]) -> bool:
    if scope == "app":
        return True
    if scope == "user":
        return origin[0] == caller[0]
    return origin == caller


def boundary(scope: str, caller: tuple[Any, Any]) -> tuple[Any, ...]:
    """Who shares with ``caller`` under ``scope``: agents never part of it."""
    return {"app": (), "user": caller[:1], "run": caller}[scope]


def refused(scope: str, caller: tuple[Any, Any]) -> bool:
    """A scoped call whose user or run cannot be told must not be shared: it is refused."""
    user, run = caller
    return (scope == "user" and user is None) or (scope == "run" and run is None)


class Harness:
    """Every way into the cache, for one probe tool (plain, or taking the injected config)."""

    def __init__(self, cache: ToolCache, ledger: Ledger, injected: bool) -> None:
        self.cache, self.ledger = cache, ledger
        name = "probe_injected" if injected else "probe"
        self.name = name
        if injected:

            @tool(name)
            def probe(q: str, config: RunnableConfig) -> str:
                """Answer q for the caller its config names."""
                conf = config.get("configurable") or {}
                assert (conf.get("user_id"), conf.get("thread_id")) == ledger.caller
                return ledger.execute(q)

        else:

            @tool(name)
            def probe(q: str) -> str:
                """Answer q."""
                return ledger.execute(q)

        self.tools = {s: cache.wrap_tool(probe, scope=s) for s in SCOPES}
        self.graphs = {s: _tool_node_graph(self.tools[s]) for s in SCOPES}

        def plain(q: str) -> str:
            return ledger.execute(q)

        async def aplain(q: str) -> str:
            return ledger.execute(q)

        self.decorated = {s: cache.cached(name=name, scope=s)(plain) for s in SCOPES}
        self.adecorated = {s: cache.cached(name=name, scope=s)(aplain) for s in SCOPES}
        self.plain, self.aplain = plain, aplain

    def run(self, path: str, scope: str, q: str, config: RunnableConfig) -> Any:
        cache, name = self.cache, self.name
        if path == "invoke":
            return self.tools[scope].invoke({"q": q}, config)
        if path == "ainvoke":
            return asyncio.run(self.tools[scope].ainvoke({"q": q}, config))
        if path == "tool_node":
            out = self.graphs[scope].invoke({"messages": [HumanMessage(q)]}, config)
            (message,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
            return message.content
        if path == "decorated":  # inside a runnable: the cache reads the config LangChain set
            return RunnableLambda(lambda x: self.decorated[scope](x)).invoke(q, config)
        if path == "adecorated":

            async def inner(x: str) -> Any:
                return await self.adecorated[scope](x)

            return asyncio.run(RunnableLambda(inner).ainvoke(q, config))
        if path == "call":
            return cache.call(name, {"q": q}, lambda: self.plain(q), scope=scope, config=config)
        return asyncio.run(
            cache.acall(name, {"q": q}, lambda: self.aplain(q), scope=scope, config=config)
        )


def _tool_node_graph(wrapped: Any) -> Any:
    def model(state: MessagesState) -> dict[str, Any]:
        q = str(state["messages"][-1].content)
        call = {"name": wrapped.name, "args": {"q": q}, "id": f"call-{q}"}
        return {"messages": [AIMessage("", tool_calls=[call])]}

    builder = StateGraph(MessagesState)
    builder.add_node("model", model)
    builder.add_node("tools", ToolNode([wrapped]))
    builder.add_edge(START, "model")
    builder.add_edge("model", "tools")
    builder.add_edge("tools", END)
    return builder.compile()


def _config(user: str | None, run: str | None) -> RunnableConfig:
    conf = {k: v for k, v in (("user_id", user), ("thread_id", run)) if v is not None}
    return {"configurable": conf}


calls = st.lists(
    st.tuples(
        st.sampled_from(["cust-a", "cust-b", None]),  # user
        st.sampled_from(["t1", "t2", None]),  # run (thread id; users may reuse each other's)
        st.sampled_from(["billing", "support"]),  # the agent asking: never a boundary
        st.sampled_from(["42", "43"]),  # arguments
        st.sampled_from(SCOPES),
        st.booleans(),  # a tool taking the injected config, or not
        st.sampled_from(PATHS),
    ),
    min_size=1,
    max_size=25,
)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def harnesses(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One cache per backend for the module (the keys' boundaries are each backend's SQL)."""
    ledger = Ledger()
    first: dict[tuple[Any, ...], int] = {}  # the execution that answers a key, per boundary
    with ExitStack() as stack:
        if request.param == "postgres":
            where = stack.enter_context(fresh_database(request.getfixturevalue("postgres_url")))
        else:
            where = str(tmp_path_factory.mktemp("i3") / "cache.db")
        cache = stack.enter_context(ToolCache(where))
        yield ledger, {inj: Harness(cache, ledger, inj) for inj in (False, True)}, first


@settings(settings.get_profile("adversarial"))
@given(calls)
def test_no_cached_result_crosses_a_user_or_run_boundary(harnesses: Any, sequence: Any) -> None:
    """Sequences of calls by different users, runs and agents, through every front-end, on
    one cache (results of earlier examples stay in it: more chances to leak). Inside a
    boundary the cache still shares: one execution per key, whichever front-end and agent."""
    ledger, by_injected, first = harnesses
    for user, run, _agent, q, scope, injected, path in sequence:
        ledger.caller = caller = (user, run)
        harness = by_injected[injected]
        before = len(ledger.served)
        if refused(scope, caller):
            with pytest.raises(InvalidConfigError, match=scope):
                harness.run(path, scope, q, _config(user, run))
            assert len(ledger.served) == before, "a refused call ran the tool"
            continue
        answer = harness.run(path, scope, q, _config(user, run))
        origin = ledger.origin(answer)
        assert allowed(scope, caller, origin), (
            f"{user}/{run} got, through {path} with scope={scope!r}, the result of an "
            f"execution for {origin}"
        )
        key = (harness.name, scope, boundary(scope, caller), q)
        assert first.setdefault(key, ledger.execution(answer)) == ledger.execution(answer), (
            f"{key} ran again through {path} although its scope had a result"
        )


def test_one_execution_per_key_within_a_scope(tmp_path: Path) -> None:
    """Sharing still works inside the boundary: agents of one run share run-scoped calls,
    runs of one user share user-scoped ones, everyone shares app-scoped ones."""
    ledger = Ledger()
    with ToolCache(tmp_path / "cache.db") as cache:
        harness = Harness(cache, ledger, injected=True)
        for scope, callers, executions in (
            ("run", [("cust-a", "t1")] * 3 + [("cust-a", "t2"), ("cust-b", "t1")], 3),
            ("user", [("cust-a", "t1"), ("cust-a", "t2"), ("cust-b", "t1")], 2),
            ("app", [("cust-a", "t1"), ("cust-b", "t2")], 1),
        ):
            before = len(ledger.served)
            for caller in callers:
                ledger.caller = caller
                harness.run("invoke", scope, "42", _config(*caller))
            assert len(ledger.served) - before == executions, scope


# -- a real template team: the reported bug -------------------------------------------------


ORDERS = {"cust-a": "2 chairs to 1 Rue A", "cust-b": "a lamp to 9 Street B"}


def _team(mem: SharedMemory, runs: list[str]) -> Any:
    @tool
    def my_order(order_id: str, config: RunnableConfig) -> str:
        """The caller's order: what and where to."""
        user = (config.get("configurable") or {}).get("user_id")
        runs.append(str(user))
        return f"order {order_id} of {user}: {ORDERS.get(str(user), 'none')}"

    def scripted(name: str) -> ScriptedChatModel:
        steps = {"billing": [tool_call("my_order", {"order_id": "42"}), "Looked it up."]}
        return ScriptedChatModel(steps.get(name, ["Nothing to do."]) * 4)

    agents = [dataclasses.replace(a, model=scripted(a.name)) for a in CUSTOMER_SERVICE_AGENTS]
    route = iter([])

    def triage(messages: list[Any]) -> Any:
        if str(messages[0].content).startswith("Answer the user"):
            return "done"
        nonlocal route
        step = next(route, None)
        if step is None:  # a new turn: billing, then finish
            route = iter([tool_call("finish")])
            return tool_call("transfer_to", {"agent": "billing", "instruction": "order"})
        return step

    return customer_service_team(
        mem, ScriptedChatModel([triage] * 40), agents=agents, tools=[my_order], compile=True
    )


@pytest.mark.parametrize("user_in", ["config", "state"])
def test_template_team_never_serves_one_customers_order_to_another(
    tmp_path: Path, user_in: str
) -> None:
    """cust-a then cust-b ask the team about order 42; each must get their own order (the
    user given in the config, or only in the input state as templates also allow)."""
    runs: list[str] = []
    with SharedMemory.open(tmp_path / "mem.db", index=None) as mem:
        graph = _team(mem, runs)
        for user, thread in (
            ("cust-a", "ticket-a"),
            ("cust-b", "ticket-b"),
            ("cust-a", "ticket-a"),
        ):
            conf: dict[str, Any] = {"thread_id": thread}
            state: dict[str, Any] = {"messages": [HumanMessage("where is order 42?")]}
            if user_in == "config":
                conf["user_id"] = user
            else:
                state["user_id"] = user
            out = graph.invoke(state, {"configurable": conf})
            answers = [
                m.content
                for m in out["messages"]
                if isinstance(m, ToolMessage) and m.name == "my_order"
            ]
            assert answers and all(ORDERS[user] in a for a in answers), (user, answers)
            other = next(u for u in ORDERS if u != user)
            assert all(ORDERS[other] not in str(m.content) for m in out["messages"])
    # cust-a's second turn in the same ticket was served from the cache: one run per user.
    assert Counter(runs) == {"cust-a": 1, "cust-b": 1}


# -- processes racing on one file --------------------------------------------------------------


def test_racing_processes_never_get_another_users_result(tmp_path: Path, backend_url: str) -> None:
    """Four processes (cust-a in runs t1 and t2, cust-b twice in t1 — the same thread id as
    cust-a's) call a user-scoped and a run-scoped tool on the same fresh key every 50 ms, on
    SQLite and on PostgreSQL (where claims lock per key)."""
    from tests._spawn import run_together
    from tests.adversarial._tool_cache_workers import racer

    db, logs = backend_url, tmp_path
    seconds = race_seconds(2)
    who = [("cust-a", "t1"), ("cust-a", "t2"), ("cust-b", "t1"), ("cust-b", "t1")]
    outcomes = run_together(racer, [(db, str(logs), u, r, seconds) for u, r in who])
    assert [o[4] for o in outcomes] == [None] * len(who), [o[4] for o in outcomes]

    received: dict[tuple[Any, ...], set[str]] = {}
    from_elsewhere = 0  # answers run by another process: the race really shared calls
    for user, run, pid, got, _ in outcomes:
        assert got, f"{user}/{run} made no calls"
        for (scope, q), answers in got.items():
            for their_user, their_run, execution, ran_in in answers:
                assert their_user == user, f"{user} got {their_user}'s result for {q}"
                if scope == "run":
                    assert their_run == run, f"{user}/{run} got run {their_run}'s result"
                group = (scope, user, run if scope == "run" else None, q)
                received.setdefault(group, set()).add(execution)
                from_elsewhere += ran_in != pid

    for scope in ("user", "run"):
        lines = (logs / f"{scope}.log").read_text().splitlines()
        executed = Counter(
            (scope, u, r if scope == "run" else None, q)
            for u, r, q, _, _ in (line.split("\t") for line in lines)
        )
        twice = {k: n for k, n in executed.items() if n > 1}
        assert not twice, f"keys executed more than once within their scope: {twice}"
    # Everyone in one scope got the one execution of their key, often another process's.
    assert all(len(executions) == 1 for executions in received.values()), received
    assert from_elsewhere > 0
