"""Graphs with their own types in state resume with no configuration (issue 13.1).

LangGraph hands a checkpointer a graph's declared types only when ``LANGGRAPH_STRICT_MSGPACK``
is set; without it a strict saver refused ``_graphs.Action`` on the second step. Every test
here runs a real `StateGraph` over `_graphs.TypedState` (a dataclass, a Pydantic model, an
Enum and a NamedTuple, directly and inside Optional / Union / list / dict) without the
environment variable and without ``allowlist=``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _graphs import (
    DEV_GRAPH_FILE,
    Action,
    Plan,
    Point,
    Priority,
    Ticket,
    build_typed_graph,
    build_typed_parent_graph,
    dev_loaded_worker,
    expected_typed_state,
    typed_resume_worker,
)
from _spawn import run_together
from langchain_core.runnables import RunnableConfig
from langgraph.graph import START, StateGraph
from langgraph.types import Command, StateSnapshot
from pydantic import BaseModel, create_model

from langgraph_sharedmem import SharedMemorySaver


def thread(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


@pytest.fixture(autouse=True)
def _no_strict_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # The default path: LangGraph never calls with_allowlist.
    monkeypatch.delenv("LANGGRAPH_STRICT_MSGPACK", raising=False)
    from langgraph._internal import _serde

    assert not _serde.STRICT_MSGPACK_ENABLED


def assert_typed(values: dict[str, Any]) -> None:
    """The values are the declared types themselves, not their payload dicts."""
    assert isinstance(values["action"], Action)
    assert isinstance(values["priority"], Priority)
    assert type(values["where"]) is Point
    assert values["ticket"] is None or isinstance(values["ticket"], Ticket)
    assert isinstance(values["either"], (Action, Point))
    assert all(isinstance(p, Plan) and isinstance(p.owner, Ticket) for p in values["plans"])
    assert all(isinstance(t.priority, Priority) for t in values["by_name"].values())


def test_declared_types_resume_on_the_same_saver_and_after_reopening(db_path: Path) -> None:
    config = thread("typed")
    with SharedMemorySaver(db_path) as saver:
        graph = build_typed_graph().compile(checkpointer=saver)
        graph.invoke({"log": []}, config)
        graph.invoke({"log": []}, config)  # loads the first step's types
        assert graph.get_state(config).values == expected_typed_state(2)
    with SharedMemorySaver(db_path) as saver:
        graph = build_typed_graph().compile(checkpointer=saver)
        assert graph.invoke({"log": []}, config) == expected_typed_state(3)
        assert_typed(graph.get_state(config).values)


async def test_declared_types_resume_async(db_path: Path) -> None:
    config = thread("typed-async")
    async with SharedMemorySaver(db_path) as saver:
        graph = build_typed_graph().compile(checkpointer=saver)
        for _ in range(3):
            await graph.ainvoke({"log": []}, config)
        state = await graph.aget_state(config)
        assert state.values == expected_typed_state(3)
        assert_typed(state.values)
        assert len([s async for s in graph.aget_state_history(config)]) == 3 * 3


def test_interrupt_with_typed_payload_resumes(db_path: Path) -> None:
    config = thread("typed-review")
    with SharedMemorySaver(db_path) as saver:
        graph = build_typed_graph(review=True).compile(checkpointer=saver)
        graph.invoke({"log": []}, config)
        paused = graph.get_state(config)
        assert paused.next == ("review",)
        (pending,) = paused.interrupts
        assert pending.value == {"ticket": None, "where": Point(0, 0)}
        graph.invoke(Command(resume="ok"), config)
        graph.invoke({"log": []}, config)
    with SharedMemorySaver(db_path) as saver:
        graph = build_typed_graph(review=True).compile(checkpointer=saver)
        (pending,) = graph.get_state(config).interrupts
        assert pending.value["ticket"] == Ticket(number=1, priority=Priority.HIGH, tags=["t1"])
        final = graph.invoke(Command(resume="fine"), config)
    assert final == expected_typed_state(2, reviews=["ok", "fine"])
    assert_typed(final)


def test_time_travel_to_an_old_typed_checkpoint(saver: SharedMemorySaver) -> None:
    config = thread("typed-travel")
    graph = build_typed_graph().compile(checkpointer=saver)
    for _ in range(3):
        graph.invoke({"log": []}, config)
    history = list(graph.get_state_history(config))
    after_one = next(s for s in history if s.values == expected_typed_state(1) and not s.next)
    assert_typed(after_one.values)
    # Replaying from the old checkpoint forks: the new head is one step after it.
    graph.invoke({"log": []}, after_one.config)
    head = graph.get_state(config)
    assert head.values == expected_typed_state(2)
    assert head.parent_config is not None
    forked = graph.update_state(after_one.config, {"where": Point(7, 7)})
    assert graph.get_state(forked).values["where"] == Point(7, 7)


def test_typed_subgraph_interrupt_and_resume(db_path: Path) -> None:
    config = thread("typed-sub")
    with SharedMemorySaver(db_path) as saver:
        graph = build_typed_parent_graph().compile(checkpointer=saver)
        graph.invoke({"log": []}, config)
    with SharedMemorySaver(db_path) as saver:
        graph = build_typed_parent_graph().compile(checkpointer=saver)
        paused = graph.get_state(config, subgraphs=True)
        assert paused.next == ("child",)
        sub = paused.tasks[0].state
        assert isinstance(sub, StateSnapshot)
        assert sub.values == expected_typed_state(1)
        assert_typed(sub.values)
        final = graph.invoke(Command(resume="sub-ok"), config)
    assert final == expected_typed_state(1, reviews=["sub-ok"])


def test_a_new_process_resumes_the_typed_thread(db_path: Path) -> None:
    """A fresh interpreter that imports the types module (as the app does) resumes."""
    config = thread("typed")
    with SharedMemorySaver(db_path) as saver:
        graph = build_typed_graph().compile(checkpointer=saver)
        graph.invoke({"log": []}, config)
        graph.invoke({"log": []}, config)
    assert "LANGGRAPH_STRICT_MSGPACK" not in os.environ
    ((status, before, after),) = run_together(typed_resume_worker, [(str(db_path),)])
    assert status == "ok", before
    assert before == expected_typed_state(2)
    assert after == expected_typed_state(3)
    assert_typed(after)


def test_a_graph_file_loaded_like_langgraph_dev_resumes(db_path: Path, tmp_path: Path) -> None:
    """`langgraph dev` imports a graph file by path under a made-up module name and lends the
    saver through the config; the file's own types resume (in a fresh process)."""
    graph_file = tmp_path / "project" / "agent.py"
    graph_file.parent.mkdir()
    graph_file.write_text(DEV_GRAPH_FILE)
    ((status, outcome),) = run_together(dev_loaded_worker, [(str(graph_file), str(db_path))])
    assert status == "ok", outcome
    module, n, mood = outcome
    assert module.endswith("project__agent") and n == 1 and mood == "calm"


