"""The failure the mission names, on a real graph: in a five-step chain the agent at step two
hallucinates an API response format; the validation node rejects it; the agents at steps
three to five never read it; the author is sent back with the reason and the corrected fact
flows on.
"""

from __future__ import annotations

import json
import operator
import sqlite3
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict

from langgraph_sharedmem import (
    Check,
    SharedMemory,
    rejections_for,
    validation_node,
    validation_router,
)

API = "api:orders"
HALLUCINATED = {
    "content_type": "application/json",
    "fields": ["id", "status", "tracking_url"],
    "paginated": True,
}
CORRECTED = {"content_type": "application/json", "fields": ["id", "status"], "paginated": True}


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: Literal["application/json"]
    fields: list[str]
    paginated: bool


class State(TypedDict, total=False):
    attempts: Annotated[list[Any], operator.add]
    seen: Annotated[list[tuple[str, Any]], operator.add]
    listed: Annotated[list[tuple[str, list[Any]]], operator.add]
    validation: dict[str, Any]


def build(mem: SharedMemory) -> Any:
    facts = mem.facts
    facts.set_quarantine(False, agent="planner")  # the trusted system agent

    def view(agent: str, config: RunnableConfig) -> Any:
        return mem.agent(agent, run_id=config["configurable"]["thread_id"])

    def planner(state: State, config: RunnableConfig) -> dict[str, Any]:
        v = view("planner", config)
        v.facts.assert_fact("run", API, "endpoint", "GET /orders", source={"doc": "openapi"})
        v.facts.assert_fact("run", API, "documented_fields", ["id", "status"])
        return {}

    def api_agent(state: State, config: RunnableConfig) -> dict[str, Any]:
        feedback = rejections_for(state, "api_agent")
        v = view("api_agent", config)
        value = CORRECTED if feedback else HALLUCINATED  # the LLM's guess, then its fix
        v.facts.assert_fact("run", API, "response_format", value, source={"llm": "guess"})
        mine = v.facts.get("run", API, "response_format")  # the author sees it, unverified
        return {
            "attempts": [
                {
                    "feedback": [f["reason"] for f in feedback],
                    "own_view": (mine.value, mine.status),
                }
            ]
        }

    def reader(name: str) -> Any:
        def step(state: State, config: RunnableConfig) -> dict[str, Any]:
            v = view(name, config)
            fact = v.facts.get("run", API, "response_format")
            every = [f.value for f in v.facts.list("run")]
            return {
                "seen": [(name, None if fact is None else fact.value)],
                "listed": [(name, every)],
            }

        return step

    def documented(claim: Any) -> Any:
        doc = facts.get(claim.scope, claim.subject, "documented_fields")
        if doc is None:
            return "review", "no documented fields to compare with"
        extra = sorted(set(claim.value.get("fields", [])) - set(doc.value))
        if extra:
            return False, f"fields {extra} are not in the documented API {doc.value}"
        return True, "every field is documented"

    builder = StateGraph(State)
    builder.add_node("planner", planner)
    builder.add_node("api_agent", api_agent)
    builder.add_node(
        "validate",
        validation_node(
            mem,
            [Check(documented, attribute="response_format")],
            schemas={"response_format": ResponseFormat},
        ),
    )
    for name in ("client_writer", "tester", "docs_writer"):
        builder.add_node(name, reader(name))
    builder.add_edge(START, "planner")
    builder.add_edge("planner", "api_agent")
    builder.add_edge("api_agent", "validate")
    builder.add_conditional_edges(
        "validate", validation_router(next="client_writer"), ["api_agent", "client_writer", END]
    )
    builder.add_edge("client_writer", "tester")
    builder.add_edge("tester", "docs_writer")
    builder.add_edge("docs_writer", END)
    return builder.compile(checkpointer=mem.checkpointer, store=mem.store)


