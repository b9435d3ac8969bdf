"""The prebuilt templates end to end: real SQLite + Chroma in tmp_path, real LangGraph graphs
compiled with the memory's checkpointer and store, scripted chat models in place of LLMs."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool

from langgraph_sharedmem import AccessDenied, InvalidConfigError, SharedMemory
from langgraph_sharedmem.templates import (
    CUSTOMER_SERVICE_AGENTS,
    AgentSpec,
    ScriptedChatModel,
    customer_service_team,
    research_pipeline,
    supervisor_team,
    tool_call,
)
from langgraph_sharedmem.validation import Check, HumanReview, approve, reject

USER = "cust-7"
ORDER = "order:42"


@pytest.fixture
def mem(backend_url: str) -> Iterator[SharedMemory]:
    with SharedMemory.open(backend_url) as m:
        yield m


def config(thread: str = "t1", user: str | None = USER) -> dict[str, Any]:
    conf: dict[str, Any] = {"thread_id": thread}
    if user is not None:
        conf["user_id"] = user
    return {"configurable": conf}


def router(*steps: AIMessage, answer: Any = "done") -> ScriptedChatModel:
    """A supervisor model: the given routing steps, then ``finish``; the final answer when
    it is asked for one (the respond node's prompt)."""
    queue = iter(steps)

    def step(messages: list[BaseMessage]) -> AIMessage | str:
        if str(messages[0].content).startswith("Answer the user"):
            return answer(messages) if callable(answer) else answer
        return next(queue, None) or tool_call("finish")

    return ScriptedChatModel([step] * 12, name="router")


def said_by(candidate: Any) -> list[Any]:
    """Where the record_fact tool said a candidate fact comes from."""
    return [(s.source or {}).get("said_by") for s in candidate.claim.sources]


def system_text(model: ScriptedChatModel, call: int = 0) -> str:
    return str(model.calls[call][0].content)


# -- the scripted model ------------------------------------------------------------------------


def test_scripted_model_plays_tool_calls_and_records_prompts() -> None:
    @tool
    def echo(text: str) -> str:
        """Echo."""
        return text

    model = ScriptedChatModel([tool_call("echo", {"text": "hi"}), "bye"])
    bound = model.bind_tools([echo])
    first = bound.invoke([HumanMessage("go")])
    assert first.tool_calls[0]["name"] == "echo" and first.tool_calls[0]["args"] == {"text": "hi"}
    assert first.tool_calls[0]["id"]
    assert bound.invoke([HumanMessage("again")]).content == "bye"
    assert model.tools_seen == [["echo"], ["echo"]]
    assert [m[-1].content for m in model.calls] == ["go", "again"]
    with pytest.raises(InvalidConfigError, match="ran out of responses"):
        model.invoke("more")


# -- customer service ----------------------------------------------------------------------------


def customer_team(mem: SharedMemory, counter: list[int], **options: Any) -> tuple[Any, dict]:
    @tool
    def lookup_order(order_id: str) -> dict[str, Any]:
        """Look an order up."""
        counter.append(1)
        return {"order_id": order_id, "status": "processing"}

    models = {
        "billing": ScriptedChatModel(
            [
                tool_call("lookup_order", {"order_id": "42"}),
                tool_call(
                    "record_fact",
                    {
                        "subject": ORDER,
                        "attribute": "status",
                        "value": "processing",
                        "source": "lookup_order",
                    },
                ),
                tool_call(
                    "remember", {"key": "case", "content": "double charge", "scope": "agent"}
                ),
                "Order 42 is processing.",
            ]
        ),
        "support": ScriptedChatModel(
            [
                tool_call(
                    "record_fact",
                    {
                        "subject": ORDER,
                        "attribute": "status",
                        "value": "shipped",
                        "source": "customer",
                    },
                ),
                tool_call("lookup_order", {"order_id": "42"}),
                tool_call("remember", {"key": "contact", "content": "email only", "scope": "user"}),
                tool_call("recall", {"key": "case"}),
                "Not shipped yet.",
            ]
        ),
        "account": ScriptedChatModel(
            [
                tool_call("recall", {"key": "contact"}),
                tool_call("lookup_order", {"order_id": "42"}),
                "Contact by email.",
            ]
        ),
    }
    agents = [dataclasses.replace(a, model=models[a.name]) for a in CUSTOMER_SERVICE_AGENTS]
    triage = router(
        tool_call("transfer_to", {"agent": "billing", "instruction": "charges"}),
        tool_call("transfer_to", {"agent": "support", "instruction": "delivery"}),
        tool_call("transfer_to", {"agent": "account", "instruction": "contact"}),
        answer=lambda messages: "final: " + str(messages[0].content),
    )
    builder = customer_service_team(mem, triage, agents=agents, tools=[lookup_order], **options)
    models["triage"] = triage
    return builder.compile(checkpointer=mem.checkpointer, store=mem.store), models


def test_customer_service_team_end_to_end(mem: SharedMemory) -> None:
    calls: list[int] = []
    graph, models = customer_team(mem, calls)
    out = graph.invoke({"messages": [HumanMessage("charged twice for order 42")]}, config())

    # The disagreement: billing (trust 0.9) outranks support; support's value is refused.
    user = ("user", USER)
    assert mem.facts.get(user, ORDER, "status").value == "processing"
    (dispute,) = mem.facts.disagreements(user, ORDER, status=None)
    assert dispute.decided_by == "policy:trust_ranking"
    by_value = {c.value: c.status for c in dispute.claims}
    assert by_value == {"processing": "verified", "shipped": "rejected"}
    # Nobody downstream was shown the refused value.
    for name in ("account", "triage"):
        assert all("'shipped'" not in str(m.content) for p in models[name].calls for m in p)

    # One real lookup for three agents asking; the database says so too.
    assert len(calls) == 1
    stats = mem.tool_cache.shared_stats("lookup_order")
    assert (stats.runs, stats.calls_saved) == (1, 2)

    # User-shared memory: support wrote it, account read it. Agent-private: support cannot.
    assert mem.agent("account", user_id=USER).get("contact", scope="user").value == {
        "content": "email only"
    }
    tool_results = [m for m in out["messages"] if isinstance(m, ToolMessage) and m.name == "recall"]
    assert "email only" in str(tool_results[-1].content)  # account's recall
    support_recall = [
        m for m in out["messages"] if isinstance(m, ToolMessage) and m.name == "recall"
    ][0]
    assert support_recall.content == "not found"  # billing's private case is not support's
    with pytest.raises(AccessDenied):
        mem.agent("support", user_id=USER).get("case", scope=("agent", "billing"))
    assert mem.agent("billing", user_id=USER).get("case", scope="agent") is not None

    # The answer is built from verified facts only, and is in the checkpoint.
    assert "order:42.status = 'processing'" in out["final"]
    assert graph.get_state(config()).values["final"] == out["final"]
    assert [r["agent"] for r in out["context"]] == ["billing", "support", "account"]
    assert all(r["sent_tokens"] <= r["transcript_tokens"] for r in out["context"])


def test_a_second_request_is_a_new_turn(mem: SharedMemory) -> None:
    calls: list[int] = []
    graph, _ = customer_team(mem, calls)
    graph.invoke({"messages": [HumanMessage("charged twice for order 42")]}, config())
    before = len(graph.get_state(config()).values["messages"])
    # A turn where the router answers nobody: the registry's best match for the task goes.
    graph2_models = {a.name: ScriptedChatModel(["On it."]) for a in CUSTOMER_SERVICE_AGENTS}
    agents = [dataclasses.replace(a, model=graph2_models[a.name]) for a in CUSTOMER_SERVICE_AGENTS]
    plain = router(AIMessage("I think billing"), answer="ok")
    graph2 = customer_service_team(mem, plain, agents=agents).compile(
        checkpointer=mem.checkpointer, store=mem.store
    )
    out = graph2.invoke({"messages": [HumanMessage("a refund for my invoice")]}, config())
    assert out["outputs"] == {"billing": "On it."}
    assert out["handoffs"] == 1 and out["final"] == "ok"
    assert len(out["messages"]) > before


async def test_runs_async_as_studio_does(mem: SharedMemory) -> None:
    calls: list[int] = []
    graph, _ = customer_team(mem, calls)
    blockbuster = pytest.importorskip("blockbuster")
    with blockbuster.blockbuster_ctx():  # what `langgraph dev` checks: no blocking on the loop
        out = await graph.ainvoke({"messages": [HumanMessage("order 42?")]}, config("t-async"))
    assert mem.facts.get(("user", USER), ORDER, "status").value == "processing"
    assert len(calls) == 1 and out["final"]


def test_two_processes_share_one_team_memory(db_path: Path, tmp_path: Path) -> None:
    """Two tickets of one customer in two processes at once: one order lookup for both,
    one settled status, both conversations checkpointed in the one file."""
    from tests._spawn import run_together
    from tests._templates_workers import executions, team_process

    counter = str(tmp_path / "order-system.log")
    outcomes = run_together(
        team_process, [(str(db_path), counter, "ticket-a"), (str(db_path), counter, "ticket-b")]
    )
    assert [o[2] for o in outcomes] == [None, None], outcomes
    assert executions(counter) == 1
    with SharedMemory.open(db_path) as mem:
        assert mem.tool_cache.shared_stats("lookup_order").runs == 1
        user = ("user", USER)
        assert mem.facts.get(user, ORDER, "status").value == "processing"
        claims = {c.value: c.status for c in mem.facts.claims(user, ORDER, "status")}
        assert claims == {"processing": "verified", "shipped": "rejected"}
        for ticket, final, _ in outcomes:
            assert "order:42.status = 'processing'" in final
            state = mem.checkpointer.get_tuple({"configurable": {"thread_id": ticket}})
            assert state.checkpoint["channel_values"]["final"] == final


# -- supervisor team ------------------------------------------------------------------------------


def test_supervisor_team_routes_through_the_registry(mem: SharedMemory) -> None:
    weather = AgentSpec(
        "weather",
        "Forecasts and weather conditions",
        capabilities=("weather", "forecast"),
        model=ScriptedChatModel(["Sunny tomorrow."]),
    )
    travel = AgentSpec(
        "travel",
        "Flights, trains and hotel bookings",
        capabilities=("flights", "hotels"),
        model=ScriptedChatModel(["Booked."]),
    )
    lead = router(AIMessage("no tool call"), answer="Sunny.")  # the registry decides
    graph = supervisor_team(mem, lead, [travel, weather], compile=True)
    out = graph.invoke(
        {"messages": [HumanMessage("what is the weather forecast")]}, config("s1", user=None)
    )
    assert out["outputs"] == {"weather": "Sunny tomorrow."}
    assert mem.registry.get("weather").capabilities == ("weather", "forecast")
    # The router was shown the registry's ranking, best match first.
    shown = system_text(lead)
    assert shown.index("- weather:") < shown.index("- travel:")


def test_retired_agents_are_not_routed_to(mem: SharedMemory) -> None:
    weather = AgentSpec(
        "weather",
        "Forecasts",
        capabilities=("weather", "forecast"),
        model=ScriptedChatModel(["Sunny."]),
    )
    travel = AgentSpec(
        "travel",
        "Flights and hotels",
        capabilities=("flights",),
        model=ScriptedChatModel(["Booked."]),
    )
    # The model insists on the retired agent: the team does not have it any more.
    lead = router(tool_call("transfer_to", {"agent": "weather", "instruction": "x"}), answer="ok")
    graph = supervisor_team(mem, lead, [travel, weather], compile=True)
    mem.registry.retire("weather")
    out = graph.invoke({"messages": [HumanMessage("weather forecast?")]}, config("r1", user=None))
    assert out["outputs"] == {"travel": "Booked."}
    assert "- weather:" not in system_text(lead)


def test_a_revoked_user_grant_is_not_given_back(mem: SharedMemory) -> None:
    calls: list[int] = []
    graph, _ = customer_team(mem, calls)
    graph.invoke({"messages": [HumanMessage("order 42")]}, config("g1"))
    assert mem.access.revoke_user(USER, "support") == 1
    graph, models = customer_team(mem, calls)
    out = graph.invoke({"messages": [HumanMessage("order 42 again")]}, config("g2"))
    # support may no longer write the customer's memory: its remember call is refused.
    refused = [
        m
        for m in out["messages"]
        if isinstance(m, ToolMessage) and m.name == "remember" and m.status == "error"
    ]
    assert refused  # "user" is no longer a scope its remember tool offers
    assert mem.access.grants(agent="support", user=USER, live_at=time.time()) == []
    assert len(mem.access.grants(agent="support", user=USER)) == 1  # the revoked one only


def test_specialists_have_scoped_memory(mem: SharedMemory) -> None:
    a = AgentSpec(
        "alpha",
        "first",
        model=ScriptedChatModel(
            [
                tool_call(
                    "remember", {"key": "secret", "content": "alpha's plan", "scope": "agent"}
                ),
                tool_call("remember", {"key": "shared", "content": "for the team", "scope": "run"}),
                "ok",
            ]
        ),
    )
    b = AgentSpec(
        "beta",
        "second",
        model=ScriptedChatModel([tool_call("search_memory", {"query": "plan"}), "ok"]),
    )
    lead = router(
        tool_call("transfer_to", {"agent": "alpha", "instruction": "x"}),
        tool_call("transfer_to", {"agent": "beta", "instruction": "y"}),
    )
    graph = supervisor_team(mem, lead, [a, b], compile=True)
    out = graph.invoke({"messages": [HumanMessage("go")]}, config("s2", user=None))
    found = [m for m in out["messages"] if isinstance(m, ToolMessage) and m.name == "search_memory"]
    assert "for the team" in found[0].content and "alpha's plan" not in found[0].content


def test_validation_stops_an_unverified_fact_before_the_answer(mem: SharedMemory) -> None:
    def sourced(candidate: Any) -> Any:
        said = said_by(candidate)
        return approve("sourced") if "api" in said else reject("no source")

    writer = ScriptedChatModel(
        [
            tool_call("record_fact", {"subject": "api", "attribute": "format", "value": "xml"}),
            tool_call(
                "record_fact",
                {"subject": "api", "attribute": "version", "value": "2", "source": "api"},
            ),
            "recorded",
            "Corrected: format unknown.",  # after being sent back with the reason
        ]
    )
    reader = ScriptedChatModel(["read"])
    specs = [
        AgentSpec("writer", "writes", model=writer),
        AgentSpec("reader", "reads", model=reader),
    ]
    answer = router(
        tool_call("transfer_to", {"agent": "writer", "instruction": "find the format"}),
        tool_call("transfer_to", {"agent": "reader", "instruction": "use it"}),
        answer=lambda messages: str(messages[0].content),
    )
    graph = supervisor_team(mem, answer, specs, validators=[Check(sourced)], compile=True)
    out = graph.invoke({"messages": [HumanMessage("which format?")]}, config("v1", user=None))
    run = ("run", "v1")
    assert mem.facts.get(run, "api", "version").value == "2"
    assert mem.facts.get(run, "api", "format") is None
    assert [c.status for c in mem.facts.claims(run, "api", "format")] == ["rejected"]
    # The author was sent back with the reason; nobody else ever saw 'xml'.
    assert "no source" in system_text(writer, 3)
    assert all("xml" not in str(m.content) for p in reader.calls for m in p)
    assert "xml" not in out["final"] and "api.version = '2'" in out["final"]
    assert out["revisions"] == 1


def test_a_human_reviews_facts_before_the_answer(mem: SharedMemory) -> None:
    from langgraph.types import Command

    writer = ScriptedChatModel(
        [
            tool_call("record_fact", {"subject": "invoice:9", "attribute": "due", "value": "May"}),
            "recorded",
        ]
    )
    lead = router(
        tool_call("transfer_to", {"agent": "writer", "instruction": "find the due date"}),
        answer=lambda messages: str(messages[0].content),
    )
    graph = supervisor_team(
        mem,
        lead,
        [AgentSpec("writer", "writes", model=writer)],
        validation_options={"human": HumanReview(when="unsure")},
        compile=True,
    )
    cfg = config("h1", user=None)
    first = graph.invoke({"messages": [HumanMessage("when is invoice 9 due?")]}, cfg)
    (pending,) = first["__interrupt__"]
    claim_id = mem.facts.claims(("run", "h1"), "invoice:9", "due")[0].id
    assert mem.facts.get(("run", "h1"), "invoice:9", "due") is None  # waits for the human
    assert "final" not in first or not first["final"]
    out = graph.invoke(
        Command(resume=[{"claim_id": claim_id, "action": "approve", "reason": "ok", "by": "ops"}]),
        cfg,
    )
    assert mem.facts.get(("run", "h1"), "invoice:9", "due").value == "May"
    assert "invoice:9.due = 'May'" in out["final"]


# -- research pipeline ----------------------------------------------------------------------------


def test_research_pipeline_shares_state_between_stages(mem: SharedMemory) -> None:
    mem.facts.set_quarantine(False, agent="researcher")  # a trusted researcher: no checkpoint
    researcher = ScriptedChatModel(
        [
            tool_call(
                "record_fact",
                {
                    "subject": "wal",
                    "attribute": "readers_block_writers",
                    "value": False,
                    "source": "sqlite.org",
                },
            ),
            "WAL lets readers and a writer work at once.",
        ]
    )
    drafter = ScriptedChatModel([lambda messages: "Draft: " + str(messages[0].content)[-80:]])
    editor = ScriptedChatModel(["Final text."])
    graph = research_pipeline(
        mem,
        ScriptedChatModel([]),
        researcher=AgentSpec("researcher", "finds", model=researcher),
        drafter=AgentSpec("drafter", "writes", model=drafter),
        editor=AgentSpec("editor", "edits", model=editor),
        compile=True,
    )
    out = graph.invoke({"messages": [HumanMessage("explain WAL")]}, config("p1", user=None))
    assert out["final"] == "Final text."
    assert set(out["outputs"]) == {"researcher", "drafter", "editor"}
    # The drafter saw the researcher's fact and answer; the editor saw the draft.
    assert "wal.readers_block_writers = False" in system_text(drafter)
    editor_prompt = " ".join(str(m.content) for m in editor.calls[0])
    assert "Draft:" in editor_prompt and "WAL lets readers" in editor_prompt
    assert mem.facts.get(("run", "p1"), "wal", "readers_block_writers").value is False


def test_unvalidated_facts_do_not_reach_the_next_stage(mem: SharedMemory) -> None:
    researcher = ScriptedChatModel(
        [
            tool_call("record_fact", {"subject": "wal", "attribute": "speedup", "value": "100x"}),
            "WAL is 100x faster.",
        ]
    )
    drafter = ScriptedChatModel(["draft"])
    graph = research_pipeline(
        mem,
        ScriptedChatModel([]),
        researcher=AgentSpec("researcher", "finds", model=researcher),
        drafter=AgentSpec("drafter", "writes", model=drafter),
        editor=AgentSpec("editor", "edits", model=ScriptedChatModel(["final"])),
        compile=True,
    )
    graph.invoke({"messages": [HumanMessage("explain WAL")]}, config("p3", user=None))
    # Quarantined (no validator cleared it): its author sees it marked, the next stage not.
    assert "wal.speedup" not in system_text(drafter)
    assert mem.facts.get(("run", "p3"), "wal", "speedup") is None


def test_pipeline_validation_between_stages(mem: SharedMemory) -> None:
    def has_source(candidate: Any) -> Any:
        said = said_by(candidate)
        return approve("sourced") if any(said) else reject("cite a source")

    researcher = ScriptedChatModel(
        [
            tool_call("record_fact", {"subject": "wal", "attribute": "speedup", "value": "100x"}),
            tool_call(
                "record_fact",
                {"subject": "wal", "attribute": "mode", "value": "journal", "source": "sqlite.org"},
            ),
            "researched",
            "dropped the unsourced speedup",
        ]
    )
    drafter = ScriptedChatModel(["draft"])
    editor = ScriptedChatModel(["final"])
    graph = research_pipeline(
        mem,
        ScriptedChatModel([]),
        researcher=AgentSpec("researcher", "finds", model=researcher),
        drafter=AgentSpec("drafter", "writes", model=drafter),
        editor=AgentSpec("editor", "edits", model=editor),
        validators=[Check(has_source)],
        compile=True,
    )
    out = graph.invoke({"messages": [HumanMessage("WAL")]}, config("p2", user=None))
    assert out["final"] == "final" and out["revisions"] == 1
    shown = system_text(drafter)
    assert "wal.mode = 'journal'" in shown and "100x" not in shown
    assert "cite a source" in system_text(researcher, 3)


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "has space"}, "must start with a letter"),
        ({"name": "validate"}, "is a node of the template"),
        ({"name": "a", "user_access": "all"}, "user_access"),
        ({"name": "a", "max_steps": 0}, "max_steps"),
        ({"name": "a", "tools": ["not a tool"]}, "LangChain tools"),
        ({"name": "a", "capabilities": "billing"}, "capabilities"),
        ({"name": "a", "trust": 2}, "trust"),
    ],
)
def test_agent_spec_refuses_bad_input(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfigError, match=message):
        AgentSpec(**kwargs)


