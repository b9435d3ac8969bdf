"""Worker for the template tests: a customer-service team in its own process (spawn)."""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from langchain_core.tools import tool

from langgraph_sharedmem import SharedMemory
from langgraph_sharedmem.templates import (
    CUSTOMER_SERVICE_AGENTS,
    ScriptedChatModel,
    customer_service_team,
    tool_call,
)

ORDER = "order:42"


def executions(counter: str | Path) -> int:
    path = Path(counter)
    return path.read_text().count("ran\n") if path.exists() else 0


def team_process(path: str, counter: str, ticket: str, barrier: Any, results: Any) -> None:
    """Run one ticket of customer cust-7 through the team; report (ticket, final, error)."""
    try:

        def count_lookup() -> None:
            with open(counter, "a") as f:
                f.write("ran\n")

        with SharedMemory.open(path) as mem:
            final = run_ticket(mem, ticket, count_lookup, before=barrier.wait)
        results.put((ticket, final, None))
    except Exception:  # noqa: BLE001 - reported to the parent, which fails the test
        results.put((ticket, None, traceback.format_exc()))


def run_ticket(
    mem: SharedMemory,
    ticket: str,
    on_lookup: Callable[[], None],
    *,
    before: Callable[..., Any] = lambda **_: None,
) -> str:
    """Customer cust-7 asks the customer-service team about order 42 in thread ``ticket``:
    billing looks the order up (``on_lookup`` runs for each real lookup; the lookup is cached
    for the user), support contradicts it; return the team's final answer. ``before`` runs
    once the graph is built (a barrier, so tickets in other processes start together)."""

    @tool
    def lookup_order(order_id: str) -> dict[str, Any]:
        """Look an order up in the (slow) order system."""
        on_lookup()
        time.sleep(0.5)
        return {"order_id": order_id, "status": "processing"}

    def record(value: str, source: str) -> Any:
        args = {"subject": ORDER, "attribute": "status", "value": value, "source": source}
        return tool_call("record_fact", args)

    models = {
        "billing": [
            tool_call("lookup_order", {"order_id": "42"}),
            record("processing", "lookup_order"),
            "Processing.",
        ],
        "support": [record("shipped", "customer"), "Customer says shipped."],
        "account": ["Nothing to do."],
    }
    agents = [
        dataclasses.replace(a, model=ScriptedChatModel(models[a.name]))
        for a in CUSTOMER_SERVICE_AGENTS
    ]
    steps = iter(
        [
            tool_call("transfer_to", {"agent": name, "instruction": "help"})
            for name in ("billing", "support")
        ]
    )

    def triage(messages: list[BaseMessage]) -> Any:
        if str(messages[0].content).startswith("Answer the user"):
            return "final: " + str(messages[0].content)
        return next(steps, None) or tool_call("finish")

    graph = customer_service_team(
        mem,
        ScriptedChatModel([triage] * 6),
        agents=agents,
        # An order's status is the same for every ticket of its customer: cached for the
        # user, not only for the run (the default), so both tickets share a lookup.
        tools=[mem.tool_cache.wrap_tool(lookup_order, scope="user")],
        compile=True,
    )
    before(timeout=120)
    config = {"configurable": {"thread_id": ticket, "user_id": "cust-7"}}
    out = graph.invoke({"messages": [HumanMessage("where is order 42?")]}, config)
    return str(out["final"])
