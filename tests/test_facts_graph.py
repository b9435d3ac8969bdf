"""The issue's scenario on a real LangGraph graph: two agents disagree about an order.

A customer-facing agent says order 42 shipped while the fulfilment agent still has it as
processing. Once the fact is settled (fulfilment outranks support), no agent can read the other
value, and the disagreement is on record.
"""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph

from langgraph_sharedmem import FactLedger, SharedMemory, TrustRanking

CUSTOMER = ("user", "cust-7")
ORDER = "order:42"


class State(TypedDict):
    order: str
    replies: Annotated[list[str], operator.add]
    seen: Annotated[list[tuple[str, Any]], operator.add]


def build(facts: FactLedger, order: str) -> StateGraph:
    """Two agents (plain functions standing in for LLM agents) write the ledger; two read it."""

    def support(state: State) -> dict[str, Any]:
        # The customer says the tracking mail arrived; the support agent believes it.
        facts.assert_fact(
            CUSTOMER,
            state["order"],
            "status",
            "shipped",
            author="support",
            source={"channel": "chat", "message": "I got the tracking mail"},
            confidence=0.7,
        )
        return {}

    def fulfilment(state: State) -> dict[str, Any]:
        facts.assert_fact(
            CUSTOMER,
            state["order"],
            "status",
            "processing",
            author="fulfilment",
            source={"tool": "wms.lookup", "order": 42},
        )
        return {}

    def reply(state: State) -> dict[str, Any]:
        fact = facts.get(CUSTOMER, state["order"], "status")
        status = None if fact is None else fact.value
        return {"replies": [f"Your order is {status}."], "seen": [("support", status)]}

    def audit(state: State) -> dict[str, Any]:
        seen = [(f.attribute, f.value) for f in facts.list(CUSTOMER, state["order"])]
        return {"seen": [("fulfilment", dict(seen)["status"])]}

    builder = StateGraph(State)
    builder.add_node("support", support)
    builder.add_node("fulfilment", fulfilment)
    builder.add_node("reply", reply)
    builder.add_node("audit", audit)
    first, second = {
        "parallel": (None, None),
        "support_first": ("support", "fulfilment"),
        "fulfilment_first": ("fulfilment", "support"),
    }[order]
    if first is None:  # both agents in one superstep: a real race
        builder.add_edge(START, "support")
        builder.add_edge(START, "fulfilment")
        builder.add_edge(["support", "fulfilment"], "reply")
    else:
        builder.add_edge(START, first)
        builder.add_edge(first, second)
        builder.add_edge(second, "reply")
    builder.add_edge("reply", "audit")
    builder.add_edge("audit", END)
    return builder


@pytest.mark.parametrize("order", ["parallel", "support_first", "fulfilment_first"])
def test_settled_order_status_is_the_only_readable_value(tmp_path: Path, order: str) -> None:
    with SharedMemory.open(tmp_path / "agents.db", index=None) as mem:
        mem.facts.set_policy(TrustRanking({"fulfilment": 2, "support": 1}), attribute="status")
        graph = build(mem.facts, order).compile(checkpointer=mem.checkpointer)
        out = graph.invoke(
            {"order": ORDER, "replies": [], "seen": []},
            {"configurable": {"thread_id": f"cust-7-{order}"}},
        )

        assert out["replies"] == ["Your order is processing."]
        assert out["seen"] == [("support", "processing"), ("fulfilment", "processing")]
        # No reader gets "shipped": not get, not list, whoever asks.
        fact = mem.facts.get(CUSTOMER, ORDER, "status")
        assert fact and (fact.value, fact.status, fact.author) == (
            "processing",
            "verified",
            "fulfilment",
        )
        assert not mem.facts.is_contested(CUSTOMER, ORDER, "status")
        assert "shipped" not in [f.value for f in mem.facts.list(CUSTOMER)]
        # The disagreement is on record, with both claims and how it was settled.
        [d] = mem.facts.disagreements(CUSTOMER, ORDER, "status", status=None)
        assert (d.status, d.policy, d.decided_by) == (
            "settled",
            "trust_ranking",
            "policy:trust_ranking",
        )
        claims = {c.value: c for c in d.claims}
        assert (
            set(claims) == {"shipped", "processing"} and d.winner_claim == claims["processing"].id
        )
        assert claims["shipped"].authors == {"support"}
        assert claims["shipped"].sources[0].source["channel"] == "chat"
        assert claims["shipped"].status in ("rejected", "superseded")  # which depends on order
        history = mem.facts.history(CUSTOMER, ORDER, "status")
        assert {(v.by, v.value) for v in history} == {
            ("support", "shipped"),
            ("fulfilment", "processing"),
        }
        assert history[-1].event == "settled" and history[-1].disagreement_id == d.id
        # Asked for by name, the losing claim is still there for an auditor.
        assert {c.value: c.status for c in mem.facts.claims(CUSTOMER, ORDER, "status")}[
            "shipped"
        ] == claims["shipped"].status
