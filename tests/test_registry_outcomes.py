"""Routing that learns from outcomes (`Registry.record_outcome`), on real SQLite files with
the default offline WordLlama index: outcomes change a route when their weight is on,
failures count against, stale agents are never chosen, with no history a route is exactly
what it was, and several processes can record at once."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from langgraph_sharedmem import InvalidConfigError, Registry, SharedMemory, _ranking
from langgraph_sharedmem.registry import DEFAULT_WEIGHTS
from tests import _registry_workers
from tests._spawn import run_together

TASK = "My card expired, how do I put a new one on file?"
LEARN = None  # the default weights: outcomes count (tuned, see test_retrieval_routing.py)


def _agents(reg: Registry) -> None:
    reg.register(
        "billing",
        description="Invoices, charges and payment questions.",
        capabilities=["billing", "invoices"],
        heartbeat_timeout=math.inf,
    )
    reg.register(
        "sales",
        description="Pricing, quotes, plan upgrades and new cards for the loyalty plan.",
        capabilities=["pricing", "quotes"],
        heartbeat_timeout=math.inf,
    )
    reg.register(
        "tech_support",
        description="Troubleshooting devices and repairs.",
        capabilities=["troubleshooting"],
        heartbeat_timeout=math.inf,
    )


@pytest.fixture
def mem(tmp_path: Path) -> Iterator[SharedMemory]:
    with SharedMemory.open(tmp_path / "outcomes.db") as memory:
        _agents(memory.registry)
        yield memory


def _routes(reg: Registry, task: str, **options: object) -> list[tuple[str, float]]:
    return [(r.name, r.score) for r in reg.route(task, k=3, **options)]  # type: ignore[arg-type]


def test_outcomes_move_a_task_to_the_agent_that_handled_it(mem: SharedMemory) -> None:
    reg = mem.registry
    far = "The laptop screen flickers after the last driver update."
    far_before = _routes(reg, far, weights=LEARN)
    before = reg.route(TASK, k=3, weights=LEARN)
    assert all(r.outcome_score == 0 for r in before)
    first = before[0].name
    other = next(n for n in ("billing", "sales") if n != first)
    # The first pick failed the task and the other agent handled it (and one like it) well.
    reg.record_outcome(first, TASK, ok=False)
    reg.record_outcome(other, TASK)
    reg.record_outcome(other, "Card expired, please put the new one on file.")
    after = {r.name: r for r in reg.route(TASK, k=3, weights=LEARN)}
    assert reg.route(TASK, k=1, weights=LEARN)[0].name == other
    assert after[other].outcome_score > 0 > after[first].outcome_score
    assert any("past tasks" in reason for reason in after[other].reasons)
    scores = [r.score for r in reg.route(TASK, k=3, weights=LEARN)]
    assert scores == sorted(scores, reverse=True)
    # An unrelated task is not pulled along by a far outcome: its route is what it was.
    assert _routes(reg, far, weights=LEARN) == far_before
    assert all(r.outcome_score == 0 for r in reg.route(far, k=3, weights=LEARN))


def test_with_no_history_routing_is_exactly_what_it_was(tmp_path: Path) -> None:
    tasks = [TASK, "upgrade my plan, what does it cost?", "printer jams on every page"]
    with SharedMemory.open(tmp_path / "a.db") as a, SharedMemory.open(tmp_path / "b.db") as b:
        _agents(a.registry)
        _agents(b.registry)
        # b has outcomes, but only for an agent that is gone: no vote is left to count.
        b.registry.register("temp", description="Temporary desk.", heartbeat_timeout=math.inf)
        b.registry.record_outcome("temp", TASK)
        b.registry.retire("temp")
        for task in tasks:
            for weights in (None, LEARN, (0.5, 0.35, 0.15)):
                expected = _routes(a.registry, task, weights=weights)
                assert _routes(b.registry, task, weights=weights) == expected
                # The outcome weight only adds to the score: no history, the same numbers.
                no_part = {"semantic": 1.0, "alignment": 2.0, "hubness": 1.5, "capability": 0.05}
                assert _routes(a.registry, task, weights=no_part | {"outcome": 5.0}) == _routes(
                    a.registry, task, weights=no_part | {"outcome": 0.0}
                )


def test_a_stale_agent_is_never_chosen_whatever_its_record(mem: SharedMemory) -> None:
    reg = mem.registry
    for _ in range(5):
        reg.record_outcome("sales", TASK)
    assert reg.route(TASK, k=1, weights={"outcome": 100.0})[0].name == "sales"
    reg.update("sales", heartbeat_timeout=0.001)
    time.sleep(0.01)
    routes = reg.route(TASK, k=3, weights={"outcome": 100.0})
    assert "sales" not in {r.name for r in routes}
    assert all(r.outcome_score == 0 for r in routes)  # its history votes for nobody else


def test_the_change_log_records_outcomes_without_the_task(mem: SharedMemory) -> None:
    reg = mem.registry
    first = reg.record_outcome("billing", TASK)
    second = reg.record_outcome("sales", TASK, ok=False)
    assert second > first
    with sqlite3.connect(mem.db.path) as conn:
        rows = conn.execute(
            "SELECT key, data FROM changes WHERE kind = 'agent' AND op = 'outcome' ORDER BY seq"
        ).fetchall()
    assert [(k, json.loads(d)) for k, d in rows] == [
        ("billing", {"id": first, "ok": True}),
        ("sales", {"id": second, "ok": False}),
    ]


def test_bad_outcomes_are_refused_clearly(mem: SharedMemory) -> None:
    reg = mem.registry
    with pytest.raises(InvalidConfigError, match="unknown agent"):
        reg.record_outcome("nobody", TASK)
    with pytest.raises(InvalidConfigError, match="ok must be"):
        reg.record_outcome("billing", TASK, ok=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="task"):
        reg.record_outcome("billing", "   ")
    with pytest.raises(InvalidConfigError, match="task"):
        reg.record_outcome("billing", 42)  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="weights"):
        reg.route(TASK, weights={"outcome": -1.0})


def test_async_twin_and_keyword_mode(tmp_path: Path, mem: SharedMemory) -> None:
    reg = mem.registry
    outcome_id = asyncio.run(reg.arecord_outcome("sales", TASK))
    assert outcome_id >= 1
    assert asyncio.run(reg.aroute(TASK, k=1, weights={"outcome": 100.0}))[0].name == "sales"
    # With the index off, past tasks are compared by their words.
    with SharedMemory.open(tmp_path / "keyword.db", index=None) as kw:
        _agents(kw.registry)
        kw.registry.record_outcome("tech_support", TASK)
        best = kw.registry.route(TASK, k=1, weights={"outcome": 100.0})[0]
        # One past task, the very same words: 1 of the `NEIGHBORS` votes.
        assert (best.name, best.outcome_score) == ("tech_support", 1.0 / _ranking.NEIGHBORS)


def test_outcome_weight_zero_turns_the_history_off(mem: SharedMemory) -> None:
    reg = mem.registry
    assert DEFAULT_WEIGHTS.outcome > 0
    off = {"outcome": 0.0}
    before = _routes(reg, TASK, weights=off)
    for _ in range(3):
        reg.record_outcome("tech_support", TASK)
    assert _routes(reg, TASK, weights=off) == before
    assert reg.route(TASK, k=1)[0].name == "tech_support"


def test_processes_record_outcomes_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    with SharedMemory.open(path) as memory:
        _agents(memory.registry)
    workers, rounds = 3, 4
    got = run_together(
        _registry_workers.record_outcomes, [(path, w, rounds) for w in range(workers)]
    )
    assert [err for _, err in got if err] == []
    ids = [i for found, _ in got for i in found]
    assert len(set(ids)) == workers * rounds
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM registry_outcomes").fetchone() == (len(ids),)
        logged = conn.execute(
            "SELECT count(*) FROM changes WHERE kind = 'agent' AND op = 'outcome'"
        ).fetchone()
        assert logged == (len(ids),)
        assert conn.execute(
            "SELECT count(*) FROM registry_outcomes WHERE vector IS NULL OR dims != 256"
        ).fetchone() == (0,)
    with SharedMemory.open(path) as memory:
        best = memory.registry.route(TASK, k=1, weights={"outcome": 100.0})[0]
        assert best.name == "billing" and best.outcome_score > 0
