"""Context dumping vs slices: what three agents are sent per turn over a 10-turn workflow.

    python bench/bench_context.py             # 10 turns (the workflow of issue 6)
    python bench/bench_context.py --quick     # the same, fewer timing repeats
    python bench/bench_context.py --turns 30 --json out.json

A real LangGraph graph (planner -> researcher -> tools -> writer, checkpointed in the shared
memory) runs scripted turns: the user asks, the planner delegates, the researcher calls a
search tool whose result is long, the writer drafts. Each agent, before it speaks, is sent a
context, measured in tokens (LangChain's approximate counter, the same for every mode) and
bytes (the messages as JSON):

* ``whole``: the whole transcript so far (what passing the state's messages sends);
* ``window``: ``context(run, agent, last=6)``;
* ``window+relevant``: ``context(run, agent, last=6, query=<the agent's task>, k=3)``;
* ``window+relevant+summary``: the same plus a summary of everything older than the window.
  The summarizer here is a scripted extractive stand-in (first sentence of each message,
  capped at 60 words), so the summary's size is that of a short model summary.
* ``budget``: what the templates send, ``context(run, agent, budget=HISTORY_TOKENS,
  query=<the agent's task>)`` (the slice follows the newest message, within the budget);
* ``budget+digest``: the same with ``summarize_older`` and no summarizer: the offline
  extractive digest fills what the budget leaves.

Ratios are whole / slice, over all turns and at the last turn. A second part times reads
on one run of 5,000 messages (1,000 with --quick): a page, the last 20, a token budget, the
5 most relevant, against reading the whole history.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.messages import (  # noqa: E402
    AIMessage,
    BaseMessage,
    HumanMessage,
    message_to_dict,
)
from langchain_core.messages.utils import count_tokens_approximately  # noqa: E402
from langchain_core.runnables import RunnableConfig  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402
from langgraph.prebuilt import ToolNode  # noqa: E402

from bench._stats import timings  # noqa: E402
from langgraph_sharedmem import SharedMemory  # noqa: E402
from langgraph_sharedmem.templates._parts import HISTORY_TOKENS  # noqa: E402

AGENTS = ("planner", "researcher", "writer")
TOPICS = [
    "flights from Paris to Oslo in May",
    "hotels near the Oslo opera under 150 euros",
    "the weather in Oslo in late May",
    "museum passes and opening hours",
    "train from Oslo to Bergen",
    "restaurants with vegetarian menus",
    "public transport tickets in Oslo",
    "a day trip to the fjords",
    "budget for five days in Norway",
    "packing list for rain and cold evenings",
]
WIDTHS = (9, 10, 10, 9, 13, 7)
MODES = {
    "window": {"last": 6},
    "window+relevant": {"last": 6, "k": 3},
    "window+relevant+summary": {"last": 6, "k": 3, "summarize_older": True},
    "budget": {"budget": HISTORY_TOKENS},
    "budget+digest": {"budget": HISTORY_TOKENS, "summarize_older": True, "summarizer": None},
}


def _summarize(messages: list[BaseMessage], previous: str | None) -> str:
    """Extractive stand-in for a model summary: first sentences, at most 60 words."""
    words = (previous or "").split()
    for m in messages:
        first = str(m.text).split(". ")[0]
        words += first.split()[:12]
    return " ".join(words[-60:])


@tool
def search(query: str) -> str:
    """Search the travel knowledge base."""
    lines = [
        f"Result {i + 1} for {query}: a long paragraph of details, prices, schedules and "
        f"reviews that a research agent would get back from a search API ({i})."
        for i in range(8)
    ]
    return "\n".join(lines)


def _topic(state: MessagesState) -> str:
    """The topic of the current turn: each turn adds seven messages."""
    return TOPICS[(len(state["messages"]) // 7) % len(TOPICS)]


def _size(messages: list[BaseMessage]) -> tuple[int, int]:
    tokens = int(count_tokens_approximately(messages)) if messages else 0
    data = json.dumps([message_to_dict(m) for m in messages], ensure_ascii=False)
    return tokens, len(data.encode("utf-8"))


def run(turns: int, repeats: int) -> dict[str, Any]:
    sent: dict[str, list[tuple[int, int]]] = {m: [] for m in ("whole", *MODES)}
    per_turn: dict[str, list[int]] = {m: [] for m in sent}
    latency: dict[str, list[float]] = {m: [] for m in MODES}
    with (
        tempfile.TemporaryDirectory() as tmp,
        SharedMemory.open(Path(tmp) / "bench.db", index=None) as mem,
    ):
        for agent in AGENTS:
            mem.register_agent(agent)
        log = mem.conversation
        log.summarizer = log._summarizer(_summarize)  # noqa: SLF001 - bench wiring

        def measure(name: str, state: MessagesState, config: RunnableConfig) -> None:
            topic = _topic(state)
            run_id = config["configurable"]["thread_id"]
            whole = log.messages(run_id, viewer=name)
            assert len(whole) == len(state["messages"])  # the same transcript
            sent["whole"].append(_size(whole))
            for mode, options in MODES.items():
                opts = dict(options)
                if "k" in opts or "budget" in opts:
                    opts["query"] = f"{name} task: {topic}"
                if "summarizer" in opts:  # no model: the extractive digest
                    saved, log.summarizer = log.summarizer, None
                best = float("inf")
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    context = log.context(run_id, name, **opts)
                    best = min(best, time.perf_counter() - t0)
                if "summarizer" in opts:
                    log.summarizer = saved
                latency[mode].append(best)
                sent[mode].append(_size(context))

        def planner(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
            measure("planner", state, config)
            topic = _topic(state)
            return {
                "messages": [
                    AIMessage(
                        f"Plan: researcher, look into {topic}. Writer, then add it to "
                        "the itinerary with prices and times.",
                        name="planner",
                    )
                ]
            }

        def researcher(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
            measure("researcher", state, config)
            topic = _topic(state)
            call = {
                "name": "search",
                "args": {"query": topic},
                "id": f"c{len(state['messages'])}",
            }
            return {"messages": [AIMessage("", tool_calls=[call], name="researcher")]}

        def writer(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
            measure("writer", state, config)
            topic = _topic(state)
            return {
                "messages": [
                    AIMessage(
                        f"Itinerary updated with {topic}. The options found fit the "
                        "budget; details and links are in the notes section below. "
                        + "Notes: "
                        + "prices, times and reviews. " * 6,
                        name="writer",
                    )
                ]
            }

        builder = StateGraph(MessagesState)
        builder.add_node("planner", planner)
        builder.add_node("record_plan", log.recorder())
        builder.add_node("researcher", researcher)
        builder.add_node("tools", ToolNode([search]))
        builder.add_node("record_research", log.recorder())
        builder.add_node("writer", writer)
        builder.add_node("record_draft", log.recorder())
        for a, b in [
            (START, "planner"),
            ("planner", "record_plan"),
            ("record_plan", "researcher"),
            ("researcher", "tools"),
            ("tools", "record_research"),
            ("record_research", "writer"),
            ("writer", "record_draft"),
            ("record_draft", END),
        ]:
            builder.add_edge(a, b)
        # The user's question is appended before the graph runs, so the planner's
        # context holds it; the recorders skip it later (same id).
        graph = builder.compile(checkpointer=mem.checkpointer)
        config: RunnableConfig = {"configurable": {"thread_id": "trip"}}
        for turn in range(turns):
            before = {m: len(v) for m, v in sent.items()}
            question = HumanMessage(
                f"Turn {turn + 1}: please also sort out {TOPICS[turn % len(TOPICS)]}.",
                id=f"question-{turn}",
            )
            log.append(question, run="trip", sender="user", thread="trip")
            graph.invoke({"messages": [question]}, config)
            for mode, values in sent.items():
                per_turn[mode].append(sum(t for t, _ in values[before[mode] :]))

    totals = {m: (sum(t for t, _ in v), sum(b for _, b in v)) for m, v in sent.items()}
    whole_tokens, whole_bytes = totals["whole"]
    report: dict[str, Any] = {"turns": turns, "agents": list(AGENTS), "modes": {}}
    for mode in sent:
        tokens, size = totals[mode]
        report["modes"][mode] = {
            "tokens_total": tokens,
            "bytes_total": size,
            "tokens_last_turn": per_turn[mode][-1],
            "ratio_tokens": round(whole_tokens / tokens, 2) if tokens else None,
            "ratio_bytes": round(whole_bytes / size, 2) if size else None,
            "ratio_tokens_last_turn": round(per_turn["whole"][-1] / per_turn[mode][-1], 2),
            "tokens_per_turn": per_turn[mode],
        }
        if mode in latency:
            report["modes"][mode]["context_ms_median"] = round(
                statistics.median(latency[mode]) * 1e3, 2
            )
    return report


def long_history(n: int) -> dict[str, Any]:
    """Reads on one run of ``n`` messages: each a page or a slice, never the whole history
    (except ``messages``, shown for comparison). Milliseconds, median of 20."""
    from langgraph_sharedmem import ConversationLog

    with tempfile.TemporaryDirectory() as tmp, ConversationLog(Path(tmp) / "h.db") as log:
        batch = [
            AIMessage(f"message {i} about {TOPICS[i % len(TOPICS)]}", id=f"m{i}") for i in range(n)
        ]
        t0 = time.perf_counter()
        for i in range(0, n, 500):
            log.extend(batch[i : i + 500], run="big", sender=AGENTS[i % 3])
        append_ms = (time.perf_counter() - t0) / n * 1e3
        middle = n // 2

        def ms(fn: Any) -> float:
            return round(statistics.median(timings(fn, 20)) * 1e3, 2)

        return {
            "messages": n,
            "append_ms_per_message_in_batches_of_500": round(append_ms, 3),
            "page_50_in_the_middle_ms": ms(lambda: log.page("big", after=middle, limit=50)),
            "last_20_ms": ms(lambda: log.last("big", 20, viewer="writer")),
            "within_2000_tokens_ms": ms(lambda: log.within_tokens("big", 2000, viewer="writer")),
            "relevant_5_exact_cosine_ms": ms(lambda: log.relevant("big", "fjord trip", 5)),
            "context_budget_1000_ms": ms(
                lambda: log.context("big", "writer", budget=1000, query="fjord trip")
            ),
            "whole_history_ms": ms(lambda: log.messages("big")),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    report = run(opts.turns, repeats=1 if opts.quick else 5)
    head = ("mode", "tokens", "bytes", "x tokens", "x bytes", "last turn x", "ms")
    print(f"{head[0]:<26}" + "".join(f"{h:>{w}}" for h, w in zip(head[1:], WIDTHS, strict=True)))
    for mode, r in report["modes"].items():
        cells = (
            r["tokens_total"],
            r["bytes_total"],
            r["ratio_tokens"],
            r["ratio_bytes"],
            r["ratio_tokens_last_turn"],
            r.get("context_ms_median", ""),
        )
        print(f"{mode:<26}" + "".join(f"{c:>{w}}" for c, w in zip(cells, WIDTHS, strict=True)))
    history = long_history(1000 if opts.quick else 5000)
    print(json.dumps(history, indent=2))
    report["long_history"] = history
    if opts.json:
        opts.json.write_text(json.dumps({"results": report}, indent=2))


if __name__ == "__main__":
    main()
