"""Lists: list channels must not drift; `list(filter=...)` must find what SqliteSaver finds.

List channels are stored as segments and serialized incrementally; values must not drift.

The saver reuses the bytes of list elements equal to a snapshot taken when they were last
serialized. These tests mutate messages *in place* (the case such caching gets wrong) and
compare every checkpoint with LangGraph's InMemorySaver, which serializes everything anew.

They run with ``durability="sync"``: under LangGraph's default ``"async"`` durability a
checkpoint is saved while the next step already runs, so a step that mutates state objects
in place races with the saving of the previous checkpoint -- for every saver, LangGraph's own
included. Only in ``"sync"`` mode is "the value at each checkpoint" well defined.
"""

from __future__ import annotations

import re
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from langgraph_sharedmem import InvalidConfigError, SharedMemorySaver

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


# -- list(filter=...): metadata filters read as SqliteSaver reads them -------------------------
#
# The same metadata goes through LangGraph's SqliteSaver and ours; each filter must find the
# same checkpoints, newest first, or both must refuse the key with a ValueError. Keys are
# dotted paths into nested metadata, with hyphens, leading digits, and characters no path may
# hold. One deliberate difference is kept out of the comparison: a key with an empty path part
# ("a..b", ".a", "a.") is refused by ours; SQLite answers it with "JSON path error" or a match
# on another path, depending on the data.

LABELS = ["a", "b", "user", "access-level", "123abc", "0", "x_y", "-", "é", "a.b", 'q"t', "$or"]
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["ok", "nested", "1", "", "ünï", "a b"]),
)
tree = st.recursive(leaf, lambda kids: st.dictionaries(st.sampled_from(LABELS), kids, max_size=3))
metadatas = st.lists(
    st.dictionaries(st.sampled_from(LABELS), tree, max_size=4), min_size=1, max_size=6
)
filter_key = st.one_of(
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=3).map(".".join),
    st.text(alphabet="ab-._1$ é\"'[]*", max_size=6),
)
filters = st.dictionaries(filter_key, leaf, min_size=1, max_size=2)


def _empty_part(key: str) -> bool:
    """A key of path characters with an empty part between dots."""
    return bool(re.fullmatch(r"[a-zA-Z0-9_.-]+", key)) and "" in key.split(".")


def _fill(saver: Any, metadatas: list[dict[str, Any]]) -> None:
    for i, metadata in enumerate(metadatas):
        checkpoint = empty_checkpoint()
        checkpoint["id"] = f"1f0-{i:04d}"
        config = {"configurable": {"thread_id": f"t{i % 2}", "checkpoint_ns": ""}}
        saver.put(config, checkpoint, metadata, {})


def _ids(saver: Any, flt: dict[str, Any], **kwargs: Any) -> list[str] | str:
    try:
        return [c.checkpoint["id"] for c in saver.list(None, filter=flt, **kwargs)]
    except ValueError:
        return "ValueError"


@contextmanager
def _both(tmp: Path) -> Iterator[tuple[SqliteSaver, SharedMemorySaver]]:
    conn = sqlite3.connect(tmp / "theirs.db", check_same_thread=False)
    try:
        with SharedMemorySaver(tmp / "ours.db") as ours:
            yield SqliteSaver(conn), ours
    finally:
        conn.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(metadatas=metadatas, flt=filters)
@example(metadatas=[{}], flt={"": None, ".": None})
def test_filter_finds_what_sqlite_saver_finds(
    metadatas: list[dict[str, Any]], flt: dict[str, Any]
) -> None:
    with tempfile.TemporaryDirectory() as tmp, _both(Path(tmp)) as (theirs, ours):
        _fill(theirs, metadatas)
        _fill(ours, metadatas)
        if any(_empty_part(k) for k in flt):
            with pytest.raises(InvalidConfigError, match="Invalid filter key") as refused:
                list(ours.list(None, filter=flt))
            # With several bad keys (say "" and "."), the refusal may name any one of them.
            assert any(repr(k) in str(refused.value) for k in flt)
            return
        found = _ids(ours, flt)
        assert found == _ids(theirs, flt), (flt, metadatas)
        assert _ids(ours, flt, limit=1) == _ids(theirs, flt, limit=1)
        if found == "ValueError":  # a project error naming the key
            with pytest.raises(InvalidConfigError) as refused:
                list(ours.list(None, filter=flt))
            assert any(repr(k) in str(refused.value) for k in flt)


ISSUE_METADATA = [
    {"user": {"access-level": "nested"}, "123abc": "ok", "n": 1},
    {"user": {"access-level": "flat"}, "n": 2, "k": "set"},
    {"user": "plain"},
]


@pytest.mark.parametrize(
    "flt",
    [
        {"user.access-level": "nested"},
        {"123abc": "ok"},
        {"user.access-level": "flat", "n": 2},
        {"k": None},  # missing keys read as None, as in SqliteSaver
        {"user.access-level.deeper": None},
        {"user": {"access-level": "nested"}},
        {"n": True},  # 1 == True, in SQLite and in Python
    ],
)
def test_issue_examples_match_sqlite_saver(tmp_path: Path, flt: dict[str, Any]) -> None:
    with _both(tmp_path) as (theirs, ours):
        _fill(theirs, ISSUE_METADATA)
        _fill(ours, ISSUE_METADATA)
        assert _ids(ours, flt) == _ids(theirs, flt) != []
        before = {"configurable": {"checkpoint_id": "1f0-0002"}}
        assert _ids(ours, flt, before=before) == _ids(theirs, flt, before=before)


@pytest.mark.parametrize("key", ["a b", "x'); DROP TABLE checkpoints; --", "é", "$.x", "a[0]", ""])
def test_key_that_cannot_be_a_path_is_refused_like_sqlite_saver(tmp_path: Path, key: str) -> None:
    with _both(tmp_path) as (theirs, ours):
        _fill(ours, ISSUE_METADATA)
        with pytest.raises(ValueError):
            list(theirs.list(None, filter={key: 1}))
        with pytest.raises(InvalidConfigError, match="Invalid filter key") as refused:
            list(ours.list(None, filter={key: 1}))
        assert repr(key) in str(refused.value)
        assert len(list(ours.list(None))) == len(ISSUE_METADATA)
