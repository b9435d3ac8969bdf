"""Functions run in child processes by the concurrency tests (importable under spawn)."""

from __future__ import annotations

import traceback
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from langgraph_sharedmem import SharedMemorySaver


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def build_chat_graph(saver: SharedMemorySaver) -> Any:
    def reply(state: Chat) -> dict[str, list[AnyMessage]]:
        return {"messages": [AIMessage(f"reply {len(state['messages'])}")]}

    builder = StateGraph(Chat)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    return builder.compile(checkpointer=saver)


def open_and_chat(path: str, worker: int, turns: int, barrier: Any, results: Any) -> None:
    """Open ``path`` the instant every worker is ready, then run ``turns`` turns on own thread."""
    try:
        barrier.wait(timeout=60)
        with SharedMemorySaver(path) as saver:
            graph = build_chat_graph(saver)
            config = {"configurable": {"thread_id": f"worker-{worker}"}}
            for turn in range(turns):
                graph.invoke({"messages": [HumanMessage(f"w{worker} t{turn}")]}, config)
        results.put((worker, None))
    except BaseException:  # report everything to the parent, which asserts on it
        results.put((worker, traceback.format_exc()))
