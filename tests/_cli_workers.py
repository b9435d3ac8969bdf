"""A small but complete shared memory for the inspector tests, and a writer process.

`populate` runs a real graph (checkpoints + store items), writes facts with a disagreement and
a quarantined claim, and goes through agent views (grants, an audited denial). `keep_writing`
is the other process of the "inspect while someone writes" test.
"""

from __future__ import annotations

import operator
import time
from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from langgraph_sharedmem import AccessDenied, SharedMemory, TrustRanking

CUSTOMER = ("user", "cust-7")


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    notes: Annotated[list[str], operator.add]
    turn: int
    validation: dict[str, Any]


def _answer(state: State) -> dict[str, Any]:
    question = state["messages"][-1]
    get_store().put(
        ("support", "answers"), f"q{len(state['messages'])}", {"text": question.content}
    )
    return {
        "messages": [AIMessage(content=f"answer to {question.content}")],
        "notes": [f"answered {question.content}"],
        "turn": state.get("turn", 0) + 1,
    }


def build_graph(mem: SharedMemory) -> Any:
    builder = StateGraph(State)
    builder.add_node("answer", _answer)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", END)
    return builder.compile(checkpointer=mem.checkpointer, store=mem.store)


def populate(path: str | Path) -> None:
    """Two threads of two turns, facts (one disagreement settled by trust, one quarantined
    claim), agents with a grant and an audited denial."""
    with SharedMemory.open(path) as mem:
        graph = build_graph(mem)
        for thread in ("t-1", "t-2"):
            for turn in ("hello", "where is my order?"):
                graph.invoke(
                    {"messages": [HumanMessage(content=turn)]},
                    {"configurable": {"thread_id": thread}},
                )
        facts = mem.facts
        facts.set_policy(TrustRanking({"fulfilment": 2, "support": 1}), attribute="status")
        facts.assert_fact(
            CUSTOMER, "order:42", "status", "processing", author="fulfilment", status="verified"
        )
        facts.assert_fact(
            CUSTOMER, "order:42", "status", "shipped", author="support", status="verified"
        )
        facts.assert_fact("app", "acme", "plan", "pro", author="billing", status="verified")
        facts.assert_fact("app", "acme", "seats", 12, author="support", status="quarantined")
        facts.assert_fact(
            CUSTOMER,
            "order:42",
            "eta",
            "tomorrow",
            author="support",
            status="quarantined",
            run="v-1",
        )
        _validate(mem, "v-1")
        mem.register_agent("billing", description="bills", capabilities=["invoices"])
        mem.register_agent("support", description="helps", capabilities=["tickets"])
        for sender, text in (
            ("user", "where is my order?"),
            ("support", "checking"),
            ("fulfilment", "it is processing"),
        ):
            mem.conversation.append(HumanMessage(content=text), run="t-1", sender=sender)
        mem.register_user("cust-7")
        mem.access.grant_user("cust-7", "billing", read=True, write=True)
        billing = mem.agent("billing", user_id="cust-7", run_id="t-1")
        billing.remember("plan", {"tier": "pro"}, scope="user")
        support = mem.agent("support", user_id="cust-7", run_id="t-1")
        try:
            support.get("plan", scope="user")
        except AccessDenied:
            pass  # the denial is what the audit log must show
        else:
            raise AssertionError("support read cust-7's memory without a grant")
        mem.store.flush_index()


def _validate(mem: SharedMemory, run: str) -> None:
    """A validation checkpoint over the run's quarantined claims: it rejects them."""
    from langgraph_sharedmem.validation import validation_node

    builder = StateGraph(State)
    builder.add_node(
        "validate",
        validation_node(mem, [lambda claim: (False, "no source given")], cross_check=False),
    )
    builder.add_edge(START, "validate")
    builder.add_edge("validate", END)
    graph = builder.compile(checkpointer=mem.checkpointer)
    graph.invoke({"messages": []}, {"configurable": {"thread_id": run}})


def keep_writing(path: str, seconds: float, barrier: Any, results: Any) -> None:
    """Run graph turns and assert facts for ``seconds``; report how many turns were done."""
    try:
        with SharedMemory.open(path) as mem:
            graph = build_graph(mem)
            barrier.wait()
            deadline = time.monotonic() + seconds
            n = 0
            while time.monotonic() < deadline:
                graph.invoke(
                    {"messages": [HumanMessage(content=f"message {n}")]},
                    {"configurable": {"thread_id": f"w-{n % 3}"}},
                )
                mem.facts.assert_fact(
                    "app", "counter", "value", n, author="writer", status="verified"
                )
                n += 1
        results.put(("ok", n))
    except BaseException as exc:  # the parent asserts on it
        results.put(("error", repr(exc)))
