"""The customer-service team, offline, told as a story.

A customer writes in about order 42: charged twice, nothing arrived, and "your chat said it
shipped". The triage supervisor hands the request to billing, support and account, each with
its own view of one shared memory (a SQLite file plus a Chroma index). Scripted chat models
stand in for the LLMs; the graph is the one `customer_service_team` builds for a real model.

Everything the story reports is read back from the database the run leaves behind (audit log,
fact ledger, disagreements, validation log, tool-cache table, checkpoints), not from the script.

    python examples/demo.py [--dir DIR]      # default: ./demo-output
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool

from langgraph_sharedmem import SharedMemory
from langgraph_sharedmem.templates import (
    CUSTOMER_SERVICE_AGENTS,
    ScriptedChatModel,
    customer_service_team,
    tool_call,
)
from langgraph_sharedmem.validation import Check, approve, reject

USER = "cust-7"
THREAD = "ticket-1001"
ORDER = "order:42"
REQUESTS = (
    "Hi, order 42: I was charged twice and nothing has arrived, although your chat told me "
    "it shipped. When do I get my money back? Please email me, not phone.",
    "One more thing: please move my subscription to the yearly plan.",
)


@tool
def lookup_order(order_id: str) -> dict[str, Any]:
    """Look an order up in the order system: status, charges, carrier."""
    time.sleep(0.2)  # a slow backend: what a duplicate call would cost
    return {"order_id": order_id, "status": "processing", "charges": [59.0, 59.0], "carrier": None}


def refund_needs_a_tool(candidate: Any) -> Any:
    """A refund date is only believable when a tool result backs it (the validator the
    checkpoint runs on each quarantined claim of the run)."""
    said_by = [(s.source or {}).get("said_by") for s in candidate.claim.sources]
    if any(name == "lookup_order" for name in said_by):
        return approve("backed by the order system")
    return reject("no tool result backs a refund date; the order system has none")


def _fact_in_prompt(messages: list[BaseMessage], subject: str, attribute: str) -> str | None:
    """What the prompt says the fact is (the model only knows what it was shown)."""
    text = str(messages[0].content) if messages else ""
    found = re.search(rf"- {re.escape(subject)}\.{attribute} = '([^']*)'", text)
    return found.group(1) if found else None


def final_answer(messages: list[BaseMessage]) -> str:
    if "yearly" in str(messages[-1].content):
        done = re.search(r"- account: (.*)", str(messages[0].content))
        return done.group(1) if done else "Your plan change is on its way."
    status = _fact_in_prompt(messages, ORDER, "status") or "unknown"
    refund = _fact_in_prompt(messages, ORDER, "refund_eta")
    when = (
        f"The refund is due {refund}."
        if refund
        else "I cannot promise a refund date yet: billing is reviewing the double charge."
    )
    return f"Your order 42 is {status}, not shipped yet. {when} We will write by email."


def scripts() -> dict[str, ScriptedChatModel]:
    """The scripted replies of each model: what a real model would decide, fixed."""
    routing = iter(
        [
            # request 1
            tool_call(
                "transfer_to", {"agent": "billing", "instruction": "Check the charges on order 42."}
            ),
            tool_call(
                "transfer_to",
                {"agent": "support", "instruction": "Check the delivery of order 42."},
            ),
            tool_call("transfer_to", {"agent": "account", "instruction": "Set contact to email."}),
            tool_call("finish"),
            # request 2
            tool_call(
                "transfer_to", {"agent": "account", "instruction": "Switch to the yearly plan."}
            ),
            tool_call("finish"),
        ]
    )

    def triage_step(messages: list[BaseMessage]) -> AIMessage | str:
        # Asked for the final answer it answers; asked to route it takes the next step.
        if str(messages[0].content).startswith("Answer the user"):
            return final_answer(messages)
        return next(routing)

    triage = ScriptedChatModel([triage_step] * 9, name="triage-model")
    billing = ScriptedChatModel(
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
            # A detail no tool gave it: the kind of hallucination validation is there to stop.
            tool_call(
                "record_fact",
                {"subject": ORDER, "attribute": "refund_eta", "value": "in 2 business days"},
            ),
            tool_call(
                "remember",
                {
                    "key": "case-42",
                    "content": "Double charge of 59.00 on order 42 under review.",
                    "scope": "agent",
                },
            ),
            "Order 42 is processing; the double charge of 59.00 is under review; "
            "I noted when the refund is due.",
            "Correction: I cannot confirm a refund date; the double charge is under review.",
        ],
        name="billing-model",
    )
    support = ScriptedChatModel(
        [
            # The customer insists it shipped; support records what it was told.
            tool_call(
                "record_fact",
                {
                    "subject": ORDER,
                    "attribute": "status",
                    "value": "shipped",
                    "source": "customer chat",
                },
            ),
            tool_call("lookup_order", {"order_id": "42"}),
            tool_call(
                "remember",
                {"key": "contact", "content": "Customer wants email, not phone.", "scope": "user"},
            ),
            "Order 42 has not left the warehouse yet; no carrier assigned.",
        ],
        name="support-model",
    )
    account = ScriptedChatModel(
        [
            tool_call("recall", {"key": "contact"}),
            tool_call("lookup_order", {"order_id": "42"}),
            tool_call(
                "remember",
                {
                    "key": "goodwill",
                    "content": "Offer a 10% voucher if the refund is late.",
                    "scope": "agent",
                },
            ),
            "Contact preference is email; a goodwill voucher is noted for this case.",
            # request 2: the contact preference support saved is still there
            tool_call("recall", {"key": "contact"}),
            tool_call(
                "remember",
                {"key": "plan", "content": "Yearly plan from next cycle.", "scope": "user"},
            ),
            "Your plan moves to yearly from the next billing cycle; confirmation by email.",
        ],
        name="account-model",
    )
    return {"triage": triage, "billing": billing, "support": support, "account": account}


def run(directory: Path) -> Path:
    """Run both requests on a fresh database in ``directory`` and tell the story."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    path = directory / "demo.db"
    models = scripts()
    config: dict[str, Any] = {"configurable": {"thread_id": THREAD, "user_id": USER}}
    with SharedMemory.open(path) as mem:
        agents = [dataclasses.replace(a, model=models[a.name]) for a in CUSTOMER_SERVICE_AGENTS]
        builder = customer_service_team(
            mem, models["triage"], agents=agents, tools=[lookup_order], validators=_validators()
        )
        graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)
        started = time.perf_counter()
        answers = []
        for request in REQUESTS:
            graph.invoke({"messages": [HumanMessage(request)]}, config)
            answers.append(graph.get_state(config).values["final"])  # read back from the file
        seconds = time.perf_counter() - started
        tell(mem, graph, config, answers, seconds)
    print()
    print(f"The database is left in {path}. Look inside:")
    cli = inspector_command()
    for command, options in (
        ("facts", ""),
        ("disagreements", " --status all"),
        ("validations", ""),
        ("audit", " --agent billing"),
        ("messages", f" {THREAD}"),
        ("history", f" {THREAD}"),
    ):
        print(f"  {cli} {command} {path}{options}")
    return path


