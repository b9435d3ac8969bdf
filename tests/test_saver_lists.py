"""List channels are stored as segments and serialized incrementally; values must not drift.

The saver reuses the bytes of list elements equal to a snapshot taken when they were last
serialized. These tests mutate messages *in place* (the case such caching gets wrong) and
compare every checkpoint with LangGraph's InMemorySaver, which serializes everything anew.

They run with ``durability="sync"``: under LangGraph's default ``"async"`` durability a
checkpoint is saved while the next step already runs, so a step that mutates state objects
in place races with the saving of the previous checkpoint -- for every saver, LangGraph's own
included. Only in ``"sync"`` mode is "the value at each checkpoint" well defined.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from langgraph_sharedmem import SharedMemorySaver

STEPS = 12


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    step: int


def _mutating_graph() -> StateGraph:
    def work(state: Chat) -> dict[str, Any]:
        step = state.get("step", 0) + 1
        first = state["messages"][0]
        # Mutate objects already in state, in place, in three ways.
        first.additional_kwargs.setdefault("seen", []).append(step)  # nested, same dict
        if step % 3 == 0:
            first.content = f"{first.content} +{step}"  # attribute replaced
        middle = state["messages"][len(state["messages"]) // 2]
        middle.response_metadata["touched"] = step  # nested, not returned by the node
        return {"messages": [AIMessage(f"reply {step}", id=f"r{step}")], "step": step}

    builder = StateGraph(Chat)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_conditional_edges("work", lambda s: END if s["step"] >= STEPS else "work")
    return builder


def _history(graph: Any, config: dict) -> list[tuple[int, list[dict]]]:
    return [
        (
            snapshot.metadata["step"],
            [m.model_dump() for m in snapshot.values.get("messages", [])],
        )
        for snapshot in graph.get_state_history(config)
    ]


def test_in_place_mutations_are_stored_like_inmemorysaver(db_path: Path) -> None:
    config = {"configurable": {"thread_id": "mutations"}}
    start = {"messages": [HumanMessage("hello", id="h0")]}

    reference = _mutating_graph().compile(checkpointer=InMemorySaver())
    reference.invoke({"messages": [HumanMessage("hello", id="h0")]}, config, durability="sync")

    with SharedMemorySaver(db_path) as saver:
        _mutating_graph().compile(checkpointer=saver).invoke(start, config, durability="sync")
    with SharedMemorySaver(db_path) as reopened:  # nothing cached: everything read from disk
        ours = _history(_mutating_graph().compile(checkpointer=reopened), config)

    assert ours == _history(reference, config)
    final = ours[0][1]
    assert final[0]["additional_kwargs"]["seen"] == list(range(1, STEPS + 1))
    assert final[0]["content"].endswith(f"+{STEPS}")


def test_in_place_mutation_between_invocations_is_kept(db_path: Path) -> None:
    """A message mutated after being loaded (new objects, warm cache) is stored again."""
    config = {"configurable": {"thread_id": "between"}}
    with SharedMemorySaver(db_path) as saver:
        graph = _mutating_graph().compile(checkpointer=saver)
        graph.invoke({"messages": [HumanMessage("hello", id="h0")]}, config, durability="sync")
        state = graph.get_state(config).values
        edited = state["messages"][0]
        edited.additional_kwargs["note"] = {"level": 1}
        graph.update_state(config, {"messages": [edited]})
        edited.additional_kwargs["note"]["level"] = 2  # mutate the same object again
        graph.update_state(config, {"messages": [edited]})
    with SharedMemorySaver(db_path) as reopened:
        graph = _mutating_graph().compile(checkpointer=reopened)
        newest_three = list(graph.get_state_history(config))[:3]
        levels = [
            snapshot.values["messages"][0].additional_kwargs.get("note", {}).get("level")
            for snapshot in newest_three
        ]
    assert levels == [2, 1, None]
