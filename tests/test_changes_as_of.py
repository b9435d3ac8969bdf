"""Memory as of a checkpoint: a real graph writes facts and run items step by step; reading
as of an earlier checkpoint sees that step's memory, and a fork gets its own run memory."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from langgraph_sharedmem import CursorExpiredError, InvalidConfigError, Scope, SharedMemory


class State(TypedDict):
    step: int


@pytest.fixture
def mem(tmp_path: Path) -> Iterator[SharedMemory]:
    with SharedMemory.open(tmp_path / "m.db", index=None) as m:
        yield m


def build(mem: SharedMemory) -> Any:
    def work(state: State, config: RunnableConfig) -> dict[str, int]:
        run = config["configurable"]["thread_id"]
        step = state["step"] + 1
        ns = ("sharedmem", "run", run)
        mem.store.put(ns, f"note{step}", {"step": step})
        mem.store.put((*ns, "scratch"), "latest", {"step": step})
        if step == 2:
            mem.store.delete(ns, "note1")
        mem.facts.assert_fact(Scope.run(run), "task", "status", f"s{step}", author="worker")
        mem.facts.assert_fact("app", "acme", "plan", f"p{step}", author="worker")
        return {"step": step}

    builder = StateGraph(State)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    builder.add_conditional_edges("work", lambda s: "work" if s["step"] < 3 else END)
    return builder.compile(checkpointer=mem.checkpointer, store=mem.store)


def checkpoint_at_step(graph: Any, config: RunnableConfig, step: int) -> RunnableConfig:
    return next(s.config for s in graph.get_state_history(config) if s.values.get("step") == step)


def run_items(mem: SharedMemory, when: Any, run: str) -> dict[tuple[str, ...], Any]:
    return {(*i.namespace[3:], i.key): i.value for i in mem.as_of(when).items(run)}


def test_as_of_a_checkpoint_sees_the_memory_of_that_step(mem: SharedMemory) -> None:
    graph = build(mem)
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    assert graph.invoke({"step": 0}, config)["step"] == 3
    one, two = checkpoint_at_step(graph, config, 1), checkpoint_at_step(graph, config, 2)

    past = mem.as_of(one)
    fact = past.fact(Scope.run("t1"), "task", "status")
    assert fact is not None and fact.value == "s1" and fact.version == 1
    plan = past.fact("app", "acme", "plan")
    assert plan is not None and plan.value == "p1"
    assert mem.facts.get("app", "acme", "plan").value == "p3"  # today's value differs
    assert run_items(mem, one, "t1") == {
        ("note1",): {"step": 1},
        ("scratch", "latest"): {"step": 1},
    }
    assert run_items(mem, two, "t1") == {
        ("note2",): {"step": 2},  # note1 was deleted in step 2
        ("scratch", "latest"): {"step": 2},
    }
    scratch = mem.as_of(two).items("t1", collection="scratch")
    assert [(i.key, i.value) for i in scratch] == [("latest", {"step": 2})]
    assert mem.as_of(one).item("t1", "note1") is not None
    assert mem.as_of(two).item("t1", "note1") is None
    # the start of the thread (before any step): nothing yet
    first = list(graph.get_state_history(config))[-1].config
    assert mem.as_of(first).facts(Scope.run("t1")) == []
    assert mem.as_of(first).items("t1") == []


def test_fork_from_an_old_checkpoint_gets_its_own_run_memory(mem: SharedMemory) -> None:
    graph = build(mem)
    t1: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    graph.invoke({"step": 0}, t1)
    one = checkpoint_at_step(graph, t1, 1)

    t2: RunnableConfig = {"configurable": {"thread_id": "t2"}}
    copied = mem.fork_run_memory("t1", "t2", as_of=one)
    assert copied == 3  # note1, scratch/latest, and the run fact
    graph.update_state(t2, graph.get_state(one).values, as_node="work")
    before_fork_continues = time.time()
    assert mem.as_of(before_fork_continues).fact(Scope.run("t2"), "task", "status").value == "s1"
    assert run_items(mem, before_fork_continues, "t2") == run_items(mem, one, "t1")

    assert graph.invoke(None, t2)["step"] == 3  # the fork runs steps 2 and 3 on its own
    assert run_items(mem, time.time(), "t2") == {
        ("note2",): {"step": 2},
        ("note3",): {"step": 3},
        ("scratch", "latest"): {"step": 3},
    }
    # t1's memory is untouched by the fork
    assert mem.store.get(("sharedmem", "run", "t1"), "note3").value == {"step": 3}
    assert mem.facts.get(Scope.run("t1"), "task", "status").version == 3


def test_as_of_inputs_and_retention(mem: SharedMemory) -> None:
    with pytest.raises(InvalidConfigError, match="no checkpoint"):
        mem.as_of({"configurable": {"thread_id": "none", "checkpoint_id": "x"}})
    with pytest.raises(InvalidConfigError):
        mem.as_of(object())
    with pytest.raises(InvalidConfigError, match="time zone"):
        from datetime import datetime

        mem.as_of(datetime(2020, 1, 1))
    with pytest.raises(InvalidConfigError, match="different"):
        mem.fork_run_memory("a", "a", as_of=time.time())

    ns = ("sharedmem", "run", "r1")
    mem.store.put(ns, "k", {"v": 1})
    time.sleep(0.02)
    early = time.time()
    time.sleep(0.02)
    mem.store.put(ns, "k", {"v": 2})
    mem.store.put(ns, "j", {"v": 1})
    time.sleep(0.02)
    mem.changes.prune(before_seq=mem.changes.head() + 1)  # everything, but compacted
    now = time.time()
    assert run_items(mem, now, "r1") == {("k",): {"v": 2}, ("j",): {"v": 1}}
    with pytest.raises(CursorExpiredError):
        mem.as_of(early).items("r1")


def test_as_of_credits_a_fact_as_readers_saw_it(mem: SharedMemory) -> None:
    # A quarantined restatement of a verified value lends it neither its author's name nor
    # its confidence, in the past as now (I2).
    mem.facts.assert_fact(
        "app", "acct", "plan", "pro", author="mallory", confidence=1.0, status="quarantined"
    )
    mem.facts.assert_fact("app", "acct", "plan", "pro", author="crm", confidence=0.6)
    now = mem.facts.get("app", "acct", "plan")
    then = mem.as_of(time.time()).fact("app", "acct", "plan")
    assert then is not None and now is not None
    assert (then.author, then.confidence) == (now.author, now.confidence) == ("crm", 0.6)