def _validators() -> list[Any]:
    return [Check(refund_needs_a_tool, name="refund-needs-a-tool", attribute="refund_eta")]


_SKIP = frozenset({"register_agent", "register_user", "grant_user", "grant_scope"})
_WRITES = {"assert_fact": "fact", "remember": "memory", "forget": "deleted"}


def _who_did_what(mem: SharedMemory) -> None:
    """One line per agent and direction, from the audit log (reads and writes of this user)."""
    done: dict[str, dict[str, list[str]]] = {}
    writers: dict[str, str] = {}  # memory key -> the agent that wrote it
    for entry in mem.audit(user=USER):
        if entry.agent is None or entry.action in _SKIP:
            continue
        lines = done.setdefault(entry.agent, {"wrote": [], "read": [], "denied": []})
        where = entry.scope or ""
        private = ", private" if where == f"agent:{entry.agent}" else ""
        if entry.outcome != "allowed":
            lines["denied"].append(f"{entry.action} {where} {entry.subject or ''}".strip())
        elif entry.action in _WRITES:
            lines["wrote"].append(f"{_WRITES[entry.action]} {entry.subject} ({where}{private})")
            writers.setdefault(entry.subject or "", entry.agent)
        elif entry.action.startswith("fact_"):
            lines["read"].append(f"facts of {where}")
        elif entry.action in ("recall", "get"):
            author = writers.get(entry.subject or "")
            origin = f", written by {author}" if author and author != entry.agent else ""
            lines["read"].append(f"memory {entry.subject} ({where}{origin})")
        else:
            lines["read"].append(f"{entry.action} ({where})")
    for agent, lines in done.items():
        for direction in ("wrote", "read", "denied"):
            if lines[direction]:
                unique = list(dict.fromkeys(lines[direction]))
                print(f"  {agent:<8} {direction:<6} " + "; ".join(unique))


