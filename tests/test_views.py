"""Agent views in real LangGraph graphs: isolation between agents, and memory tools driven by a
fake chat model's tool calls that cannot leave the view's scope."""

from __future__ import annotations

import operator
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import pytest
from _graphs import linear_graph
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.prebuilt import ToolNode

from langgraph_sharedmem import AccessDenied, SharedMemory, memory_tools
from langgraph_sharedmem.agents import namespace, scope_of
from langgraph_sharedmem.facts import Scope


@pytest.fixture
def mem(backend_url: str) -> Iterator[SharedMemory]:
    with SharedMemory.open(backend_url) as m:
        for agent in ("billing", "support"):
            m.register_agent(agent)
        m.register_user("u1")
        m.access.grant_user("u1", "billing", read=True, write=True)
        yield m


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


class State(TypedDict):
    user: str
    seen: Annotated[list[tuple[str, Any]], operator.add]


def test_namespace_mapping_is_one_documented_shape() -> None:
    assert namespace(Scope.app()) == ("sharedmem", "app", "default")
    assert namespace(Scope.user("u1"), "prefs") == ("sharedmem", "user", "u1", "prefs")
    assert scope_of(("sharedmem", "agent", "billing", "notes")) == Scope.agent("billing")
    assert scope_of(("other", "x")) is None


def test_two_agents_in_a_graph_are_isolated(mem: SharedMemory) -> None:
    def billing(state: State, config: RunnableConfig) -> dict[str, Any]:
        run = config["configurable"]["thread_id"]
        view = mem.agent("billing", user_id=state["user"], run_id=run)
        view.remember("card", {"text": "visa card ending 4242"})  # private
        view.remember("plan", {"text": "pro plan billed monthly"}, scope="user")
        view.remember("ticket", {"text": "refund card charge requested"}, scope="run")
        return {"seen": [("billing", sorted(i.key for i in view.search("card")))]}

    def support(state: State, config: RunnableConfig) -> dict[str, Any]:
        run = config["configurable"]["thread_id"]
        view = mem.agent("support", user_id=state["user"], run_id=run)
        found = sorted(i.key for i in view.search("card"))  # silently excludes the rest
        try:
            view.get("card", scope=("agent", "billing"))
            outcome = "read"
        except AccessDenied:
            outcome = "denied"
        return {"seen": [("support", found), ("support-get", outcome)]}

    graph = linear_graph(State, ("billing", billing), ("support", support)).compile(
        checkpointer=mem.checkpointer, store=mem.store
    )
    out = graph.invoke({"user": "u1", "seen": []}, {"configurable": {"thread_id": "t1"}})
    assert dict(out["seen"]) == {
        "billing": ["card", "plan", "ticket"],
        "support": ["ticket"],  # the run is shared; billing's private card and u1's plan not
        "support-get": "denied",
    }
    denials = mem.audit(outcome="denied")
    assert [(e.agent, e.scope, e.subject) for e in denials] == [
        ("support", "agent:billing", "card")
    ]
    # The bare store (what get_store() hands a node) sees the mapping, nothing hidden there.
    assert mem.store.get(("sharedmem", "agent", "billing"), "card") is not None


def _agent_graph(mem: SharedMemory, agent: str, script: list[AIMessage]) -> Any:
    """A ReAct-style loop: a fake chat model whose tool calls go to memory tools bound to the
    agent's view for this thread (ids come from the graph's config, never from the model)."""
    model = GenericFakeChatModel(messages=iter(script))

    def call_model(state: Chat) -> dict[str, Any]:
        return {"messages": [model.invoke(state["messages"])]}

    def tools(state: Chat, config: RunnableConfig) -> dict[str, Any]:
        view = mem.agent(agent, user_id="u1", run_id=config["configurable"]["thread_id"])
        return ToolNode(memory_tools(view)).invoke(state, config)

    def route(state: Chat) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    builder = StateGraph(Chat)
    builder.add_node("model", call_model)
    builder.add_node("tools", tools)
    builder.add_edge(START, "model")
    builder.add_conditional_edges("model", route, ["tools", END])
    builder.add_edge("tools", "model")
    return builder.compile(checkpointer=mem.checkpointer, store=mem.store)


def _call(name: str, args: dict[str, Any], i: int) -> dict[str, Any]:
    return {"name": name, "args": args, "id": f"call{i}", "type": "tool_call"}


def test_tool_calls_from_a_model_cannot_escape_the_view(mem: SharedMemory) -> None:
    mem.agent("billing", user_id="u1").remember("card", {"content": "visa 4242"})
    attempts = [
        _call("recall", {"key": "card"}, 1),  # billing's private key: not in support's scopes
        _call("remember", {"content": "x", "scope": "agent:billing"}, 2),  # not in the enum
        _call("remember", {"content": "x", "scope": "user"}, 3),  # user not writable
        _call("remember", {"content": "x", "agent_id": "billing"}, 4),  # extra argument
        _call("forget", {"key": "card", "scope": ("agent", "billing")}, 5),
        _call("search_memory", {"query": "visa"}, 6),
        _call("remember", {"content": "customer prefers email", "key": "pref"}, 7),
    ]
    script = [AIMessage(content="", tool_calls=attempts), AIMessage(content="done")]
    graph = _agent_graph(mem, "support", script)
    out = graph.invoke({"messages": [HumanMessage("hi")]}, {"configurable": {"thread_id": "t9"}})
    replies = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    assert replies["call1"].content == "not found"
    for i in (2, 3, 4, 5):
        assert replies[f"call{i}"].status == "error", replies[f"call{i}"].content
    assert "visa" not in replies["call6"].content
    assert "remembered 'pref' in agent memory" in replies["call7"].content
    # Nothing reached billing's memory or the user's; the legitimate write landed.
    assert mem.store.get(("sharedmem", "agent", "billing"), "card").value == {
        "content": "visa 4242"
    }
    assert mem.store.search(("sharedmem", "user", "u1")) == []
    assert mem.store.get(("sharedmem", "agent", "support"), "pref") is not None


def test_tools_enforce_grants_changed_after_they_were_made(mem: SharedMemory) -> None:
    view = mem.agent("billing", user_id="u1", run_id="r1")
    remember, recall, _search, _forget = memory_tools(view)
    assert remember.args["scope"]["default"] == "user"
    remember.invoke({"content": "likes tea", "key": "drink", "scope": "user"})
    mem.access.revoke_user("u1", "billing")
    reply = remember.invoke(
        {
            "type": "tool_call",
            "id": "c1",
            "name": "remember",
            "args": {"content": "likes coffee", "key": "drink", "scope": "user"},
        }
    )
    assert reply.status == "error" and "may not remember" in reply.content
    assert recall.invoke({"key": "drink"}) == "not found"  # user scope no longer readable
    assert mem.audit(agent="billing", outcome="denied")[-1].action == "remember"
