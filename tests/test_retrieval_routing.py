"""Routing quality on the labelled set (issue 14), through the real `Registry` on a real
SQLite file with the default offline WordLlama embedder.

The set (bench/data/routing_*.json) is written by bench/make_retrieval_sets.py; weights are
chosen on its tune half by bench/bench_retrieval.py, and numbers are asserted on the held
half. What a user relies on: a shared word does not steal a task from the agent it means,
the score a route reports is the one it was ordered by, a stale agent is never chosen, and
the default weights are the ones the data picked.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import bench_retrieval as bench
from bench import make_retrieval_sets
from langgraph_sharedmem import InvalidConfigError, Registry, SharedMemory, _ranking
from langgraph_sharedmem.registry import _rank

AGENTS = bench.load("routing_agents.json")
TUNE = bench.load("routing_tune.json")
HELD = bench.load("routing_held.json")
STALE = {a["name"] for a in AGENTS if a.get("stale")}
LIVE = {a["name"] for a in AGENTS if not a.get("stale")}
# Measured 0.844 on the held half (docs/benchmarks.md, "Routing"); the goal of 0.97
# is not reached with the offline embedder, so this is a floor against regressions, not the
# goal.
HELD_FLOOR = 0.84


@pytest.fixture(scope="module")
def reg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    with bench.routing_registry(tmp_path_factory.mktemp("routing")) as registry:
        yield registry


def test_generator_writes_the_checked_in_sets(tmp_path: Path) -> None:
    make_retrieval_sets.write(tmp_path)
    for name in ("routing_agents.json", "routing_tune.json", "routing_held.json"):
        assert (tmp_path / name).read_bytes() == (bench.DATA / name).read_bytes(), name
    tasks = TUNE + HELD
    assert len(tasks) >= 150 and len(LIVE) >= 8 and STALE
    assert {t["label"] for t in tasks} == LIVE  # every label a live specialist
    # Split by intent: no phrasing of a held-out intent was seen while tuning.
    assert not {t["intent"] for t in TUNE} & {t["intent"] for t in HELD}
    for half in (TUNE, HELD):
        assert {t["kind"] for t in half} == {"direct", "paraphrase", "trap"}
        assert {t["stale_decoy"] for t in half} - {None} == STALE


def test_a_shared_verb_does_not_steal_the_task(reg: Registry) -> None:
    # The issue's case: "return" names logistics' capability "returns", but the task is a
    # broken laptop. Before: logistics 0.48 (capability 1.0, cosine 0.12) won.
    routes = {r.name: r for r in reg.route("return my laptop, the screen is cracked", k=11)}
    best = reg.route("return my laptop, the screen is cracked", k=1)[0]
    assert best.name == "tech_support"
    assert routes["logistics"].capability_score == 1.0
    assert routes["logistics"].score < best.score
    # The same word still counts where the meaning agrees with it.
    assert reg.route("I need a return label to send back the laptop.", k=1)[0].name == "logistics"
    assert (
        reg.route("My laptop won't return from sleep and the screen is cracked.", k=1)[0].name
        == "tech_support"
    )


def test_what_a_task_declines_does_not_route_it(reg: Registry) -> None:
    # "voucher" names loyalty's capability, but the task turns it down for money back.
    task = "I don't want a voucher, I want the money back for the broken kettle."
    routes = {r.name: r for r in reg.route(task, k=11)}
    assert reg.route(task, k=1)[0].name == "refunds"
    assert routes["loyalty"].capability_score == 1.0
    # Said plainly, the same word routes to the agent it names.
    assert reg.route("Can I pay for my order with a gift voucher?", k=1)[0].name == "loyalty"


def test_the_score_returned_is_the_score_ordered_by(reg: Registry) -> None:
    for task in TUNE + HELD:
        for include_stale in (False, True):
            routes = reg.route(task["task"], k=20, include_stale=include_stale)
            assert len(routes) == len(LIVE) + (len(STALE) if include_stale else 0)
            scores = [r.score for r in routes]
            assert scores == sorted(scores, reverse=True), task
            _, _, parts, _ = reg._route_parts(task["task"], set(), include_stale)
            for r in routes:
                mine = [parts[p][r.name] for p in parts]
                assert r.score == _rank.score(_rank.DEFAULT_WEIGHTS, *mine)
                assert (r.semantic_score, r.capability_score) == (mine[0], mine[3])


def test_a_stale_agent_is_never_chosen(reg: Registry) -> None:
    chose_decoy = 0
    cosine_everyone = bench._cosine_router(reg, everyone=True)
    for task in TUNE + HELD:
        routes = reg.route(task["task"], k=20)
        assert not {r.name for r in routes} & STALE
        if task["stale_decoy"]:
            chose_decoy += cosine_everyone(task["task"]) == task["stale_decoy"]
    # The decoys are real traps: a router that forgets staleness falls for them often.
    assert chose_decoy >= 30


def test_ties_go_to_the_track_record_and_never_to_a_stale_agent(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "ties.db") as mem:
        reg = mem.registry
        profile = {"description": "Invoices, charges and refunds.", "capabilities": ["billing"]}
        reg.register("desk_a", trust=0.9, **profile)  # type: ignore[arg-type]
        reg.register("desk_b", trust=0.2, **profile)  # type: ignore[arg-type]
        task = "please refund the charge on my invoice"
        one, two = reg.route(task, k=2)
        assert (one.name, one.score) == ("desk_a", two.score)  # a tie: trust settles it
        for i in range(3):
            mem.facts.assert_fact("app", f"order:{i}", "refund", "issued", author="desk_b")
        one, two = reg.route(task, k=2)
        assert (one.name, one.score) == ("desk_b", two.score)  # the record beats trust
        # A stale agent loses a tie whatever its record.
        reg.update("desk_b", heartbeat_timeout=0.001)
        time.sleep(0.01)
        assert [r.name for r in reg.route(task, k=2)] == ["desk_a"]
        one, two = reg.route(task, k=2, include_stale=True)
        assert (one.name, two.name, one.score) == ("desk_a", "desk_b", two.score)
        reg.update("desk_b", heartbeat_timeout=math.inf)


def test_held_half_accuracy_and_default_weights_are_the_tuned_ones(reg: Registry) -> None:
    negated, weights, info = bench.tune_negation(reg, TUNE)
    assert weights == dataclasses.replace(_rank.DEFAULT_WEIGHTS, outcome=0.0), (weights, info)
    assert negated == _ranking.NEGATED_WEIGHT, (negated, info)
    features = bench.routing_features(reg, TUNE)
    # The outcome part, cross-fitted on the tune half: best on repeats without losing
    # accuracy on new kinds of task (intents not in the history).
    picked, fit = bench.tune_outcomes(features, TUNE, bench.task_vectors(reg, TUNE))
    assert picked == (
        _rank.DEFAULT_WEIGHTS.outcome,
        _ranking.NEIGHBORS,
        _ranking.OUTCOME_FLOOR,
    ), (picked, fit)
    assert fit["new_kinds"] >= fit["no_history"] and fit["repeats"] >= 0.97, fit
    hits = sum(reg.route(t["task"], k=1)[0].name == t["label"] for t in HELD)
    cosine = bench._cosine_router(reg, everyone=False)
    plain = sum(cosine(t["task"]) == t["label"] for t in HELD)
    accuracy = hits / len(HELD)
    assert accuracy >= HELD_FLOOR, accuracy
    assert hits > plain, (hits, plain)
    # The vectorised scoring the tuning uses agrees with Registry.route on every held task.
    fit, _ = bench.routing_fit(bench.routing_features(reg, HELD), _rank.DEFAULT_WEIGHTS)
    assert fit == pytest.approx(accuracy)
    assert json.loads(json.dumps(info["grid"]))  # the grid is plain data, documented as is


def test_held_half_with_a_history_of_outcomes(tmp_path: Path) -> None:
    # The tune half as the history (no held intent in it): new kinds of task.
    with bench.routing_registry(tmp_path / "new") as reg:
        history = bench.record_history(reg, TUNE)
        assert sum(not ok for _, _, ok in history) >= 1  # failures are part of it
        picks = [reg.route(t["task"], k=1)[0].name for t in HELD]
        assert not set(picks) & STALE
        assert not {r.name for t in HELD for r in reg.route(t["task"], k=20)} & STALE
    new = sum(p == t["label"] for p, t in zip(picks, HELD, strict=True)) / len(HELD)
    # Measured 0.856, above the 0.844 with no history (docs/benchmarks.md): a history of
    # other kinds of task does not cost accuracy on a new kind.
    assert new >= HELD_FLOOR, new
    # The other half of each held intent as the history: repeats.
    repeats = bench.held_repeats(tmp_path / "repeats", HELD)
    assert not set(repeats) & STALE
    hits = sum(p == t["label"] for p, t in zip(repeats, HELD, strict=True)) / len(HELD)
    assert hits >= 0.97, hits


_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e308, 5e-324, 0.0, -0.0]),
    st.integers(-3, 3),
    st.booleans(),
    st.just("1"),
)
_WEIGHTS = st.one_of(
    st.none(),
    st.dictionaries(
        st.sampled_from(["semantic", "alignment", "hubness", "capability", "trust", "luck"]),
        _NUMBERS,
        max_size=4,
    ),
    st.lists(_NUMBERS, min_size=0, max_size=4),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    task=st.one_of(st.text(max_size=300), st.sampled_from([t["task"] for t in HELD])),
    weights=_WEIGHTS,
    k=st.integers(1, 12),
    include_stale=st.booleans(),
)
def test_any_task_and_weights_route_in_score_order_or_are_refused(
    reg: Registry, task: str, weights: object, k: int, include_stale: bool
) -> None:
    """Whatever the caller passes: a clear InvalidConfigError naming the argument, or routes
    in the order of their scores, with no stale agent unless asked for."""
    try:
        routes = reg.route(task, k=k, weights=weights, include_stale=include_stale)
    except InvalidConfigError as exc:
        assert any(word in str(exc) for word in ("task", "weights")), exc
        return
    pool = LIVE | (STALE if include_stale else set())
    assert len(routes) == min(k, len(pool))
    assert {r.name for r in routes} <= pool
    scores = [r.score for r in routes]
    assert scores == sorted(scores, reverse=True)
    assert all(math.isfinite(s) for s in scores)
    assert [a.name for a in reg.stale()] == sorted(STALE)  # routing wrote nothing


def test_weights_mean_ratios_whatever_their_size(reg: Registry) -> None:
    task = HELD[0]["task"]
    base = dataclasses.asdict(_rank.DEFAULT_WEIGHTS)
    expected = [(r.name, r.score) for r in reg.route(task, k=11)]
    for factor in (1e-300, 1e-3, 7.0, 1e300, 5e307):  # the last: their sum overflows
        scaled = {name: w * factor for name, w in base.items()}
        assert [(r.name, r.score) for r in reg.route(task, k=11, weights=scaled)] == expected