MAIN_SCRIPT = """
import sys
from dataclasses import dataclass
from typing import TypedDict

from langgraph.graph import END, START, StateGraph

from langgraph_sharedmem import SharedMemorySaver


@dataclass
class Action:
    kind: str
    n: int


class State(TypedDict, total=False):
    action: Action


def act(state: State) -> State:
    previous = state.get("action")
    return {"action": Action("move", previous.n + 1 if previous else 0)}


builder = StateGraph(State)
builder.add_node("act", act)
builder.add_edge(START, "act")
builder.add_edge("act", END)
with SharedMemorySaver(sys.argv[1]) as saver:
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "main"}}
    for _ in range(3):
        graph.invoke({}, config)
    print(graph.get_state(config).values["action"])
"""


def test_types_defined_in_a_script_resume(db_path: Path, tmp_path: Path) -> None:
    """The issue's own case: a script's ``__main__.Action`` on the second invoke."""
    script = tmp_path / "agent_script.py"
    script.write_text(MAIN_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "LANGGRAPH_STRICT_MSGPACK"}
    proc = subprocess.run(
        [sys.executable, str(script), str(db_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Action(kind='move', n=2)"


def test_a_pydantic_field_of_a_class_defined_in_a_function_resumes(tmp_path: Path) -> None:
    # Such a class cannot be looked up by name; the process that wrote it may still resume
    # it (as LangGraph does: its fields come back and the Pydantic state validates them).
    class Inner(BaseModel):
        x: int

    # Real (not postponed) annotations: this module's `from __future__ import annotations`
    # would leave "Inner" a string no one can resolve outside this function.
    LocalState = create_model("LocalState", inner=(Inner, ...), steps=(int, 0))

    def step(state: Any) -> dict[str, Any]:
        return {"inner": Inner(x=state.inner.x + 1), "steps": state.steps + 1}

    builder = StateGraph(LocalState).add_node("step", step).add_edge(START, "step")
    with SharedMemorySaver(tmp_path / "m.db") as saver:
        graph = builder.compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "t"}}
        graph.invoke({"inner": Inner(x=1)}, config)
        out = graph.invoke({"inner": Inner(x=10)}, config)  # loads the first run's state
        assert out["inner"].x == 11 and out["steps"] == 2