@pytest.fixture
def mem(tmp_path: Path) -> Any:
    with SharedMemory.open(tmp_path / "agents.db", index=None) as m:
        for agent in ("planner", "api_agent", "client_writer", "tester", "docs_writer"):
            m.register_agent(agent)
        yield m


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_hallucinated_format_is_rejected_and_the_fix_flows_on(mem: SharedMemory, mode: str) -> None:
    graph = build(mem)
    config = {"configurable": {"thread_id": "job-1"}}
    if mode == "sync":
        out = graph.invoke({}, config)
    else:
        import asyncio

        out = asyncio.run(graph.ainvoke({}, config))

    # The author was sent back once, with the validator's reason, and saw its own value
    # marked unverified each time.
    first, second = out["attempts"]
    assert first == {"feedback": [], "own_view": (HALLUCINATED, "quarantined")}
    assert len(second["feedback"]) == 1 and "tracking_url" in second["feedback"][0]
    assert second["own_view"] == (CORRECTED, "quarantined")

    # Steps three to five read only the corrected fact, by get and by list.
    assert out["seen"] == [(n, CORRECTED) for n in ("client_writer", "tester", "docs_writer")]
    for _name, values in out["listed"]:
        assert HALLUCINATED not in values and CORRECTED in values

    run = ("run", "job-1")
    fact = mem.facts.get(run, API, "response_format")
    assert fact is not None and (fact.value, fact.status) == (CORRECTED, "verified")
    claims = {
        json.dumps(c.value, sort_keys=True): c
        for c in mem.facts.claims(run, API, "response_format")
    }
    bad = claims[json.dumps(HALLUCINATED, sort_keys=True)]
    assert bad.status == "rejected"
    # The rejection is in the fact's history, with who and why.
    [rejected] = [
        h for h in mem.facts.history(run, API, "response_format") if h.event == "rejected"
    ]
    assert rejected.by == "validation:validation" and "tracking_url" in (rejected.reason or "")
    # Each decision names the run and the checkpoint that made it.
    decisions = mem.facts.decisions(run="job-1")
    assert [d.decision for d in decisions] == ["rejected", "verified"]
    assert all(d.checkpoint_id and d.thread == "job-1" for d in decisions)
    checkpoints = {c.config["configurable"]["checkpoint_id"] for c in mem.checkpointer.list(config)}
    assert {d.checkpoint_id for d in decisions} <= checkpoints
    # Every status change went through the ledger's write path: it is in the change log.
    with sqlite3.connect(mem.db.path) as conn:
        ops = [
            (op, json.loads(data)["claim_id"])
            for op, data in conn.execute(
                "SELECT op, data FROM changes WHERE kind = 'fact' AND key = ? ORDER BY seq",
                (f"{API}/response_format",),
            )
        ]
    assert ("rejected", bad.id) in ops and ("verified", fact.claim_id) in ops
    # The trusted planner's facts were verified at once and never queued.
    assert mem.facts.get(run, API, "endpoint").status == "verified"  # type: ignore[union-attr]
    assert mem.facts.pending(run="job-1") == []


def test_replaying_the_validation_step_decides_nothing_twice(mem: SharedMemory) -> None:
    graph = build(mem)
    config = {"configurable": {"thread_id": "job-2"}}
    out = graph.invoke({}, config)
    before = mem.facts.decisions(run="job-2")
    history = mem.facts.history(("run", "job-2"), API, "response_format")
    # Replay from the checkpoint just before the first validation step.
    states = list(graph.get_state_history(config))
    [first_validation] = [
        s for s in states if s.next == ("validate",) and len(s.values.get("attempts", [])) == 1
    ]
    replayed = graph.invoke(None, first_validation.config)
    assert mem.facts.decisions(run="job-2") == before
    assert mem.facts.history(("run", "job-2"), API, "response_format") == history
    # The ledger is shared memory, not thread state: the replay finds the hallucination
    # already rejected and the fix verified, so it has nothing to decide and flows on.
    assert replayed["validation"]["status"] == "empty"
    assert (
        replayed["seen"][-3:]
        == out["seen"]
        == [(n, CORRECTED) for n in ("client_writer", "tester", "docs_writer")]
    )
