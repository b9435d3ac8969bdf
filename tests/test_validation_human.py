"""A human reviewer through interrupt()/resume on a real graph: approve, reject, edit; a resume
that re-executes the node never applies a decision twice; contradictions go to the human."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command
from pydantic import BaseModel
from typing_extensions import TypedDict

from langgraph_sharedmem import SharedMemory, validation_node, validation_router
from langgraph_sharedmem.validation import _node

RUN = ("run", "t1")


class Quota(BaseModel):
    requests_per_minute: int


class State(TypedDict, total=False):
    validation: dict[str, Any]
    seen: Annotated[list[Any], operator.add]


def build(mem: SharedMemory, values: dict[str, Any], **node_kw: Any) -> Any:
    def writer(state: State, config: RunnableConfig) -> dict[str, Any]:
        view = mem.agent("writer", run_id=config["configurable"]["thread_id"])
        for attribute, value in values.items():
            view.facts.assert_fact("run", "svc", attribute, value)
        return {}

    def reader(state: State, config: RunnableConfig) -> dict[str, Any]:
        view = mem.agent("reader", run_id=config["configurable"]["thread_id"])
        return {"seen": [{f.attribute: f.value for f in view.facts.list("run")}]}

    builder = StateGraph(State)
    builder.add_node("writer", writer)
    builder.add_node("validate", validation_node(mem, **node_kw))
    builder.add_node("reader", reader)
    builder.add_edge(START, "writer")
    builder.add_edge("writer", "validate")
    builder.add_conditional_edges(
        "validate", validation_router(next="reader"), ["reader", "writer", END]
    )
    builder.add_edge("reader", END)
    return builder.compile(checkpointer=mem.checkpointer, store=mem.store)


@pytest.fixture
def mem(tmp_path: Path) -> Any:
    with SharedMemory.open(tmp_path / "agents.db", index=None) as m:
        for agent in ("writer", "reader", "system"):
            m.register_agent(agent)
        yield m


def _interrupt(graph: Any, config: Any) -> dict[str, Any]:
    [task] = [t for t in graph.get_state(config).tasks if t.interrupts]
    [request] = task.interrupts
    return request.value  # type: ignore[no-any-return]


def test_approve_reject_and_edit_on_resume(mem: SharedMemory) -> None:
    graph = build(
        mem,
        {"region": "eu-west-1", "owner": "team-a", "quota": {"requests_per_minute": 100}},
        human=True,
        schemas={"quota": Quota},
        cross_check=False,
    )
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({}, config)
    request = _interrupt(graph, config)
    by_attr = {f["attribute"]: f for f in request["facts"]}
    assert request["type"] == "fact_review" and set(by_attr) == {"region", "owner"}
    # The schema approved the quota on its own; the human sees what the validators said.
    assert mem.facts.get(RUN, "svc", "quota").value == {"requests_per_minute": 100}
    assert all(mem.facts.get(RUN, "svc", a) is None for a in by_attr)

    out = graph.invoke(
        Command(
            resume={
                str(by_attr["region"]["claim_id"]): {"action": "approve", "by": "ops-lead"},
                str(by_attr["owner"]["claim_id"]): {
                    "action": "edit",
                    "value": "team-b",
                    "reason": "team-a handed it over",
                },
            }
        ),
        config,
    )
    assert out["seen"] == [
        {"region": "eu-west-1", "owner": "team-b", "quota": {"requests_per_minute": 100}}
    ]
    report = out["validation"]
    assert report["status"] == "clear"
    assert {e["attribute"]: e["value"] for e in report["verified"]} == {
        "region": "eu-west-1",
        "owner": "team-b",
        "quota": {"requests_per_minute": 100},
    }
    region = mem.facts.history(RUN, "svc", "region")[-1]
    assert (region.event, region.by) == ("verified", "ops-lead")
    owner_claims = {c.value: c for c in mem.facts.claims(RUN, "svc", "owner")}
    assert owner_claims["team-a"].status == "rejected"
    assert owner_claims["team-b"].status == "verified"
    assert owner_claims["team-b"].sources[0].source == {"edit_of": by_attr["owner"]["claim_id"]}


def test_a_human_rejection_goes_back_to_the_author(mem: SharedMemory) -> None:
    graph = build(mem, {"region": "mars-1"}, human=True, cross_check=False)
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({}, config)
    [fact] = _interrupt(graph, config)["facts"]
    # Resume with a rejection: the router sends the graph back to the writer, which writes
    # the same value again (same claim, already rejected) and is interrupted again.
    graph.invoke(
        Command(resume={str(fact["claim_id"]): {"action": "reject", "reason": "no such region"}}),
        config,
    )
    state = graph.get_state(config)
    assert state.next == ("validate",)  # back through the writer to the checkpoint
    [decision] = mem.facts.decisions(run="t1")
    assert (decision.decision, decision.reason, decision.by) == (
        "rejected",
        "no such region",
        "human",
    )
    assert mem.facts.get(RUN, "svc", "region") is None


def test_resume_after_a_crash_does_not_apply_decisions_twice(
    mem: SharedMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    graph = build(mem, {"region": "eu-west-1"}, human=True, cross_check=False)
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({}, config)
    [fact] = _interrupt(graph, config)["facts"]
    answer = Command(resume={str(fact["claim_id"]): "approve"})

    real_report = _node.build_report
    crashes = iter([True])

    def crash_once(*args: Any) -> Any:
        if next(crashes, False):
            raise RuntimeError("process died after the decision, before the checkpoint")
        return real_report(*args)

    monkeypatch.setattr(_node, "build_report", crash_once)
    with pytest.raises(RuntimeError, match="process died"):
        graph.invoke(answer, config)
    assert mem.facts.get(RUN, "svc", "region").value == "eu-west-1"  # applied, once

    out = graph.invoke(answer, config)  # the same resume again: the node runs again
    assert out["seen"] == [{"region": "eu-west-1"}]
    assert [e["attribute"] for e in out["validation"]["verified"]] == ["region"]
    assert len(mem.facts.decisions(run="t1")) == 1
    assert [h.event for h in mem.facts.history(RUN, "svc", "region")] == ["quarantined", "verified"]


def test_an_edit_that_fails_its_schema_goes_back_to_quarantine(mem: SharedMemory) -> None:
    graph = build(
        mem,
        {"quota": {"requests_per_minute": 100}},
        human=True,
        schemas={"quota": Quota},
        cross_check=False,
        validators=[lambda claim: "review"],  # a check that wants a human for every claim
    )
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({}, config)
    [fact] = _interrupt(graph, config)["facts"]
    assert fact["validators"] == [
        "schema:Quota: approve (matches schema:Quota)",
        "<lambda>: review",
    ]
    out = graph.invoke(
        Command(
            resume={
                str(fact["claim_id"]): {"action": "edit", "value": {"requests_per_minute": "100/s"}}
            }
        ),
        config,
    )
    assert mem.facts.get(RUN, "svc", "quota") is None
    [pending] = out["validation"]["pending"]
    assert (
        pending["value"] == {"requests_per_minute": "100/s"}
        and pending["edit_of"] == fact["claim_id"]
    )
    [error] = mem.facts.validation_log(run="t1", outcome="error")
    assert error.validator == "human" and "does not match" in (error.reason or "")
    assert [c.claim_id for c in mem.facts.pending(run="t1")] == [pending["claim_id"]]


def test_a_contradiction_is_a_disagreement_a_human_settles(mem: SharedMemory) -> None:
    mem.facts.assert_fact(RUN, "svc", "region", "eu-west-1", author="system")  # verified
    graph = build(mem, {"region": "us-east-1"}, human=True, validators=[lambda c: True])
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({}, config)
    [fact] = _interrupt(graph, config)["facts"]
    assert any("contradicts the verified value" in v for v in fact["validators"])
    [open_] = mem.facts.disagreements(RUN, "svc", "region")
    assert {c.value for c in open_.claims} == {"eu-west-1", "us-east-1"}
    assert mem.facts.get(RUN, "svc", "region").value == "eu-west-1"  # readers keep it
    out = graph.invoke(
        Command(resume={str(fact["claim_id"]): {"action": "approve", "reason": "migrated"}}), config
    )
    assert out["seen"] == [{"region": "us-east-1"}]
    [settled] = mem.facts.disagreements(RUN, "svc", "region", status="resolved")
    assert settled.id == open_.id and settled.reason == "migrated"


def test_malformed_review_answers_decide_nothing(mem: SharedMemory) -> None:
    graph = build(mem, {"region": "eu-west-1", "owner": "a"}, human=True, cross_check=False)
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({}, config)
    facts = _interrupt(graph, config)["facts"]
    out = graph.invoke(
        Command(resume={str(facts[0]["claim_id"]): {"action": "reject"}, "x": "approve"}), config
    )
    assert out["seen"] == [{}]  # nothing verified: fail closed, the graph goes on
    assert mem.facts.decisions(run="t1") == []
    reasons = [e.reason for e in mem.facts.validation_log(run="t1", outcome="error")]
    assert any("rejection needs a reason" in r for r in reasons)
    assert any("no decision for claim" in r for r in reasons)
    assert len(mem.facts.pending(run="t1")) == 2


def test_a_rejected_source_sends_derived_facts_back_through_validation(mem: SharedMemory) -> None:
    """The cascade on a graph: a fact derived from another is verified; the source is later
    rejected by a reviewer; the derived fact leaves every reader's view at once, and the
    next validation of the run rejects it for its withdrawn source."""

    def researcher(state: State, config: RunnableConfig) -> dict[str, Any]:
        view = mem.agent("writer", run_id="t1")
        if not view.facts.claims("run", "svc", "sla"):  # researched once per run
            view.facts.assert_fact("run", "svc", "sla", "99.99%")
        return {}

    def analyst(state: State, config: RunnableConfig) -> dict[str, Any]:
        view = mem.agent("reader", run_id="t1")
        sla = view.facts.get("run", "svc", "sla")
        if sla is not None and view.facts.get("run", "svc", "downtime") is None:
            view.facts.assert_fact("run", "svc", "downtime", "52 min/year", derived_from=[sla])
        return {}

    builder = StateGraph(State)
    builder.add_node("researcher", researcher)
    builder.add_node("check_research", validation_node(mem, [lambda c: True], name="research"))
    builder.add_node("analyst", analyst)
    builder.add_node("check_analysis", validation_node(mem, [lambda c: True], name="analysis"))
    builder.add_edge(START, "researcher")
    builder.add_edge("researcher", "check_research")
    builder.add_edge("check_research", "analyst")
    builder.add_edge("analyst", "check_analysis")
    builder.add_edge("check_analysis", END)
    graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)
    config = {"configurable": {"thread_id": "t1"}}
    graph.invoke({}, config)
    sla = mem.facts.get(RUN, "svc", "sla")
    downtime = mem.facts.get(RUN, "svc", "downtime")
    assert sla is not None and downtime is not None and downtime.status == "verified"
    assert mem.facts.lineage(downtime.claim_id).parents == (sla.claim_id,)

    # A reviewer finds the SLA was the marketing figure, not the contract's.
    mem.facts.set_status(sla.claim_id, "rejected", by="auditor", reason="contract says 99.9%")
    assert mem.facts.get(RUN, "svc", "downtime") is None  # pulled back, for every reader
    [back] = mem.facts.pending(run="t1")
    assert back.claim_id == downtime.claim_id

    graph.invoke({}, config)  # the next pass of the run
    last = mem.facts.decisions(claim_id=downtime.claim_id)[-1]
    assert (last.decision, last.node) == ("rejected", "research")
    assert "withdrawn" in last.reason
    events = [(h.event, h.by) for h in mem.facts.history(RUN, "svc", "downtime")]
    assert events == [
        ("quarantined", "reader"),
        ("verified", "validation:analysis"),
        ("quarantined", "auditor"),
        ("rejected", "validation:research"),
    ]


def test_review_cycle_on_the_async_path(mem: SharedMemory) -> None:
    import asyncio

    async def cycle() -> dict[str, Any]:
        graph = build(mem, {"region": "eu-west-1"}, human=True, cross_check=False)
        config = {"configurable": {"thread_id": "t1"}}
        await graph.ainvoke({}, config)
        [task] = [t for t in (await graph.aget_state(config)).tasks if t.interrupts]
        [fact] = task.interrupts[0].value["facts"]
        answer = [{"claim_id": fact["claim_id"], "action": "approve", "by": "ops"}]
        return await graph.ainvoke(Command(resume=answer), config)  # type: ignore[no-any-return]

    out = asyncio.run(cycle())
    assert out["seen"] == [{"region": "eu-west-1"}]
    [decision] = mem.facts.decisions(run="t1")
    assert (decision.decision, decision.by) == ("verified", "ops") and decision.checkpoint_id
