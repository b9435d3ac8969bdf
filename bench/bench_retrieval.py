"""Retrieval quality on the labelled sets in bench/data/: the project's default against
plain baselines, accuracy@1 on the held-out half.

    python bench/bench_retrieval.py                 # every part, held half
    python bench/bench_retrieval.py --part routing  # one part
    python bench/bench_retrieval.py --tune          # also re-run the tuning on the tune half
    python bench/bench_retrieval.py --json OUT

One function per part (`PARTS`), each returning a `Report`; `main` prints them all in one
format. The sets are written by ``bench/make_retrieval_sets.py`` (seeded) and split once:
weights are chosen on ``*_tune.json`` only, numbers are reported on ``*_held.json``.

Routing: the real `Registry` on a real SQLite file with the default offline WordLlama
embedder. Baselines: (a) plain WordLlama cosine between the task and each available agent's
indexed text (name, description, capabilities; (a') the same over every profile, stale ones
too), (b) the registry's own keyword-only mode (index off: the share of the task's words in
the agent's text), (c) the score `route` used before issue 14.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import itertools
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from langgraph_sharedmem import SharedMemory, WordLlamaEmbeddings  # noqa: E402
from langgraph_sharedmem.registry import Registry, _rank  # noqa: E402
from langgraph_sharedmem.registry._model import describe  # noqa: E402

DATA = ROOT / "bench" / "data"


@dataclass
class Report:
    """One part's result: accuracy@1 of each system on one half, and notes."""

    part: str
    split: str
    n: int
    accuracy: dict[str, float]
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"== {self.part} ({self.split} half, {self.n} cases): accuracy@1"]
        kinds = sorted({k for by in self.by_kind.values() for k in by})
        out.append(f"  {'system':<62}{'all':>7}" + "".join(f"{k:>12}" for k in kinds))
        for system, acc in self.accuracy.items():
            by = self.by_kind.get(system, {})
            cells = "".join(f"{by[k]:>12.3f}" if k in by else f"{'':>12}" for k in kinds)
            out.append(f"  {system:<62}{acc:>7.3f}{cells}")
        out.extend(f"  {k}: {v}" for k, v in self.notes.items())
        return out


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


# -- routing ---------------------------------------------------------------------------------


@contextlib.contextmanager
def routing_registry(directory: Path, *, index: Any = "default") -> Iterator[Registry]:
    """A `Registry` on a fresh SQLite file in ``directory`` holding the routing set's agents;
    the decoys marked ``stale`` have gone stale (their heartbeat timed out)."""
    directory.mkdir(parents=True, exist_ok=True)
    with SharedMemory.open(directory / "routing.db", index=index) as mem:
        reg = mem.registry
        for agent in load("routing_agents.json"):
            reg.register(
                agent["name"],
                description=agent["description"],
                capabilities=agent["capabilities"],
                trust=agent["trust"],
                heartbeat_timeout=0.001 if agent.get("stale") else math.inf,
            )
        time.sleep(0.01)
        assert {a.name for a in reg.stale()} == {
            a["name"] for a in load("routing_agents.json") if a.get("stale")
        }
        yield reg


@dataclass
class RoutingFeatures:
    """The parts of the score of every candidate for each task, as `Registry.route`
    computes them (``parts``: task x candidate x part, in `_rank.score`'s order)."""

    names: list[str]
    parts: np.ndarray
    labels: np.ndarray


def routing_features(reg: Registry, tasks: list[dict[str, Any]]) -> RoutingFeatures:
    rows = []
    names: list[str] = []
    for task in tasks:
        candidates, _, parts, _ = reg._route_parts(task["task"], set(), False)
        if not names:
            names = [c.name for c in candidates]
        assert [c.name for c in candidates] == names
        rows.append([[parts[p][n] for p in parts] for n in names])
    labels = np.array([names.index(t["label"]) for t in tasks])
    return RoutingFeatures(names, np.array(rows, dtype=np.float64), labels)


