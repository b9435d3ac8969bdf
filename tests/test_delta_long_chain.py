"""DeltaChannel history longer than one chunk of the ancestor walk (64 checkpoints)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypedDict

from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

from langgraph_sharedmem import SharedMemorySaver
from langgraph_sharedmem.checkpoint._history import ANCESTOR_CHUNK
from tests._graphs import extend_list

STEPS = 2 * ANCESTOR_CHUNK + 22  # the seed sits three chunks back


class Sparse(TypedDict):
    # Never snapshotted within the run: rebuilt from every write back to the first one.
    items: Annotated[list[Any], DeltaChannel(extend_list, snapshot_frequency=10_000)]
    n: int


def _graph() -> StateGraph:
    builder = StateGraph(Sparse)
    builder.add_node("count", lambda s: {"items": [s["n"]], "n": s["n"] + 1})
    builder.add_edge(START, "count")
    builder.add_conditional_edges("count", lambda s: "count" if s["n"] < STEPS else END)
    return builder


def test_long_delta_history_rebuilds_across_chunks_and_survives_prune(db_path: Path) -> None:
    config = {"configurable": {"thread_id": "long"}, "recursion_limit": STEPS + 10}
    reference = _graph().compile(checkpointer=InMemorySaver())
    reference.invoke({"items": [], "n": 0}, config)
    expected = reference.get_state(config).values

    with SharedMemorySaver(db_path) as saver:
        _graph().compile(checkpointer=saver).invoke({"items": [], "n": 0}, config)
    with SharedMemorySaver(db_path) as saver:  # reopened: rebuilt from disk only
        graph = _graph().compile(checkpointer=saver)
        assert graph.get_state(config).values == expected
        assert expected["items"] == list(range(STEPS))
        middle = list(graph.get_state_history(config))[STEPS // 2]
        reference_middle = list(reference.get_state_history(config))[STEPS // 2]
        assert middle.values == reference_middle.values

        saver.prune(["long"], strategy="keep_latest")
        assert graph.get_state(config).values == expected
