"""A real LangGraph supervisor routes each task through the registry.

The supervisor is a plain Python router calling `Registry.route`; the workers are LLM agents
(a fake chat model stands in) that heartbeat, answer, and record what they learned as facts,
so "who knows what" reflects the run. Checkpoints and store are the SharedMemory's.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from langgraph_sharedmem import SharedMemory

CUSTOMER = ("user", "c7")


class State(TypedDict):
    task: str
    subject: str
    routed_to: str
    reasons: list[str]
    answers: Annotated[list[str], operator.add]


def build(mem: SharedMemory) -> StateGraph:
    registry = mem.registry

    def supervisor(state: State) -> Command[Any]:
        best = registry.route(state["task"], k=1)
        if not best:
            return Command(goto=END, update={"routed_to": "nobody", "reasons": []})
        route = best[0]
        return Command(
            goto=route.agent.graph_id,
            update={"routed_to": route.name, "reasons": list(route.reasons)},
        )

    def worker(name: str, attribute: str, value: str) -> Any:
        model = GenericFakeChatModel(messages=iter([AIMessage(f"{name}: {value}")] * 10))

        def node(state: State) -> dict[str, Any]:
            registry.heartbeat(name)
            reply = model.invoke([HumanMessage(state["task"])])
            mem.facts.assert_fact(CUSTOMER, state["subject"], attribute, value, author=name)
            return {"answers": [str(reply.content)]}

        return node

    builder = StateGraph(State)
    builder.add_node("supervisor", supervisor)
    builder.add_node("billing_node", worker("finance_desk", "refund", "issued"))
    builder.add_node("shipping_node", worker("courier", "status", "in transit"))
    builder.add_node("backup_node", worker("billing_backup", "refund", "queued"))
    builder.add_edge(START, "supervisor")
    for node in ("billing_node", "shipping_node", "backup_node"):
        builder.add_edge(node, END)
    return builder


def test_supervisor_routes_tasks_through_the_registry(db_path: Path) -> None:
    with SharedMemory.open(db_path) as mem:
        reg = mem.registry
        reg.register(
            "finance_desk",
            description="Handles invoices, payment failures, refunds and charges.",
            capabilities=["billing", "refunds"],
            graph_id="billing_node",
            trust=0.9,
        )
        reg.register(
            "courier",
            description="Tracks parcels and deliveries and reschedules shipments.",
            capabilities=["shipping"],
            graph_id="shipping_node",
            trust=0.8,
        )
        reg.register(
            "billing_backup",
            description="Backup for the finance desk when it is offline: invoices and refunds.",
            capabilities=["billing", "refunds"],
            graph_id="backup_node",
            trust=0.3,
        )
        graph = build(mem).compile(checkpointer=mem.checkpointer, store=mem.store)

        def run(thread: str, task: str, subject: str) -> dict[str, Any]:
            config = {"configurable": {"thread_id": thread}}
            return graph.invoke(
                {"task": task, "subject": subject, "answers": []},
                config,  # type: ignore[arg-type]
            )

        out = run("t1", "I was charged twice for order 42, I want a refund", "order:42")
        assert out["routed_to"] == "finance_desk"
        assert out["answers"] == ["finance_desk: issued"]
        assert any("refunds" in r for r in out["reasons"])

        out = run("t2", "Where is my parcel? It has not been delivered", "order:43")
        assert (out["routed_to"], out["answers"]) == ("courier", ["courier: in transit"])

        # The route is part of the checkpointed state.
        state = graph.get_state({"configurable": {"thread_id": "t1"}})
        assert state.values["routed_to"] == "finance_desk"

        # Retired: the same task goes to the backup, whatever its lower trust.
        reg.retire("finance_desk")
        out = run("t3", "I was charged twice for order 44, I want a refund", "order:44")
        assert out["routed_to"] == "billing_backup"

        # Who knows what follows the run's facts.
        assert [e.agent for e in reg.who_knows("order:42")] == ["finance_desk"]
        assert [e.agent for e in reg.who_knows("order:43")] == ["courier"]
        assert [e.agent for e in reg.who_knows("order:44")] == ["billing_backup"]
