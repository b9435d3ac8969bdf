"""End-to-end tests: real StateGraph graphs checkpointed in real SQLite files.

Each test drives a compiled LangGraph graph the way an application does (invoke, interrupt,
resume, update_state, time travel, subgraphs, DeltaChannel, durability modes, several
processes) and checks what a user of `SharedMemorySaver` relies on. Where LangGraph's own
`InMemorySaver` is the reference, the same graph is run on both and the states compared.
"""

from __future__ import annotations

import datetime
import decimal
import json
import operator
import os
import sqlite3
import subprocess
import sys
import textwrap
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import ormsgpack
import pytest
from _graphs import (
    DELTA_SNAPSHOT_FREQUENCY,
    FANOUT_ROUNDS,
    FANOUT_WIDTH,
    build_approval_graph,
    build_chat_graph,
    build_counter_graph,
    build_draft_graph,
    build_fanout_graph,
    build_form_graph,
    build_parent_graph,
    expected_turn,
    human,
    linear_graph,
)
from langchain_core.messages import AIMessage, AnyMessage, RemoveMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.pregel import Pregel
from langgraph.types import Command, StateSnapshot

from langgraph_sharedmem import (
    DatabaseFileError,
    SharedMemorySaver,
    StrictSerializer,
    UnsafeDeserializationError,
)
from langgraph_sharedmem.checkpoint._zdict import DICTIONARY

TESTS_DIR = Path(__file__).resolve().parent

Durability = Literal["sync", "async", "exit"]


# -- helpers ----------------------------------------------------------------------------------