# The grid searched on the tune half. Semantic stays 1 (only ratios matter to the order);
# each tuned value lies inside its range. Trust stays 0: the set's trust values are invented,
# so a weight fitted to them would learn which invented agents the labels favour, not how
# trust predicts fit; trust breaks ties instead (`_rank.order`).
GRID: dict[str, tuple[float, ...]] = {
    "alignment": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0),
    "hubness": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0),
    "capability": (0.0, 0.02, 0.05, 0.1, 0.2, 0.35),
    "trust": (0.0,),
}
MARGIN_CAP = 0.05


def routing_scores(features: RoutingFeatures, weights: _rank.RouteWeights) -> np.ndarray:
    """task x candidate scores, as `_rank.score` makes them."""
    w = np.array(
        [weights.semantic, weights.alignment, -weights.hubness, weights.capability, weights.trust]
    )
    return np.round(features.parts @ w / _rank.scale(weights), _rank.DIGITS)


def routing_fit(features: RoutingFeatures, weights: _rank.RouteWeights) -> tuple[float, float]:
    """(accuracy@1, mean margin) of `Registry.route`'s order: best score, ties to higher
    trust then name (the set has no track records). The margin is the right agent's score
    minus the best wrong one's, clipped to +-MARGIN_CAP so a few easy tasks cannot outvote
    the close ones."""
    scores = routing_scores(features, weights)
    trust = features.parts[0, :, 4]
    # Rank of each candidate under (-trust, name): ties in score go to the better rank.
    rank = np.empty(len(trust))
    rank[sorted(range(len(trust)), key=lambda i: (-trust[i], features.names[i]))] = np.arange(
        len(trust)
    )
    rows = np.arange(len(scores))
    right = scores[rows, features.labels]
    wrong = scores.copy()
    wrong[rows, features.labels] = -np.inf
    best_wrong = wrong.max(axis=1)
    beaten = best_wrong == right
    for i in np.flatnonzero(beaten):  # a tie: did the right one win it?
        tied = np.flatnonzero(scores[i] == right[i])
        beaten[i] = tied[np.argmin(rank[tied])] != features.labels[i]
    correct = (right > best_wrong) | ((right == best_wrong) & ~beaten)
    margin = np.clip(right - best_wrong, -MARGIN_CAP, MARGIN_CAP)
    return float(correct.mean()), float(margin.mean())


def tune_routing(features: RoutingFeatures) -> tuple[_rank.RouteWeights, dict[str, Any]]:
    """The grid point with the best accuracy@1 on ``features`` (the tune half); ties go to
    the larger mean clipped margin, then to the smaller weights (fewer, weaker parts)."""
    best: tuple[Any, ...] | None = None
    for values in itertools.product(*GRID.values()):
        weights = _rank.RouteWeights(semantic=1.0, **dict(zip(GRID, values, strict=True)))
        accuracy, margin = routing_fit(features, weights)
        key = (accuracy, round(margin, 6), tuple(-v for v in values))
        if best is None or key > best[0]:
            best = (key, weights)
    assert best is not None
    (accuracy, margin, _), weights = best
    return weights, {"tune_accuracy": accuracy, "tune_margin": margin, "grid": GRID}


def _cosine_router(reg: Registry, everyone: bool) -> Callable[[str], str]:
    """Baseline (a): the nearest agent text by plain WordLlama cosine."""
    emb = WordLlamaEmbeddings()
    agents = reg.agents(include_stale=everyone)
    texts = [
        describe(dataclasses.asdict(a) | {"capabilities": list(a.capabilities)}) for a in agents
    ]
    matrix = emb.embed_array(texts)
    return lambda task: agents[int(np.argmax(matrix @ emb.embed_one(task)))].name


