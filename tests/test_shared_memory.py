"""`SharedMemory.open`: one file holds a graph's checkpoints and its long-term memories."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypedDict

from _graphs import linear_graph
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.config import get_store
from langgraph.graph import StateGraph
from langgraph.graph.message import add_messages

from langgraph_sharedmem import SharedMemory


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def _support_agent() -> StateGraph:
    def agent(state: Chat) -> dict[str, Any]:
        store = get_store()
        question = str(state["messages"][-1].content)
        known = store.search(("users", "u1", "facts"), query=question, limit=1)
        store.put(("users", "u1", "facts"), f"q{len(state['messages'])}", {"text": question})
        answer = known[0].value["text"] if known else "nothing remembered yet"
        return {"messages": [AIMessage(f"I remember: {answer}")]}

    return linear_graph(Chat, ("agent", agent))


def test_checkpoints_and_memories_share_one_file_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "agents.db"
    config = {"configurable": {"thread_id": "t1"}}
    with SharedMemory.open(path) as mem:
        graph = _support_agent().compile(checkpointer=mem.checkpointer, store=mem.store)
        graph.invoke({"messages": [HumanMessage("my order 1017 is late")]}, config)

    with SharedMemory.open(path) as mem:  # a new process would see the same
        graph = _support_agent().compile(checkpointer=mem.checkpointer, store=mem.store)
        result = graph.invoke({"messages": [HumanMessage("what about order 1017?")]}, config)
        assert len(result["messages"]) == 4  # the first turn came back from the checkpoint
        assert result["messages"][-1].content == "I remember: my order 1017 is late"
        memories = mem.store.search(("users", "u1"))
        assert sorted(m.key for m in memories) == ["q1", "q3"]
        assert mem.checkpointer.db is mem.store.db is mem.db


async def test_async_graph_on_shared_memory(tmp_path: Path) -> None:
    config = {"configurable": {"thread_id": "t-async"}}
    async with SharedMemory.open(tmp_path / "agents.db") as mem:
        graph = _support_agent().compile(checkpointer=mem.checkpointer, store=mem.store)
        await graph.ainvoke({"messages": [HumanMessage("hello")]}, config)
        state = await graph.aget_state(config)
        assert [m.type for m in state.values["messages"]] == ["human", "ai"]
        assert await mem.store.aget(("users", "u1", "facts"), "q1") is not None


def test_index_can_be_turned_off(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "plain.db", index=None) as mem:
        mem.store.put(("app",), "k", {"v": 1})
        assert mem.store.get(("app",), "k").value == {"v": 1}
        assert not (tmp_path / "plain.db.chroma").exists()