def thread(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def conversation(*turns: int) -> list[AnyMessage]:
    """The messages the chat graph holds after running ``turns``."""
    return [m for i in turns for m in expected_turn(i)]


def history(graph: Pregel, config: RunnableConfig) -> list[tuple[int, str, dict[str, Any]]]:
    """(step, source, values) of every checkpoint of a thread, newest first."""
    return [
        (snap.metadata["step"], snap.metadata["source"], snap.values)
        for snap in graph.get_state_history(config)
        if snap.metadata is not None
    ]


def parent_chain(graph: Pregel, config: RunnableConfig) -> list[str]:
    """Checkpoint ids from ``config``'s checkpoint back to the root, following parent links."""
    ids: list[str] = []
    snap: StateSnapshot | None = graph.get_state(config)
    while snap is not None:
        ids.append(snap.config["configurable"]["checkpoint_id"])
        snap = graph.get_state(snap.parent_config) if snap.parent_config else None
    return ids


def checkpoint_count(saver: BaseCheckpointSaver[Any], config: RunnableConfig) -> int:
    return sum(1 for _ in saver.list(config))


@pytest.fixture
def reopen(saver_conn: str | Path) -> Iterator[Callable[..., SharedMemorySaver]]:
    """Open further savers on the test's database (as a restarted process would); all closed
    after."""
    opened: list[SharedMemorySaver] = []

    def _open(**kwargs: Any) -> SharedMemorySaver:
        saver = SharedMemorySaver(saver_conn, **kwargs)
        opened.append(saver)
        return saver

    yield _open
    for saver in opened:
        saver.close()


# -- 1. interrupt and resume ------------------------------------------------------------------

APPROVAL_QUESTION = {"question": "approve?", "request": "post v1"}


def test_interrupt_is_visible_and_resumes_after_reopening(saver_conn: str | Path) -> None:
    """A run paused by interrupt() shows the interrupt in get_state and resumes from a new saver."""
    config = thread("approval")
    with SharedMemorySaver(saver_conn) as saver:
        graph = build_approval_graph().compile(checkpointer=saver)
        result = graph.invoke({"request": "post v1", "log": []}, config)
        assert [i.value for i in result["__interrupt__"]] == [APPROVAL_QUESTION]

        paused = graph.get_state(config)
        assert paused.next == ("review",)
        assert paused.values == {"request": "post v1", "log": ["drafted post v1"]}
        (task,) = paused.tasks
        assert task.name == "review"
        assert [i.value for i in task.interrupts] == [APPROVAL_QUESTION]
        assert paused.interrupts == task.interrupts
        interrupt_id = paused.interrupts[0].id

    with SharedMemorySaver(saver_conn) as saver:  # the process restarted
        graph = build_approval_graph().compile(checkpointer=saver)
        assert [i.id for i in graph.get_state(config).interrupts] == [interrupt_id]

        final = graph.invoke(Command(resume="approve"), config)
        assert final == {
            "request": "post v1",
            "decision": "approve",
            "log": ["drafted post v1", "reviewed: approve", "published post v1"],
        }
        done = graph.get_state(config)
        assert done.values == final
        assert done.next == () and done.tasks == () and done.interrupts == ()


async def test_interrupt_and_resume_async(saver_conn: str | Path) -> None:
    """The same pause/resume cycle through ainvoke/aget_state on an async-opened saver."""
    config = thread("approval-async")
    async with SharedMemorySaver.from_conn_string(saver_conn) as saver:
        graph = build_approval_graph().compile(checkpointer=saver)
        result = await graph.ainvoke({"request": "post v2", "log": []}, config)
        assert [i.value for i in result["__interrupt__"]] == [
            {"question": "approve?", "request": "post v2"}
        ]
        paused = await graph.aget_state(config)
        assert paused.next == ("review",)
        assert [i.value["request"] for i in paused.tasks[0].interrupts] == ["post v2"]

        # Resume by interrupt id, as a UI that shows several pending questions would.
        final = await graph.ainvoke(Command(resume={paused.interrupts[0].id: "reject"}), config)
        assert final["decision"] == "reject"
        assert final["log"] == ["drafted post v2", "reviewed: reject", "discarded post v2"]

        done = await graph.aget_state(config)
        assert done.values == final and done.next == () and done.interrupts == ()
        steps = [s.metadata["step"] async for s in graph.aget_state_history(config) if s.metadata]
        assert steps == sorted(steps, reverse=True) and len(steps) >= 5


def test_two_interrupts_in_one_node_resume_one_after_the_other(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """A node asking two questions shows the second after the first answer, across restarts."""
    config = thread("form")
    with SharedMemorySaver(saver_conn) as saver:
        graph = build_form_graph().compile(checkpointer=saver)
        graph.invoke({}, config)
        assert [i.value for i in graph.get_state(config).interrupts] == ["name?"]
        graph.invoke(Command(resume="Ada"), config)

    graph = build_form_graph().compile(checkpointer=reopen())
    paused = graph.get_state(config)
    assert paused.next == ("fill_form",)
    assert [i.value for i in paused.interrupts] == ["age of Ada?"]

    graph = build_form_graph().compile(checkpointer=reopen())
    assert graph.invoke(Command(resume="36"), config) == {"name": "Ada", "age": "36"}
    done = graph.get_state(config)
    assert done.next == () and done.interrupts == ()


# -- 2. update_state ----------------------------------------------------------------------------


def test_update_state_then_continue(saver: SharedMemorySaver) -> None:
    """A human edit made with update_state while paused is what the next node sees."""
    graph = build_draft_graph().compile(checkpointer=saver, interrupt_before=["publish"])
    config = thread("draft")
    graph.invoke({"topic": "owls", "log": []}, config)
    assert graph.get_state(config).next == ("publish",)

    updated = graph.update_state(config, {"draft": "owls, rewritten by a human"})
    snap = graph.get_state(config)
    assert snap.config["configurable"]["checkpoint_id"] == updated["configurable"]["checkpoint_id"]
    assert snap.metadata is not None and snap.metadata["source"] == "update"
    assert snap.values["draft"] == "owls, rewritten by a human"
    assert snap.next == ("publish",)

    final = graph.invoke(None, config)
    assert final == {
        "topic": "owls",
        "draft": "owls, rewritten by a human",
        "log": ["write#1", "edit#1", "publish#1: owls, rewritten by a human"],
    }


# -- 3. time travel -----------------------------------------------------------------------------


def test_replay_from_an_old_checkpoint_reruns_later_nodes(saver: SharedMemorySaver) -> None:
    """invoke(None, old_config) re-executes the nodes after that checkpoint; old history stays."""
    calls: dict[str, int] = {}
    graph = build_draft_graph(calls).compile(checkpointer=saver)
    config = thread("replay")
    first = graph.invoke({"topic": "bees", "log": []}, config)
    assert first["log"] == ["write#1", "edit#1", "publish#1: about bees (edited)"]
    original = list(graph.get_state_history(config))
    before_edit = next(s for s in original if s.next == ("edit",))

    replayed = graph.invoke(None, before_edit.config)
    assert replayed["log"] == ["write#1", "edit#2", "publish#2: about bees (edited)"]
    assert calls == {"write": 1, "edit": 2, "publish": 2}
    assert graph.get_state(config).values == replayed
    # The new checkpoints descend from the one replayed; the first run is still readable.
    before_edit_id = before_edit.config["configurable"]["checkpoint_id"]
    assert before_edit_id in parent_chain(graph, config)
    assert graph.get_state(original[0].config).values == first
    assert len(list(graph.get_state_history(config))) > len(original)


def test_fork_with_update_state_on_an_old_checkpoint(saver: SharedMemorySaver) -> None:
    """update_state on an old checkpoint starts a branch; the original branch is untouched."""
    graph = build_draft_graph().compile(checkpointer=saver)
    config = thread("fork")
    original_final = graph.invoke({"topic": "bees", "log": []}, config)
    original = list(graph.get_state_history(config))
    before_edit = next(s for s in original if s.next == ("edit",))

    fork_config = graph.update_state(before_edit.config, {"draft": "about wasps"})
    forked_final = graph.invoke(None, fork_config)
    assert forked_final == {
        "topic": "bees",
        "draft": "about wasps (edited)",
        "log": ["write#1", "edit#2", "publish#2: about wasps (edited)"],
    }
    # The thread's latest state is now the branch's ...
    assert graph.get_state(config).values == forked_final
    branch = parent_chain(graph, config)
    assert before_edit.config["configurable"]["checkpoint_id"] in branch
    assert original[0].config["configurable"]["checkpoint_id"] not in branch
    # ... while every checkpoint of the original branch still reads as it did.
    assert graph.get_state(original[0].config).values == original_final
    for snap in original:
        assert graph.get_state(snap.config).values == snap.values


# -- 4. subgraphs -------------------------------------------------------------------------------


def test_subgraph_interrupt_resume_and_namespaced_checkpoints(saver_conn: str | Path) -> None:
    """An interrupt inside a subgraph shows with subgraphs=True and resumes after a restart."""
    config = thread("subgraph")
    question = {"question": "what about cats?"}
    with SharedMemorySaver(saver_conn) as saver:
        graph = build_parent_graph().compile(checkpointer=saver)
        result = graph.invoke({"topic": "cats", "log": []}, config)
        assert [i.value for i in result["__interrupt__"]] == [question]

        state = graph.get_state(config, subgraphs=True)
        assert state.next == ("child",)
        assert state.values == {"topic": "cats", "log": ["prepared cats"]}
        (task,) = state.tasks
        assert task.name == "child"
        sub = task.state
        assert isinstance(sub, StateSnapshot)
        assert sub.values == {"topic": "cats", "notes": ["researched cats"]}
        assert sub.next == ("ask",)
        assert [i.value for i in sub.interrupts] == [question]
        child_ns = sub.config["configurable"]["checkpoint_ns"]
        assert child_ns.startswith("child:")

        namespaces = {t.config["configurable"]["checkpoint_ns"] for t in saver.list(config)}
        assert namespaces == {"", child_ns}
        child_config: RunnableConfig = {
            "configurable": {"thread_id": "subgraph", "checkpoint_ns": child_ns}
        }
        child_checkpoints = list(saver.list(child_config))
        assert len(child_checkpoints) >= 2
        assert {t.config["configurable"]["checkpoint_ns"] for t in child_checkpoints} == {child_ns}

    with SharedMemorySaver(saver_conn) as saver:
        graph = build_parent_graph().compile(checkpointer=saver)
        sub_again = graph.get_state(config, subgraphs=True).tasks[0].state
        assert isinstance(sub_again, StateSnapshot)
        assert sub_again.values == sub.values and sub_again.next == ("ask",)

        final = graph.invoke(Command(resume="they purr"), config)
        assert final == {
            "topic": "cats",
            "answer": "cats: they purr",
            "log": ["prepared cats", "reported cats: they purr"],
        }
        done = graph.get_state(config, subgraphs=True)
        assert done.next == () and done.tasks == () and done.values == final


# -- 5. DeltaChannel ----------------------------------------------------------------------------

# 13 steps with snapshot_frequency=3: snapshots at steps 2, 5, 8, 11; the latest (13) is two
# deltas past its snapshot, so reading it needs the replay of ancestor writes.
DELTA_LIMIT = 13


def counter_values(n: int, limit: int = DELTA_LIMIT) -> dict[str, Any]:
    return {"items": list(range(n)), "n": n, "limit": limit}


def test_delta_channel_reconstructs_after_reopen_and_matches_in_memory(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """DeltaChannel state rebuilt from stored writes is right at every step, read from the file."""
    config = thread("delta")
    with SharedMemorySaver(saver_conn) as saver:
        build_counter_graph().compile(checkpointer=saver).invoke(counter_values(0), config)

    reference = build_counter_graph().compile(checkpointer=InMemorySaver())
    reference.invoke(counter_values(0), config)

    graph = build_counter_graph().compile(checkpointer=reopen())
    assert graph.get_state(config).values == counter_values(DELTA_LIMIT)
    steps = history(graph, config)
    assert [step for step, _, _ in steps] == list(range(DELTA_LIMIT, -2, -1))
    for step, _, values in steps:
        if step >= 0:
            assert values == counter_values(step), f"step {step}"
    assert steps == history(reference, config)
    # The latest checkpoint really is a delta (no snapshot stored at it).
    latest = graph.get_state(config)
    assert latest.metadata is not None
    assert "items" in latest.metadata.get("counters_since_delta_snapshot", {})


def test_delta_channel_parallel_writes_replay_in_live_order(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """Many tasks writing one DeltaChannel in a superstep rebuild in the order the run applied."""
    config = thread("fanout")
    with SharedMemorySaver(saver_conn) as saver:
        live = build_fanout_graph().compile(checkpointer=saver).invoke({"items": []}, config)
    reference = build_fanout_graph().compile(checkpointer=InMemorySaver())
    assert reference.invoke({"items": []}, config) == live
    assert live["items"] == ["a", "z"] + [
        f"r{r}w{i}" for r in range(1, FANOUT_ROUNDS + 1) for i in range(FANOUT_WIDTH)
    ]

    graph = build_fanout_graph().compile(checkpointer=reopen())
    assert graph.get_state(config).values == live
    assert history(graph, config) == history(reference, config)


async def test_delta_channel_async_api_after_reopen(saver_conn: str | Path) -> None:
    """aget_state / aget_state_history rebuild DeltaChannel state like the sync API."""
    config = thread("delta-async")
    async with SharedMemorySaver(saver_conn) as saver:
        await build_counter_graph().compile(checkpointer=saver).ainvoke(counter_values(0), config)
    async with SharedMemorySaver(saver_conn) as saver:
        graph = build_counter_graph().compile(checkpointer=saver)
        assert (await graph.aget_state(config)).values == counter_values(DELTA_LIMIT)
        async for snap in graph.aget_state_history(config):
            assert snap.metadata is not None
            if snap.metadata["step"] >= 0:
                assert snap.values == counter_values(snap.metadata["step"])


def test_prune_keep_latest_preserves_delta_state_and_the_graph_continues(
    saver: SharedMemorySaver, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """After prune(keep_latest) the latest DeltaChannel state is unchanged and runs continue."""
    config = thread("delta-prune")
    graph = build_counter_graph().compile(checkpointer=saver)
    graph.invoke(counter_values(0), config)
    before = graph.get_state(config).values
    assert before == counter_values(DELTA_LIMIT)
    count_before = checkpoint_count(saver, config)

    saver.prune(["delta-prune"], strategy="keep_latest")

    # Old checkpoints are gone: at most the latest and its ancestors back to the last snapshot.
    assert checkpoint_count(saver, config) <= DELTA_SNAPSHOT_FREQUENCY < count_before
    assert graph.get_state(config).values == before
    fresh = build_counter_graph().compile(checkpointer=reopen())
    assert fresh.get_state(config).values == before

    # Continuing after the prune extends the same list, exactly as without pruning.
    reference = build_counter_graph().compile(checkpointer=InMemorySaver())
    reference.invoke(counter_values(0), config)
    expected = reference.invoke({"limit": 20}, config)
    assert graph.invoke({"limit": 20}, config) == expected == counter_values(20, limit=20)
    assert fresh.get_state(config).values == expected


def test_prune_keep_latest_before_the_first_delta_snapshot(saver: SharedMemorySaver) -> None:
    """A thread too short to have a DeltaChannel snapshot yet keeps its state through prune."""
    config = thread("delta-short")
    graph = build_counter_graph().compile(checkpointer=saver)
    graph.invoke(counter_values(0, limit=1), config)
    latest = graph.get_state(config)
    assert latest.values == counter_values(1, limit=1)
    assert latest.metadata is not None and "counters_since_delta_snapshot" in latest.metadata

    saver.prune(["delta-short"], strategy="keep_latest")

    assert graph.get_state(config).values == counter_values(1, limit=1)
    assert graph.invoke({"limit": 5}, config) == counter_values(5, limit=5)


def test_prune_keep_latest_drops_history_with_an_unwritten_delta_channel(
    saver: SharedMemorySaver,
) -> None:
    """prune(keep_latest) frees old checkpoints even with a DeltaChannel the graph never writes."""
    config = thread("delta-spare")
    graph = build_counter_graph(with_spare_channel=True).compile(checkpointer=saver)
    graph.invoke(counter_values(0), config)
    before = graph.get_state(config).values
    count_before = checkpoint_count(saver, config)

    saver.prune(["delta-spare"], strategy="keep_latest")

    assert graph.get_state(config).values == before
    kept = checkpoint_count(saver, config)
    assert kept <= DELTA_SNAPSHOT_FREQUENCY, (
        f"prune(keep_latest) kept {kept} of {count_before} checkpoints; the unwritten 'spare' "
        "channel has no seed to keep history for"
    )


# -- 6. add_messages and list-segment storage ----------------------------------------------------


def test_messages_round_trip_exactly_after_reopen(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """Turns of Human/AI(tool_calls)/Tool/AI messages read back identical at every checkpoint."""
    config = thread("chat")
    turns = range(8)
    with SharedMemorySaver(saver_conn) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        for i in turns:
            graph.invoke({"messages": [human(i)]}, config)

    reference = build_chat_graph().compile(checkpointer=InMemorySaver())
    for i in turns:
        reference.invoke({"messages": [human(i)]}, config)

    graph = build_chat_graph().compile(checkpointer=reopen())
    messages = graph.get_state(config).values["messages"]
    expected = conversation(*turns)
    assert messages == expected
    assert [type(m) for m in messages] == [type(m) for m in expected]
    call = messages[5]
    assert isinstance(call, AIMessage)
    assert call.tool_calls == [
        {
            "name": "lookup",
            "args": {"query": "question 1", "limit": 3},
            "id": "h1-call",
            "type": "tool_call",
        }
    ]
    result = messages[6]
    assert isinstance(result, ToolMessage)
    assert (result.tool_call_id, result.name, result.id) == ("h1-call", "lookup", "h1-call-result")

    # Every checkpoint holds a prefix of the conversation, equal to the in-memory reference.
    for _, _, values in history(graph, config):
        stored = values.get("messages", [])
        assert stored == expected[: len(stored)]
    assert history(graph, config) == history(reference, config)


def _edit_and_remove(graph: Pregel, config: RunnableConfig) -> list[RunnableConfig]:
    """Four turns, then edits and removals in the middle; returns the configs of key checkpoints."""
    for i in range(4):
        graph.invoke({"messages": [human(i)]}, config)
    marks = [graph.get_state(config).config]
    graph.update_state(
        config, {"messages": [AIMessage(content="answer to question 1: CORRECTED", id="h1-final")]}
    )
    marks.append(graph.get_state(config).config)
    # Forget turn 2 entirely.
    graph.update_state(
        config, {"messages": [RemoveMessage(id=m.id) for m in expected_turn(2) if m.id]}
    )
    marks.append(graph.get_state(config).config)
    graph.invoke({"messages": [human(4)]}, config)
    # A message rewritten in place many times (streaming-style): long chains of list segments.
    for k in range(40):
        graph.update_state(config, {"messages": [AIMessage(content=f"draft {k}", id="h0-final")]})
    graph.invoke({"messages": [human(5)]}, config)
    marks.append(graph.get_state(config).config)
    return marks


def test_edited_and_removed_messages_keep_earlier_checkpoints(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """Edits (same id) and RemoveMessage show in later checkpoints; earlier ones keep old values."""
    config = thread("edits")
    with SharedMemorySaver(saver_conn) as saver:
        marks = _edit_and_remove(build_chat_graph().compile(checkpointer=saver), config)

    graph = build_chat_graph().compile(checkpointer=reopen())

    def messages_at(mark: RunnableConfig) -> list[AnyMessage]:
        return graph.get_state(mark).values["messages"]

    turn1_edited = [
        *expected_turn(1)[:3],
        AIMessage(content="answer to question 1: CORRECTED", id="h1-final"),
    ]
    assert messages_at(marks[0]) == conversation(0, 1, 2, 3)
    assert messages_at(marks[1]) == [*expected_turn(0), *turn1_edited, *conversation(2, 3)]
    assert messages_at(marks[2]) == [*expected_turn(0), *turn1_edited, *expected_turn(3)]
    turn0_redrafted = [*expected_turn(0)[:3], AIMessage(content="draft 39", id="h0-final")]
    assert messages_at(marks[3]) == [*turn0_redrafted, *turn1_edited, *conversation(3, 4, 5)]
    assert graph.get_state(config).values["messages"] == messages_at(marks[3])

    # Each of the 40 in-place edits is its own checkpoint with its own version of the message.
    drafts = [
        m.content
        for _, source, values in history(graph, config)
        if source == "update"
        for m in values["messages"]
        if m.id == "h0-final" and str(m.content).startswith("draft")
    ]
    assert drafts == [f"draft {k}" for k in reversed(range(40))]

    # And the whole history equals LangGraph's in-memory checkpointer running the same steps.
    reference = build_chat_graph().compile(checkpointer=InMemorySaver())
    _edit_and_remove(reference, config)
    assert history(graph, config) == history(reference, config)


MIXED_VALUES: list[Any] = [
    None,
    b"raw bytes",
    1.5,
    -7,
    True,
    "text",
    {"k": [1, 2], 3: "int key"},
    [None, [None]],
    {1, 2},
    frozenset({3}),
    datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    datetime.date(2020, 1, 1),
    datetime.timedelta(seconds=3),
    decimal.Decimal("1.10"),
    uuid.UUID(int=5),
]


class MixedState(TypedDict):
    items: Annotated[list[Any], operator.add]
    latest_copy: list[Any]


def _add_mixed(state: MixedState) -> MixedState:
    value = MIXED_VALUES[len(state["items"]) % len(MIXED_VALUES)]
    return {"items": [value], "latest_copy": [*state["items"], value]}


def _build_mixed_graph() -> StateGraph:
    builder = StateGraph(MixedState)
    builder.add_node("add", _add_mixed)
    builder.add_edge(START, "add")
    builder.add_conditional_edges(
        "add", lambda s: "add" if len(s["items"]) < 2 * len(MIXED_VALUES) else END
    )
    return builder


def test_list_channels_of_plain_python_values_match_in_memory(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """Lists of None, bytes, sets, dates, decimals... read back like InMemorySaver, every step."""
    config = thread("mixed")
    with SharedMemorySaver(saver_conn) as saver:
        _build_mixed_graph().compile(checkpointer=saver).invoke(
            {"items": [], "latest_copy": []}, config
        )
    reference = _build_mixed_graph().compile(checkpointer=InMemorySaver())
    reference.invoke({"items": [], "latest_copy": []}, config)

    graph = _build_mixed_graph().compile(checkpointer=reopen())
    assert graph.get_state(config).values["items"] == MIXED_VALUES * 2
    # repr() also tells a set from a frozenset, a date from a datetime, and so on.
    assert list(map(repr, history(graph, config))) == list(map(repr, history(reference, config)))


# -- 7. durability modes ------------------------------------------------------------------------


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_durability_modes_store_the_final_state(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver], durability: Durability
) -> None:
    """Every durability mode leaves the right final state on disk, and LangGraph's count."""
    config = thread(f"durable-{durability}")
    with SharedMemorySaver(saver_conn) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        for i in range(3):
            graph.invoke({"messages": [human(i)]}, config, durability=durability)

    memory = InMemorySaver()
    reference = build_chat_graph().compile(checkpointer=memory)
    for i in range(3):
        reference.invoke({"messages": [human(i)]}, config, durability=durability)

    saver = reopen()
    graph = build_chat_graph().compile(checkpointer=saver)
    assert graph.get_state(config).values == {"messages": conversation(0, 1, 2)}
    assert checkpoint_count(saver, config) == checkpoint_count(memory, config)
    if durability == "exit":
        assert checkpoint_count(saver, config) == 3  # one per invoke


def test_exit_durability_saves_fewer_checkpoints(saver: SharedMemorySaver) -> None:
    """durability="exit" writes only the end of each run; "sync" and "async" write every step."""
    graph = build_chat_graph().compile(checkpointer=saver)
    counts: dict[str, int] = {}
    for mode in ("sync", "async", "exit"):
        config = thread(f"count-{mode}")
        for i in range(2):
            graph.invoke({"messages": [human(i)]}, config, durability=mode)  # type: ignore[arg-type]
        assert graph.get_state(config).values == {"messages": conversation(0, 1)}
        counts[mode] = checkpoint_count(saver, config)
    assert counts["exit"] < counts["sync"] == counts["async"]


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
def test_interrupt_is_saved_in_every_durability_mode(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver], durability: Durability
) -> None:
    """A paused run is on disk when invoke returns, whatever the durability, and resumes later."""
    config = thread("durable-interrupt")
    with SharedMemorySaver(saver_conn) as saver:
        graph = build_approval_graph().compile(checkpointer=saver)
        graph.invoke({"request": "post v3", "log": []}, config, durability=durability)

    graph = build_approval_graph().compile(checkpointer=reopen())
    paused = graph.get_state(config)
    assert paused.next == ("review",)
    assert [i.value["request"] for i in paused.interrupts] == ["post v3"]
    final = graph.invoke(Command(resume="approve"), config, durability=durability)
    assert final["log"] == ["drafted post v3", "reviewed: approve", "published post v3"]
    assert graph.get_state(config).values == final


# -- 8. a thread continued by another process ---------------------------------------------------

CHILD_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from _graphs import build_chat_graph, human
    from langgraph_sharedmem import SharedMemorySaver

    conn, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    config = {"configurable": {"thread_id": "shared"}}
    with SharedMemorySaver(conn) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        seen = [m.id for m in graph.get_state(config).values.get("messages", [])]
        for i in range(first, last):
            graph.invoke({"messages": [human(i)]}, config)
        after = [m.id for m in graph.get_state(config).values["messages"]]
    print(json.dumps({"seen": seen, "after": after}))
    """
)


def run_child_process(
    saver_conn: str | Path, first_turn: int, last_turn: int
) -> dict[str, list[str]]:
    """Run turns [first_turn, last_turn) of the chat graph in a fresh Python process."""
    pythonpath = [str(TESTS_DIR), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    proc = subprocess.run(
        [sys.executable, "-c", CHILD_SCRIPT, str(saver_conn), str(first_turn), str(last_turn)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(pythonpath)},
        cwd=TESTS_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, list[str]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def message_ids(messages: list[AnyMessage]) -> list[str]:
    return [m.id or "" for m in messages]


def test_thread_continued_by_another_process(
    saver: SharedMemorySaver, saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """A second process sees and extends a thread; the first (still open) continues after it."""
    config = thread("shared")
    graph = build_chat_graph().compile(checkpointer=saver)
    for i in range(2):
        graph.invoke({"messages": [human(i)]}, config)

    child = run_child_process(saver_conn, 2, 4)
    assert child["seen"] == message_ids(conversation(0, 1))
    assert child["after"] == message_ids(conversation(0, 1, 2, 3))

    # The parent's saver stayed open all along; it must see the child's turns and build on them.
    assert graph.get_state(config).values["messages"] == conversation(0, 1, 2, 3)
    graph.invoke({"messages": [human(4)]}, config)
    assert graph.get_state(config).values["messages"] == conversation(0, 1, 2, 3, 4)

    # And a third process, and a fresh saver, read back every message of all three writers.
    assert run_child_process(saver_conn, 5, 5)["seen"] == message_ids(conversation(0, 1, 2, 3, 4))
    fresh = build_chat_graph().compile(checkpointer=reopen())
    assert fresh.get_state(config).values["messages"] == conversation(0, 1, 2, 3, 4)
    assert history(fresh, config) == history(graph, config)


# -- 9. encryption ------------------------------------------------------------------------------

SECRET = "TOP-SECRET-PLAINTEXT"


def _readable_forms(blob: bytes, depth: int = 0) -> Iterator[bytes]:
    """A stored blob and what it holds once decompressed or unpacked (zlib, msgpack bytes)."""
    yield blob
    if depth >= 3:
        return
    try:
        # Stored blobs may use the saver's preset dictionary; zlib ignores it for the others.
        inflated: bytes | None = zlib.decompressobj(zdict=DICTIONARY).decompress(blob)
    except zlib.error:
        inflated = None
    if inflated is not None:
        yield from _readable_forms(inflated, depth + 1)
    try:
        unpacked = ormsgpack.unpackb(blob)
    except Exception:  # not msgpack: nothing nested to look into
        return
    stack = [unpacked]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            yield from _readable_forms(item, depth + 1)
        elif isinstance(item, str):
            yield item.encode()
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())


def _stored_cells(saver_conn: str | Path) -> Iterator[tuple[str, bytes]]:
    """(table, cell) for every text/blob cell of every table in the database."""
    if isinstance(saver_conn, str) and saver_conn.startswith("postgresql://"):
        yield from _stored_cells_postgres(saver_conn)
        return
    conn = sqlite3.connect(saver_conn)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    if isinstance(cell, str):
                        yield table, cell.encode()
                    elif isinstance(cell, bytes):
                        yield table, cell
    finally:
        conn.close()


def _stored_cells_postgres(url: str) -> Iterator[tuple[str, bytes]]:
    import psycopg

    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for cell in row:
                    if isinstance(cell, str):
                        yield table, cell.encode()
                    elif isinstance(cell, bytes):
                        yield table, cell
                    elif cell is not None:  # jsonb, read back as Python values
                        yield table, json.dumps(cell, default=str).encode()


@pytest.mark.parametrize("inner", ["default", "strict"])
def test_encrypted_serializer_round_trips_and_hides_plaintext(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver], inner: str
) -> None:
    """With EncryptedSerializer (AES) state round-trips, and no stored cell holds the plaintext."""
    pytest.importorskip("Crypto")
    from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

    key = b"0123456789abcdef0123456789abcdef"

    def serde() -> EncryptedSerializer:
        if inner == "strict":
            return EncryptedSerializer.from_pycryptodome_aes(StrictSerializer(), key=key)
        return EncryptedSerializer.from_pycryptodome_aes(key=key)

    config = thread("secret")
    with SharedMemorySaver(saver_conn, serde=serde()) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        for i in range(3):
            graph.invoke({"messages": [human(i, SECRET)]}, config)

    expected = [m for i in range(4) for m in expected_turn(i, SECRET)]
    graph = build_chat_graph().compile(checkpointer=reopen(serde=serde()))
    assert graph.get_state(config).values["messages"] == expected[:12]
    graph.invoke({"messages": [human(3, SECRET)]}, config)
    assert graph.get_state(config).values["messages"] == expected
    for _, _, values in history(graph, config):
        stored = values.get("messages", [])
        assert stored == expected[: len(stored)]

    leaks = {
        table
        for table, cell in _stored_cells(saver_conn)
        for form in _readable_forms(cell)
        if SECRET.encode() in form
    }
    assert not leaks, f"plaintext found in table(s) {sorted(leaks)}"

    wrong_key = EncryptedSerializer.from_pycryptodome_aes(key=bytes(reversed(key)))
    intruder = build_chat_graph().compile(checkpointer=reopen(serde=wrong_key))
    with pytest.raises(DatabaseFileError, match="another serializer or key.*MAC check failed"):
        intruder.get_state(config)


# -- 10. copy_thread ----------------------------------------------------------------------------


def test_copy_thread_copies_state_and_branches_independently(
    saver: SharedMemorySaver, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """A copied thread reads like its source; continuing either one leaves the other unchanged."""
    graph = build_chat_graph().compile(checkpointer=saver)
    src, dst = thread("source"), thread("copy")
    for i in range(3):
        graph.invoke({"messages": [human(i)]}, src)
    source_history = history(graph, src)

    saver.copy_thread("source", "copy")
    copied = graph.get_state(dst)
    original = graph.get_state(src)
    assert copied.values == original.values == {"messages": conversation(0, 1, 2)}
    assert copied.next == original.next
    assert history(graph, dst) == source_history

    graph.invoke({"messages": [human(10)]}, dst)
    assert graph.get_state(dst).values == {"messages": conversation(0, 1, 2, 10)}
    assert graph.get_state(src).values == {"messages": conversation(0, 1, 2)}
    assert history(graph, src) == source_history

    graph.invoke({"messages": [human(20)]}, src)
    fresh = build_chat_graph().compile(checkpointer=reopen())
    assert fresh.get_state(src).values == {"messages": conversation(0, 1, 2, 20)}
    assert fresh.get_state(dst).values == {"messages": conversation(0, 1, 2, 10)}


def test_copy_of_a_thread_paused_in_a_subgraph_resumes_independently(
    saver: SharedMemorySaver,
) -> None:
    """copy_thread carries subgraph checkpoints: copy and source resume with their own answers."""
    graph = build_parent_graph().compile(checkpointer=saver)
    src, dst = thread("paused-source"), thread("paused-copy")
    graph.invoke({"topic": "cats", "log": []}, src)

    saver.copy_thread("paused-source", "paused-copy")
    copied = graph.get_state(dst, subgraphs=True)
    assert copied.next == ("child",)
    sub = copied.tasks[0].state
    assert isinstance(sub, StateSnapshot)
    assert sub.values == {"topic": "cats", "notes": ["researched cats"]}

    assert graph.invoke(Command(resume="purr"), dst)["answer"] == "cats: purr"
    assert graph.get_state(src).next == ("child",)
    assert graph.invoke(Command(resume="meow"), src)["answer"] == "cats: meow"
    assert graph.get_state(dst).values["answer"] == "cats: purr"


# -- the strict serializer on a real graph ------------------------------------------------------


@dataclass
class Citation:
    url: str
    score: float


class CitedState(TypedDict):
    citations: list[Citation]


def _cite(state: CitedState) -> CitedState:
    return {"citations": [*state["citations"], Citation("https://example.org", 0.5)]}


def _build_cited_graph() -> StateGraph:
    return linear_graph(CitedState, ("cite", _cite))


def test_custom_state_types_round_trip_by_default_and_opt_out_is_strict(
    saver_conn: str | Path, reopen: Callable[..., SharedMemorySaver]
) -> None:
    """The app's own type in state resumes with no configuration; app_types=False refuses it
    until it is allowlisted."""
    config = thread("cited")
    with SharedMemorySaver(saver_conn) as saver:
        graph = _build_cited_graph().compile(checkpointer=saver)
        graph.invoke({"citations": []}, config)
        graph.invoke({"citations": [Citation("https://a.example", 1.0)]}, config)

    expected = {
        "citations": [Citation("https://a.example", 1.0), Citation("https://example.org", 0.5)]
    }
    assert _build_cited_graph().compile(checkpointer=reopen()).get_state(config).values == (
        expected
    )
    strict = _build_cited_graph().compile(
        checkpointer=reopen(serde=StrictSerializer(app_types=False))
    )
    with pytest.raises(UnsafeDeserializationError, match="Citation"):
        strict.get_state(config)
    allowed = _build_cited_graph().compile(
        checkpointer=reopen(serde=StrictSerializer([Citation], app_types=False))
    )
    assert allowed.get_state(config).values == expected