def tell(
    mem: SharedMemory, graph: Any, config: dict[str, Any], answers: list[str], seconds: float
) -> None:
    """The story, every number and value read back from the database."""
    state = graph.get_state(config).values
    scope = ("user", USER)
    print(f"Request 1 from {USER}: {REQUESTS[0]}")
    print(f"Answer 1: {answers[0]}")
    print(f"Request 2: {REQUESTS[1]}")
    print(f"Answer 2: {answers[1]}")

    print("\nWho wrote and read what (audit log):")
    _who_did_what(mem)

    print("\nThe disagreement that was settled (fact ledger):")
    for d in mem.facts.disagreements(scope, ORDER, status=None):
        for c in d.claims:
            print(
                f"  {d.subject}.{d.attribute} = {c.value!r} by {', '.join(c.authors)}: {c.status}"
            )
        print(f"  decided by {d.decided_by}")
    fact = mem.facts.get(scope, ORDER, "status")
    print(f"  every reader gets: {fact.value if fact else None!r}")

    print("\nThe unverified fact that was stopped (validation):")
    for claim in mem.facts.claims(scope, ORDER, "refund_eta"):
        print(
            f"  {ORDER}.refund_eta = {claim.value!r} by {', '.join(claim.authors)}: {claim.status}"
        )
    for entry in mem.facts.validation_log(run=THREAD):
        if entry.outcome == "reject":
            print(f"  rejected by {entry.validator}: {entry.reason}")
    readable = mem.facts.get(scope, ORDER, "refund_eta")
    print(f"  what agents read: {readable.value if readable else None!r}")

    stats = mem.tool_cache.shared_stats("lookup_order")
    print("\nThe duplicate tool calls that were avoided (tool cache):")
    print(
        f"  lookup_order asked {stats.runs + stats.calls_saved} times by the agents, "
        f"run {stats.runs} time(s) against the order system, "
        f"{stats.calls_saved} answered from the cache"
    )
    # The cache's default scope: one user's run. Three agents on this ticket share a lookup;
    # another customer (or ticket) asking about order 42 gets a lookup of its own.
    print(f"  shared within {USER}'s ticket {THREAD} only (scope='run', the default)")

    rows = state.get("context", [])
    sent = sum(r["sent_tokens"] for r in rows)
    whole = sum(r["transcript_tokens"] for r in rows)
    print("\nThe context saved (each agent gets a slice of the history, not the transcript):")
    for r in rows:
        print(
            f"  {r['agent']:<8} got {r['sent_messages']:>2} messages, {r['sent_tokens']:>4} tokens"
            f"  (whole transcript: {r['transcript_messages']:>2} messages, "
            f"{r['transcript_tokens']:>4} tokens)"
            + (
                f"; told of {r['changes_seen']} change(s) since its last turn"
                if r.get("changes_seen")
                else ""
            )
        )
    if whole:
        print(f"  in all {sent} tokens instead of {whole}: {100 * (1 - sent / whole):.0f}% less")
    print(f"\n{len(REQUESTS)} requests in {seconds:.1f} s, offline.")


def inspector_command() -> str:
    """How to call the inspector from here: ``sharedmem`` if it is on PATH, else the script
    installed beside this Python (``.venv/bin/sharedmem`` after ``make demo``)."""
    if shutil.which("sharedmem"):
        return "sharedmem"
    beside = Path(sys.executable).parent / "sharedmem"
    if beside.exists():
        try:
            return str(beside.relative_to(Path.cwd()))
        except ValueError:
            return str(beside)
    return f"{sys.executable} -m langgraph_sharedmem.cli"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("demo-output"))
    args = parser.parse_args(argv)
    run(args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
