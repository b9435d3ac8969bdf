"""A graph's memory surviving a process restart.

Two separate Python processes share one SQLite file. The first runs a turn of a small
support-agent graph and exits; the second opens the same file, finds the conversation
where the first left it, and continues it. Offline: a scripted fake chat model stands in
for the LLM, and the same graph runs unchanged with a real one.

    python examples/restart_demo.py [--db PATH]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import Annotated, TypedDict

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from langgraph_sharedmem import SharedMemorySaver

THREAD = {"configurable": {"thread_id": "customer-42"}}
SCRIPT = {
    1: (
        "My order #1017 hasn't arrived.",
        "I see order #1017 is in transit; it left the depot today.",
    ),
    2: ("Which order were we talking about?", "Order #1017 -- it is in transit since today."),
}


class Conversation(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def build_graph(model: BaseChatModel, saver: SharedMemorySaver):  # noqa: ANN201 - a compiled graph
    def agent(state: Conversation) -> dict[str, list[AnyMessage]]:
        return {"messages": [model.invoke(state["messages"])]}

    builder = StateGraph(Conversation)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    return builder.compile(checkpointer=saver)


def run_turn(db: Path, turn: int) -> None:
    question, answer = SCRIPT[turn]
    model = GenericFakeChatModel(messages=iter([answer]))
    with SharedMemorySaver.from_conn_string(db) as saver:
        graph = build_graph(model, saver)
        before = graph.get_state(THREAD).values.get("messages", [])
        print(f"[process {turn}] opened {db.name}: {len(before)} messages already stored")
        result = graph.invoke({"messages": [HumanMessage(question)]}, THREAD)
        for message in result["messages"]:
            print(f"[process {turn}]   {message.type:>5}: {message.content}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("restart_demo.db"))
    parser.add_argument("--turn", type=int, choices=sorted(SCRIPT), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.turn is not None:
        run_turn(args.db, args.turn)
        return
    for suffix in ("", "-wal", "-shm"):
        Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    for turn in sorted(SCRIPT):
        # Each turn is a new Python process: nothing survives but the database file.
        subprocess.run(
            [sys.executable, __file__, "--db", str(args.db), "--turn", str(turn)], check=True
        )
    print(f"\nThe conversation lives in {args.db.resolve()}; both processes shared it.")


if __name__ == "__main__":
    main()