def run_routing(*, tune: bool = False) -> list[Report]:
    """Routing on the held half (and, with ``tune``, the tuning on the tune half)."""
    agents = load("routing_agents.json")
    stale = {a["name"] for a in agents if a.get("stale")}
    held = load("routing_held.json")
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        with routing_registry(Path(tmp) / "semantic") as reg:
            systems: dict[str, Callable[[str], str]] = {
                "default route()": lambda t: reg.route(t, k=1)[0].name,
                "(c) previous default (0.5 cos, 0.35 capability, 0.15 trust)": lambda t: (
                    reg.route(t, k=1, weights=(0.5, 0.35, 0.15))[0].name
                ),
                "(a) plain cosine, available agents": _cosine_router(reg, everyone=False),
                "(a') plain cosine, stale agents too": _cosine_router(reg, everyone=True),
            }
            picks = {s: [fn(t["task"]) for t in held] for s, fn in systems.items()}
            notes: dict[str, Any] = {}
            if tune:
                weights, info = tune_routing(routing_features(reg, load("routing_tune.json")))
                notes["tuned weights"] = dataclasses.asdict(weights)
                notes["tune half accuracy@1"] = round(info["tune_accuracy"], 3)
                notes["default weights equal tuned"] = weights == _rank.DEFAULT_WEIGHTS
        with routing_registry(Path(tmp) / "keyword", index=None) as kw:
            picks["(b) keyword only (index off)"] = [kw.route(t["task"], k=1)[0].name for t in held]
    accuracy = {}
    by_kind: dict[str, dict[str, float]] = {}
    for system, chosen in picks.items():
        hits = [c == t["label"] for c, t in zip(chosen, held, strict=True)]
        accuracy[system] = round(sum(hits) / len(held), 3)
        by_kind[system] = {
            kind: round(
                sum(h for h, t in zip(hits, held, strict=True) if t["kind"] == kind)
                / sum(t["kind"] == kind for t in held),
                3,
            )
            for kind in sorted({t["kind"] for t in held})
        }
        notes[f"stale chosen by {system}"] = sum(c in stale for c in chosen)
    reports.append(Report("routing", "held", len(held), accuracy, by_kind, notes))
    return reports


def run_slices(*, tune: bool = False) -> list[Report]:
    """Conversation slices on the held half (bench/_slices.py): share of transcripts whose
    needed message is in the agent's slice at the instruction (``all`` and per kind), and,
    in the last column, the slice at turn 10 relative to turn 1's (mean; max in notes).
    Budgeted systems get twice turn 1's tokens."""
    from bench import _slices

    held = _slices.load("held")
    notes: dict[str, Any] = {"budget": "2 x turn 1's slice (the brief and the plan)"}
    accuracy: dict[str, float] = {}
    by_kind: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        transcripts = held + (_slices.load("tune") if tune else [])
        with _slices.slices_log(Path(tmp) / "slices.db", transcripts) as log:
            for system, fn in _slices.SYSTEMS.items():
                got = _slices.evaluate(log, held, fn)
                accuracy[system] = round(sum(got.hits) / len(held), 3)
                by_kind[system] = {
                    kind: round(
                        sum(h for h, t in zip(got.hits, held, strict=True) if t["kind"] == kind)
                        / sum(t["kind"] == kind for t in held),
                        3,
                    )
                    for kind in sorted({t["kind"] for t in held})
                }
                by_kind[system]["size@10/@1"] = round(sum(got.ratios) / len(held), 2)
                notes[f"max size@10/@1, {system}"] = round(max(got.ratios), 2)
            if tune:
                weights, info = _slices.tune(_slices.candidates(log, _slices.load("tune")))
                notes["tuned weights"] = dataclasses.asdict(weights)
                notes["tune half kept"] = round(info["tune_share"], 3)
                notes["default weights equal tuned"] = weights == _slices._select.DEFAULT_WEIGHTS
    return [Report("slices: needed message kept", "held", len(held), accuracy, by_kind, notes)]


PARTS: dict[str, Callable[..., list[Report]]] = {"routing": run_routing, "slices": run_slices}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=sorted(PARTS), action="append")
    parser.add_argument("--tune", action="store_true", help="re-run the tuning on the tune half")
    parser.add_argument("--quick", action="store_true", help="same as the default (sets are small)")
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    reports = []
    for part in opts.part or PARTS:
        reports.extend(PARTS[part](tune=opts.tune))
    for report in reports:
        print("\n".join(report.lines()))
    if opts.json:
        results = {"results": [dataclasses.asdict(r) for r in reports]}
        opts.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
