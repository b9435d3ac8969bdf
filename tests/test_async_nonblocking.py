"""The async API never blocks the event loop: checked the way `langgraph dev` checks it.

`langgraph dev` runs graphs under BlockBuster, which raises on any blocking call (file I/O,
sleep, lock waits...) made on the event loop's thread. Every async checkpointer method runs
here with BlockBuster active.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from _graphs import linear_graph
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt

from langgraph_sharedmem import SharedMemorySaver

blockbuster = pytest.importorskip("blockbuster")


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def _graph() -> StateGraph:
    def ask(state: Chat) -> dict[str, Any]:
        answer = interrupt("approve?")
        return {"messages": [AIMessage(f"approved: {answer}")]}

    return linear_graph(Chat, ("ask", ask))


async def test_async_methods_make_no_blocking_calls(db_path: Path) -> None:
    saver = SharedMemorySaver(db_path)
    await saver.asetup()
    graph = _graph().compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "t"}}
    with blockbuster.blockbuster_ctx():
        await graph.ainvoke({"messages": [HumanMessage("go")]}, config)
        await graph.ainvoke(Command(resume="yes"), config)
        state = await graph.aget_state(config)
        history = [s async for s in graph.aget_state_history(config)]
        await saver.acopy_thread("t", "t2")
        await saver.aprune(["t2"], strategy="keep_latest")
        await saver.adelete_for_runs(["no-such-run"])
        await saver.adelete_thread("t2")
        async with saver:
            pass  # closing from the loop does not block it either
    assert state.values["messages"][-1].content == "approved: yes"
    assert len(history) >= 3


async def test_blockbuster_catches_a_sync_call_on_the_loop(db_path: Path) -> None:
    """The guard is real: the sync API called on the loop is reported as blocking."""
    saver = SharedMemorySaver(db_path)
    with blockbuster.blockbuster_ctx(), pytest.raises(blockbuster.BlockingError):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