def test_templates_refuse_bad_input(mem: SharedMemory) -> None:
    model = ScriptedChatModel([])
    with pytest.raises(InvalidConfigError, match="at least one"):
        supervisor_team(mem, model, [])
    with pytest.raises(InvalidConfigError, match="two agents are named"):
        supervisor_team(mem, model, [AgentSpec("a"), AgentSpec("a")])
    with pytest.raises(InvalidConfigError, match="both named"):
        supervisor_team(mem, model, [AgentSpec("boss")], name="boss")
    with pytest.raises(InvalidConfigError, match="max_handoffs"):
        supervisor_team(mem, model, [AgentSpec("a")], max_handoffs=-1)
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    no_tools = GenericFakeChatModel(messages=iter(["hi"]))
    with pytest.raises(InvalidConfigError, match="tool calling"):
        supervisor_team(mem, no_tools, [AgentSpec("a")])
    with pytest.raises(InvalidConfigError, match="tool calling"):
        supervisor_team(mem, model, [AgentSpec("a", model=no_tools)])
    assert mem.registry.get("a") is None  # refused before anything was registered
    with pytest.raises(InvalidConfigError, match="chat model"):
        supervisor_team(mem, 42, [AgentSpec("a")])  # type: ignore[arg-type]
    graph = supervisor_team(mem, model, [AgentSpec("a")]).compile()  # as Studio compiles it
    with pytest.raises(InvalidConfigError, match="thread_id"):
        graph.invoke({"messages": [HumanMessage("hi")]}, {"configurable": {}})
    assert model.calls == []  # refused before any model call
