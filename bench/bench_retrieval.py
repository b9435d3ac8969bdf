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
the agent's text), (c) the weights `route` used before issue 14 (0.5 cosine, 0.35 capability,
0.15 trust), over today's parts (the description's cosine since this round).

Store: the real `SharedMemoryStore` with the default index; nDCG@10, recall@10 against exact
cosine on paraphrase queries and exact-token rank 1 of the default ranking
(`langgraph_sharedmem._ranking`) against (a) plain WordLlama cosine and (b) FTS5 keyword only
(see ``run_store``); ``--tune`` re-picks the ranking weights on ``store_tune.json``.
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
from langchain_core.embeddings import Embeddings

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from langgraph_sharedmem import SharedMemory, WordLlamaEmbeddings, _ranking  # noqa: E402
from langgraph_sharedmem.registry import Registry, _rank  # noqa: E402
from langgraph_sharedmem.registry._model import describe  # noqa: E402

DATA = ROOT / "bench" / "data"


@dataclass
class Report:
    """One part's result: ``metric`` (accuracy@1 unless named) of each system on one half,
    by kind of case, and notes."""

    part: str
    split: str
    n: int
    accuracy: dict[str, float]
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    metric: str = "accuracy@1"

    def lines(self) -> list[str]:
        out = [f"== {self.part} ({self.split} half, {self.n} cases): {self.metric}"]
        kinds = sorted({k for by in self.by_kind.values() for k in by})
        width = {k: max(12, len(k) + 2) for k in kinds}
        out.append(f"  {'system':<62}{'all':>7}" + "".join(f"{k:>{width[k]}}" for k in kinds))
        for system, acc in self.accuracy.items():
            by = self.by_kind.get(system, {})
            cells = "".join(f"{by[k]:>{width[k]}.3f}" if k in by else " " * width[k] for k in kinds)
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


def routing_features(
    reg: Registry,
    tasks: list[dict[str, Any]],
    negated_weight: float = _ranking.NEGATED_WEIGHT,
) -> RoutingFeatures:
    rows = []
    names: list[str] = []
    for task in tasks:
        candidates, _, parts, _ = reg._route_parts(
            task["task"], set(), False, negated_weight=negated_weight
        )
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
        [
            weights.semantic,
            weights.alignment,
            -weights.hubness,
            weights.capability,
            weights.trust,
            weights.outcome,
        ]
    )
    return np.round(features.parts @ w / _rank.scale(weights), _rank.DIGITS)


def routing_picks(features: RoutingFeatures, weights: _rank.RouteWeights) -> np.ndarray:
    """The candidate `Registry.route` puts first for each task: best score, ties to higher
    trust then name (the set has no track records)."""
    scores = routing_scores(features, weights)
    trust = features.parts[0, :, 4]
    # Rank of each candidate under (-trust, name): ties in score go to the better rank.
    rank = np.empty(len(trust))
    rank[sorted(range(len(trust)), key=lambda i: (-trust[i], features.names[i]))] = np.arange(
        len(trust)
    )
    best = scores.max(axis=1, keepdims=True)
    return np.array(
        [
            min(np.flatnonzero(row == b), key=lambda i: rank[i])
            for row, b in zip(scores, best[:, 0], strict=True)
        ]
    )


def routing_fit(features: RoutingFeatures, weights: _rank.RouteWeights) -> tuple[float, float]:
    """(accuracy@1, mean margin) of `Registry.route`'s order (`routing_picks`). The margin
    is the right agent's score minus the best wrong one's, clipped to +-MARGIN_CAP so a few
    easy tasks cannot outvote the close ones."""
    scores = routing_scores(features, weights)
    rows = np.arange(len(scores))
    right = scores[rows, features.labels]
    wrong = scores.copy()
    wrong[rows, features.labels] = -np.inf
    correct = routing_picks(features, weights) == features.labels
    margin = np.clip(right - wrong.max(axis=1), -MARGIN_CAP, MARGIN_CAP)
    return float(correct.mean()), float(margin.mean())


def tune_routing(features: RoutingFeatures) -> tuple[_rank.RouteWeights, dict[str, Any]]:
    """The grid point with the best accuracy@1 on ``features`` (the tune half, no history:
    ``outcome`` 0); ties go to the larger mean clipped margin, then to the smaller weights
    (fewer, weaker parts)."""
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


# How much a word of a negated clause counts in the alignment (`_ranking.NEGATED_WEIGHT`):
# 1 is no discount, 0 drops the word.
NEGATED_GRID: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)


def tune_negation(
    reg: Registry, tasks: list[dict[str, Any]]
) -> tuple[float, _rank.RouteWeights, dict[str, Any]]:
    """(negated weight, weights) together: for each value of `NEGATED_GRID`, `tune_routing`
    on the features it gives; the best accuracy@1 wins, ties to the larger mean clipped
    margin, then to the value nearer 1 (the smaller change to the words' votes)."""
    best: tuple[Any, ...] | None = None
    for value in NEGATED_GRID:
        weights, info = tune_routing(routing_features(reg, tasks, value))
        key = (info["tune_accuracy"], round(info["tune_margin"], 6), value)
        if best is None or key > best[0]:
            best = (key, value, weights, info)
    assert best is not None
    _, value, weights, info = best
    return value, weights, info | {"negated_grid": NEGATED_GRID}


# -- routing that learns from outcomes -------------------------------------------------------
#
# The history is made of tasks whose label is known, as a deployment would record it: each
# task's right agent handled it well (``ok``), and when route (with no history) first sent it
# elsewhere, that agent's failure is recorded too. Two protocols, each a cross-fit on the
# tune half (one fold is the history, the other is scored, and back):
#
# * new kinds of task - folds by intent (each label's intents alternate between them): no
#   scored task's intent is in the history, so this measures generalisation;
# * repeats - folds within each intent (its tasks alternate): the history holds other
#   phrasings of the same requests, as a deployment sees the same kinds of task come back.
#
# The outcome weight, the number of neighbours and the similarity floor are the grid point
# with the best accuracy on repeats among those that do not lower the accuracy on new kinds
# of task below the accuracy with no history: learn from what comes back, never at the cost
# of what is new. On the held half: the whole tune half as the history (no held intent in
# it), and, for repeats, the held half cross-fitted the same way with the weights fixed.

OUTCOME_GRID: dict[str, tuple[float, ...]] = {
    "outcome": (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0),
    "neighbors": (1, 2, 3, 5, 8, 12),
    "floor": (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
}
UNTUNED_NEIGHBORS = 5  # the middle of the grid, when the weight is 0 (nothing to tell)


def task_vectors(reg: Registry, tasks: list[dict[str, Any]]) -> np.ndarray:
    """Unit vectors of the tasks, from the registry's embedder (as `record_outcome` does)."""
    from langgraph_sharedmem.store.embedding import embed_texts, normalize

    assert reg.store is not None and reg.store._spec is not None
    spec = reg.store._spec
    return normalize(embed_texts(spec.embeddings, [t["task"] for t in tasks], spec.dims))


def history_of(tasks: list[dict[str, Any]], first_picks: list[str]) -> list[tuple[int, str, bool]]:
    """(task index, agent, ok) outcomes for ``tasks``: the label handled it well; an agent
    route first picked instead (``first_picks``) failed it."""
    out = []
    for i, (task, pick) in enumerate(zip(tasks, first_picks, strict=True)):
        if pick != task["label"]:
            out.append((i, pick, False))
        out.append((i, task["label"], True))
    return out


def folds(tasks: list[dict[str, Any]]) -> np.ndarray:
    """New kinds of task: 0 or 1 per task, each label's intents alternating between them."""
    intents: dict[str, list[int]] = {}
    for t in tasks:
        seen = intents.setdefault(t["label"], [])
        if t["intent"] not in seen:
            seen.append(t["intent"])
    return np.array([intents[t["label"]].index(t["intent"]) % 2 for t in tasks])


def repeat_folds(tasks: list[dict[str, Any]]) -> np.ndarray:
    """Repeats: 0 or 1 per task, each intent's tasks alternating between them."""
    seen: dict[int, int] = {}
    out = []
    for t in tasks:
        out.append(seen.get(t["intent"], 0) % 2)
        seen[t["intent"]] = seen.get(t["intent"], 0) + 1
    return np.array(out)


def outcome_column(
    names: list[str],
    queries: np.ndarray,
    past: np.ndarray,
    history: list[tuple[int, str, bool]],
    neighbors: int,
    floor: float,
) -> np.ndarray:
    """task x candidate `_ranking.outcome_evidence`, as `Registry.route` computes it, of the
    ``history`` (indexes into the rows of ``past``) for each row of ``queries``."""
    if not history:
        return np.zeros((len(queries), len(names)))
    matrix = past[[i for i, _, _ in history]]
    owner = np.array([names.index(a) for _, a, _ in history])
    ok = np.array([k for _, _, k in history], dtype=bool)
    sims = (queries @ matrix.T).astype(np.float64)
    return np.stack(
        [_ranking.outcome_evidence(row, owner, ok, len(names), neighbors, floor) for row in sims]
    )


def crossfit_columns(
    features: RoutingFeatures,
    tasks: list[dict[str, Any]],
    vectors: np.ndarray,
    fold: np.ndarray,
    neighbors: int,
    floor: float,
) -> np.ndarray:
    """The outcome column of every task, its history being the other fold's tasks."""
    no_history = dataclasses.replace(_rank.DEFAULT_WEIGHTS, outcome=0.0)
    picks = [features.names[j] for j in routing_picks(features, no_history)]
    out = np.zeros((len(tasks), len(features.names)))
    for f in (0, 1):
        scored = np.flatnonzero(fold == f)
        past = [i for i in range(len(tasks)) if fold[i] != f]
        history = [
            (past[i], a, ok)
            for i, a, ok in history_of([tasks[j] for j in past], [picks[j] for j in past])
        ]
        out[scored] = outcome_column(
            features.names, vectors[scored], vectors, history, neighbors, floor
        )
    return out


def tune_outcomes(
    features: RoutingFeatures, tasks: list[dict[str, Any]], vectors: np.ndarray
) -> tuple[tuple[float, int, float], dict[str, Any]]:
    """(outcome weight, neighbours, floor), the other weights at their defaults: the best
    cross-fitted accuracy@1 on repeats among the grid points whose accuracy on new kinds of
    task is at least that with no history; ties go to the better accuracy on new kinds,
    then to the larger mean clipped margin on repeats, then to the smaller weight, fewer
    neighbours and the higher floor. With a weight of 0 the neighbours and the floor change
    nothing: they are then `UNTUNED_NEIGHBORS` and 0."""
    no_history = dataclasses.replace(_rank.DEFAULT_WEIGHTS, outcome=0.0)
    baseline, _ = routing_fit(features, no_history)
    protocols = {"new": folds(tasks), "repeat": repeat_folds(tasks)}
    best: tuple[Any, ...] | None = None
    for neighbors, floor in itertools.product(OUTCOME_GRID["neighbors"], OUTCOME_GRID["floor"]):
        with_column = {}
        for name, fold in protocols.items():
            column = crossfit_columns(features, tasks, vectors, fold, int(neighbors), floor)
            with_column[name] = RoutingFeatures(
                features.names, features.parts.copy(), features.labels
            )
            with_column[name].parts[:, :, 5] = column
        for weight in OUTCOME_GRID["outcome"]:
            weights = dataclasses.replace(_rank.DEFAULT_WEIGHTS, outcome=weight)
            new, _ = routing_fit(with_column["new"], weights)
            if new < baseline:
                continue
            repeat, margin = routing_fit(with_column["repeat"], weights)
            key = (repeat, new, round(margin, 6), -weight, -neighbors, floor)
            if best is None or key > best[0]:
                best = (key, (weight, int(neighbors), floor))
    assert best is not None
    (repeat, new, _, _, _, _), picked = best
    if picked[0] == 0:
        picked = (0.0, UNTUNED_NEIGHBORS, 0.0)
    return picked, {"no_history": baseline, "new_kinds": new, "repeats": repeat}


def record_history(reg: Registry, tasks: list[dict[str, Any]]) -> list[tuple[int, str, bool]]:
    """Record `history_of` ``tasks`` in ``reg`` (route's first picks made before any)."""
    history = history_of(tasks, [reg.route(t["task"], k=1)[0].name for t in tasks])
    for i, agent, ok in history:
        reg.record_outcome(agent, tasks[i]["task"], ok=ok)
    return history


def held_repeats(directory: Path, held: list[dict[str, Any]]) -> list[str]:
    """Route's first pick for each held task, the history being the other `repeat_folds`
    half of the held tasks (recorded in a fresh registry per fold; weights fixed)."""
    fold = repeat_folds(held)
    out = [""] * len(held)
    for f in (0, 1):
        with routing_registry(directory / str(f)) as reg:
            past = [t for t, g in zip(held, fold, strict=True) if g != f]
            record_history(reg, past)
            for i in np.flatnonzero(fold == f):
                out[i] = reg.route(held[i]["task"], k=1)[0].name
    return out


def _cosine_router(
    reg: Registry, everyone: bool, embeddings: Embeddings | None = None
) -> Callable[[str], str]:
    """Baseline (a): the nearest agent text by plain cosine (WordLlama's unless
    ``embeddings`` is given)."""
    emb = embeddings or WordLlamaEmbeddings()
    agents = reg.agents(include_stale=everyone)
    texts = [
        describe(dataclasses.asdict(a) | {"capabilities": list(a.capabilities)}) for a in agents
    ]
    matrix = _unit_rows(np.array(emb.embed_documents(texts)))
    return lambda task: (
        agents[int(np.argmax(matrix @ _unit_rows(np.array([emb.embed_query(task)]))[0]))].name
    )


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def run_routing(*, tune: bool = False) -> list[Report]:
    """Routing on the held half (and, with ``tune``, the tuning on the tune half)."""
    agents = load("routing_agents.json")
    stale = {a["name"] for a in agents if a.get("stale")}
    held = load("routing_held.json")
    reports = []
    with tempfile.TemporaryDirectory() as tmp:
        with routing_registry(Path(tmp) / "semantic") as reg:
            systems: dict[str, Callable[[str], str]] = {
                "default route(), no history": lambda t: reg.route(t, k=1)[0].name,
                "(c) previous default (0.5 cos, 0.35 capability, 0.15 trust)": lambda t: (
                    reg.route(t, k=1, weights=(0.5, 0.35, 0.15))[0].name
                ),
                "(a) plain cosine, available agents": _cosine_router(reg, everyone=False),
                "(a') plain cosine, stale agents too": _cosine_router(reg, everyone=True),
            }
            picks = {s: [fn(t["task"]) for t in held] for s, fn in systems.items()}
            notes: dict[str, Any] = {}
            tune_set = load("routing_tune.json")
            if tune:
                negated, weights, info = tune_negation(reg, tune_set)
                features = routing_features(reg, tune_set, negated)
                picked, fit = tune_outcomes(features, tune_set, task_vectors(reg, tune_set))
                weights = dataclasses.replace(weights, outcome=picked[0])
                notes["tuned weights"] = dataclasses.asdict(weights) | {
                    "neighbors": picked[1],
                    "floor": picked[2],
                    "negated_weight": negated,
                }
                notes["tune half accuracy@1, no history"] = round(info["tune_accuracy"], 3)
                notes["tune half cross-fitted accuracy@1, new kinds / repeats"] = (
                    round(fit["new_kinds"], 3),
                    round(fit["repeats"], 3),
                )
                notes["default weights equal tuned"] = (
                    weights == _rank.DEFAULT_WEIGHTS
                    and picked[1:] == (_ranking.NEIGHBORS, _ranking.OUTCOME_FLOOR)
                    and negated == _ranking.NEGATED_WEIGHT
                )
            history = record_history(reg, tune_set)
            notes["history"] = (
                f"{len(history)} outcomes of the {len(tune_set)} tune tasks "
                f"({sum(not ok for _, _, ok in history)} failures); no held intent among them"
            )
            picks = {
                "default route(), history: tune half (new kinds of task)": [
                    reg.route(t["task"], k=1)[0].name for t in held
                ]
            } | picks
        picks["default route(), history: held intents' other half (repeats)"] = held_repeats(
            Path(tmp) / "repeats", held
        )
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


# -- store search ----------------------------------------------------------------------------
#
# Store: the real `SharedMemoryStore` on a real SQLite file with the default offline
# WordLlama embedder (Chroma off: 2.2k items are far below ``ann_threshold``, so the exact scan
# answers either way), every memory in one namespace. Baselines: (a) plain WordLlama cosine
# (NumPy over the same normalized vectors; also the "exact cosine" of recall@10), (b) keyword
# only: FTS5 bm25 over the query's tokens OR-ed, the same tokenizer as the store's ``mem_fts``.

STORE_NS = ("mem",)
K = 10
# The grid searched on the tune half; `_ranking.DEFAULT_WEIGHTS` must be its pick.
STORE_GRID: dict[str, tuple[float, ...]] = {
    "code": (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0),
    "word": (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4),
    "word_share": (0.002, 0.005, 0.01, 0.02),
}
PARAPHRASE_RECALL_FLOOR = 0.95


@dataclass
class StoreFeatures:
    """What the ranking core sees for each query, computed outside the store: the cosine
    with every memory, and for each query token its document frequency and holders."""

    keys: list[str]
    cosine: np.ndarray  # queries x memories
    df: list[dict[str, int]]
    holders: list[dict[str, list[int]]]


def _fts(texts: list[str]) -> Any:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE f USING fts5 (text, tokenize = 'unicode61 remove_diacritics 0')"
    )
    conn.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", enumerate(texts))
    return conn


def store_features(queries: list[dict[str, Any]]) -> StoreFeatures:
    from langgraph_sharedmem import _ranking
    from langgraph_sharedmem.store.embedding import normalize

    memories = load("store_memories.json")
    emb = WordLlamaEmbeddings()
    matrix = normalize(emb.embed_array([m["text"] for m in memories]))
    qv = normalize(np.stack([emb.embed_one(q["query"]) for q in queries]))
    conn = _fts([m["text"] for m in memories])
    df, holders = [], []
    for q in queries:
        d, h = {}, {}
        for token in _ranking.tokens(q["query"]):
            rows = [
                r for (r,) in conn.execute("SELECT rowid FROM f WHERE f MATCH ?", (f'"{token}"',))
            ]
            if rows:
                d[token], h[token] = len(rows), rows
        df.append(d)
        holders.append(h)
    conn.close()
    return StoreFeatures([m["key"] for m in memories], qv @ matrix.T, df, holders)


def simulate_store(features: StoreFeatures, weights: Any, i: int) -> list[int]:
    """The top-K memory indexes for query ``i`` as the store ranks them with ``weights``."""
    return [j for j, _ in simulate_scores(features, weights, i)[:K]]


def simulate_scores(features: StoreFeatures, weights: Any, i: int) -> list[tuple[int, float]]:
    """(memory index, score) for query ``i``, best first, as the store ranks them."""
    from langgraph_sharedmem import _ranking

    cos = features.cosine[i]
    n = len(cos)
    top = np.argsort(-cos, kind="stable")[:K]
    matches = {
        t: rows
        for t, rows in features.holders[i].items()
        if features.df[i][t] <= _ranking.rare_limit(t, n, weights)
    }
    counts = {t: features.df[i][t] for t in matches}
    bonus = _ranking.bonuses(matches, counts, n, weights) if matches else {}
    return _ranking.rank(
        [(int(j), float(cos[j])) for j in top], bonus, {j: float(cos[j]) for j in bonus}
    )


def _ndcg(rank: int | None) -> float:
    return 0.0 if rank is None or rank >= K else 1.0 / math.log2(rank + 2)


def store_metrics(
    queries: list[dict[str, Any]], picks: list[list[str]], exact: list[list[str]]
) -> dict[str, float]:
    """nDCG@10 (one relevant memory), hit@10, recall@10 against exact cosine on paraphrase
    queries (beside distractors or not), and the share of exact-token queries at rank 1."""
    ranks = [
        p.index(q["key"]) if q["key"] in p else None for q, p in zip(queries, picks, strict=True)
    ]
    para = [i for i, q in enumerate(queries) if q["kind"] in ("paraphrase", "distractor")]
    codes = [i for i, q in enumerate(queries) if q["kind"] == "exact"]
    return {
        "ndcg@10": round(float(np.mean([_ndcg(r) for r in ranks])), 3),
        "hit@10": round(float(np.mean([r is not None for r in ranks])), 3),
        "recall@10 vs cosine (paraphrase)": round(
            float(np.mean([len(set(picks[i]) & set(exact[i])) / K for i in para] or [0])), 3
        ),
        "exact-token rank 1": round(float(np.mean([ranks[i] == 0 for i in codes] or [0])), 3),
    }


def store_fit(
    features: StoreFeatures, queries: list[dict[str, Any]], weights: Any
) -> dict[str, float]:
    """`store_metrics` of the store's ranking with ``weights``, plus the mean margin on
    exact-token queries: the right memory's score minus the best wrong one's, clipped to
    +-MARGIN_CAP so that a few easy queries cannot outvote the close ones."""
    keys = features.keys
    ranked = [simulate_scores(features, weights, i) for i in range(len(queries))]
    picks = [[keys[j] for j, _ in r[:K]] for r in ranked]
    margins = []
    for q, r in zip(queries, ranked, strict=True):
        if q["kind"] == "exact":
            right = next((sc for j, sc in r if keys[j] == q["key"]), -1.0)
            wrong = max((sc for j, sc in r if keys[j] != q["key"]), default=-1.0)
            margins.append(max(-MARGIN_CAP, min(MARGIN_CAP, right - wrong)))
    exact = [
        [keys[j] for j in np.argsort(-features.cosine[i], kind="stable")[:K]]
        for i in range(len(queries))
    ]
    return store_metrics(queries, picks, exact) | {
        "exact margin": round(float(np.mean(margins or [0])), 4)
    }


def tune_store(
    features: StoreFeatures, queries: list[dict[str, Any]]
) -> tuple[Any, dict[str, Any]]:
    """The grid point with the best nDCG@10 on ``queries`` (the tune half) among those that
    keep recall@10 against exact cosine on paraphrase queries >= the floor; ties go to the
    larger mean clipped margin on exact-token queries, then to the smaller weights."""
    from langgraph_sharedmem import _ranking

    best: tuple[Any, ...] | None = None
    for values in itertools.product(*STORE_GRID.values()):
        weights = _ranking.Weights(**dict(zip(STORE_GRID, values, strict=True)))
        fit = store_fit(features, queries, weights)
        if fit["recall@10 vs cosine (paraphrase)"] < PARAPHRASE_RECALL_FLOOR:
            continue
        key = (fit["ndcg@10"], fit["exact margin"], tuple(-v for v in values))
        if best is None or key > best[0]:
            best = (key, weights, fit)
    assert best is not None
    return best[1], best[2]


@contextlib.contextmanager
def store_with_memories(path: Path) -> Iterator[Any]:
    """The real store on a fresh SQLite file with the default index, holding the set."""
    from langgraph_sharedmem import SharedMemoryStore

    with SharedMemoryStore(path, index={"dims": 256, "fields": ["text"]}, chroma=None) as store:
        memories = load("store_memories.json")
        for start in range(0, len(memories), 500):
            store.batch([_put(m["key"], m["text"]) for m in memories[start : start + 500]])
        yield store


def _put(key: str, text: str) -> Any:
    from langgraph.store.base import PutOp

    return PutOp(STORE_NS, key, {"text": text})


def keyword_only(queries: list[dict[str, Any]]) -> list[list[str]]:
    """Baseline (b): FTS5 bm25 over every query token, OR-ed."""
    from langgraph_sharedmem import _ranking

    memories = load("store_memories.json")
    conn = _fts([m["text"] for m in memories])
    out = []
    for q in queries:
        match = " OR ".join(f'"{t}"' for t in _ranking.tokens(q["query"]))
        rows = (
            conn.execute(
                "SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f), rowid LIMIT ?", (match, K)
            ).fetchall()
            if match
            else []
        )
        out.append([memories[r]["key"] for (r,) in rows])
    conn.close()
    return out


def run_store(*, tune: bool = False) -> list[Report]:
    """Store search on the held half (and, with ``tune``, the tuning on the tune half)."""
    from langgraph_sharedmem import _ranking

    held = load("store_held.json")
    features = store_features(held)
    keys = features.keys
    exact = [
        [keys[j] for j in np.argsort(-features.cosine[i], kind="stable")[:K]]
        for i in range(len(held))
    ]
    notes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, store_with_memories(Path(tmp) / "store.db") as store:
        t = time.perf_counter()
        results = [store.search(STORE_NS, query=q["query"], limit=K) for q in held]
        notes["default search ms per query"] = round(
            (time.perf_counter() - t) * 1000 / len(held), 2
        )
    picks = {
        "default store.search": [[r.key for r in res] for res in results],
        "(a) plain WordLlama cosine": exact,
        "(b) keyword only (FTS5 bm25)": keyword_only(held),
    }
    notes["queries whose order disagrees with their scores (default)"] = sum(
        [r.score for r in res] != sorted((r.score for r in res), reverse=True) for res in results
    )
    metrics = {s: store_metrics(held, p, exact) for s, p in picks.items()}
    kinds = sorted({q["kind"] for q in held})
    by_kind = {
        s: {
            kind: store_metrics(
                [q for q in held if q["kind"] == kind],
                [x for x, q in zip(p, held, strict=True) if q["kind"] == kind],
                [x for x, q in zip(exact, held, strict=True) if q["kind"] == kind],
            )["ndcg@10"]
            for kind in kinds
        }
        for s, p in picks.items()
    }
    for s, m in metrics.items():
        notes[s] = m
    notes["weights"] = dataclasses.asdict(_ranking.DEFAULT_WEIGHTS)
    if tune:
        tune_set = load("store_tune.json")
        weights, fit = tune_store(store_features(tune_set), tune_set)
        notes["tuned weights"] = dataclasses.asdict(weights)
        notes["tune half fit"] = fit
        notes["default weights equal tuned"] = weights == _ranking.DEFAULT_WEIGHTS
    accuracy = {s: m["ndcg@10"] for s, m in metrics.items()}
    return [Report("store", "held", len(held), accuracy, by_kind, notes, metric="nDCG@10")]


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
                tune_set = _slices.load("tune")
                cases = _slices.candidates(log, tune_set)
                weights, info = _slices.tune(cases)
                notes["tuned weights"] = dataclasses.asdict(weights)
                notes["tune half kept"] = round(info["tune_share"], 3)
                crossed = _slices.crossfit(cases, tune_set)
                notes["tune half, leave one scenario out (kept / per kind)"] = (
                    f"{crossed['share']} / {crossed['by_kind']}"
                )
                notes["default weights equal tuned"] = weights == _slices._select.DEFAULT_WEIGHTS
    return [Report("slices: needed message kept", "held", len(held), accuracy, by_kind, notes)]


# -- fact matcher ----------------------------------------------------------------------------
#
# Facts: pairs of facts ("subject / attribute: value") labelled same fact or not
# (bench/data/facts_*.json). The default is `EmbeddingMatcher.same` with the offline WordLlama
# embedder (`_ranking.same_fact`); baselines: (a) plain WordLlama cosine of the two texts at a
# threshold, (b) keyword only, the Jaccard overlap of their content words
# (`_ranking.content_words`) at a threshold. Each baseline's threshold is the one with the
# best F1 on the tune half, so the baselines are tuned as much as the default is.

FACTS_GRID: dict[str, tuple[float, ...]] = {
    "threshold": (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.92),
    "word": (0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8),
    "added": (0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, math.inf),
}
BASELINE_THRESHOLDS = tuple(round(0.3 + 0.02 * i, 2) for i in range(35))  # 0.30 .. 0.98


def facts_prf(pairs: list[dict[str, Any]], said: list[bool]) -> dict[str, float]:
    """Precision, recall and F1 of "same fact" over ``pairs``."""
    tp = sum(s and p["same"] for s, p in zip(said, pairs, strict=True))
    fp = sum(s and not p["same"] for s, p in zip(said, pairs, strict=True))
    fn = sum(not s and p["same"] for s, p in zip(said, pairs, strict=True))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def _jaccard(a: str, b: str) -> float:
    from langgraph_sharedmem import _ranking

    wa, wb = set(_ranking.content_words(a)), set(_ranking.content_words(b))
    return len(wa & wb) / len(wa | wb) if wa | wb else 1.0


def facts_baselines(pairs: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per baseline, its score of each pair (cosine; content-word Jaccard)."""
    from langgraph_sharedmem.store.embedding import normalize

    emb = WordLlamaEmbeddings()
    a = normalize(emb.embed_array([p["a"] for p in pairs]))
    b = normalize(emb.embed_array([p["b"] for p in pairs]))
    return {
        "cosine": [float(x) for x in np.einsum("ij,ij->i", a, b)],
        "keyword": [_jaccard(p["a"], p["b"]) for p in pairs],
    }


def tune_threshold(pairs: list[dict[str, Any]], scores: list[float]) -> float:
    """The threshold with the best F1 on ``pairs`` (ties: the higher, the stricter)."""
    return max(
        BASELINE_THRESHOLDS,
        key=lambda t: (facts_prf(pairs, [x >= t for x in scores])["f1"], t),
    )


def matcher_says(matcher: Any, pairs: list[dict[str, Any]], weights: Any) -> list[bool]:
    saved = matcher.weights
    matcher.weights = weights
    try:
        return [matcher.same(p["a"], p["b"]) for p in pairs]
    finally:
        matcher.weights = saved


def tune_facts(matcher: Any, pairs: list[dict[str, Any]]) -> tuple[Any, dict[str, Any]]:
    """The grid point with the best F1 on ``pairs`` (the tune half); ties go to the stricter
    weights (a wrong merge hides a disagreement, a missed one only leaves a duplicate)."""
    from langgraph_sharedmem import _ranking

    best: tuple[Any, ...] | None = None
    for values in itertools.product(*FACTS_GRID.values()):
        weights = _ranking.MatchWeights(**dict(zip(FACTS_GRID, values, strict=True)))
        fit = facts_prf(pairs, matcher_says(matcher, pairs, weights))
        key = (fit["f1"], fit["precision"], values)
        if best is None or key > best[0]:
            best = (key, weights, fit)
    assert best is not None
    return best[1], best[2]


def run_facts(*, tune: bool = False) -> list[Report]:
    """The fact matcher on the held half: F1 of "same fact" (precision and recall in the
    notes), by kind the share of pairs judged right."""
    from langgraph_sharedmem import EmbeddingMatcher, _ranking

    tune_set, held = load("facts_tune.json"), load("facts_held.json")
    matcher = EmbeddingMatcher()
    on_tune, on_held = facts_baselines(tune_set), facts_baselines(held)
    said = {"default EmbeddingMatcher.same": [matcher.same(p["a"], p["b"]) for p in held]}
    notes: dict[str, Any] = {"weights": dataclasses.asdict(_ranking.DEFAULT_MATCH_WEIGHTS)}
    names = {"cosine": "(a) plain WordLlama cosine", "keyword": "(b) keyword only (Jaccard)"}
    for base, label in names.items():
        t = tune_threshold(tune_set, on_tune[base])
        said[f"{label} >= {t} (tuned)"] = [x >= t for x in on_held[base]]
    accuracy, by_kind = {}, {}
    for system, verdicts in said.items():
        prf = facts_prf(held, verdicts)
        accuracy[system] = prf["f1"]
        notes[system] = prf
        by_kind[system] = {
            kind: round(
                float(
                    np.mean(
                        [
                            v == p["same"]
                            for v, p in zip(verdicts, held, strict=True)
                            if p["kind"] == kind
                        ]
                    )
                ),  # fmt: skip
                3,
            )
            for kind in sorted({p["kind"] for p in held})
        }
    if tune:
        weights, fit = tune_facts(matcher, tune_set)
        notes["tuned weights"] = dataclasses.asdict(weights)
        notes["tune half fit"] = fit
        notes["default weights equal tuned"] = weights == _ranking.DEFAULT_MATCH_WEIGHTS
    return [Report("facts: same fact", "held", len(held), accuracy, by_kind, notes, metric="F1")]


PARTS: dict[str, Callable[..., list[Report]]] = {
    "routing": run_routing,
    "store": run_store,
    "slices": run_slices,
    "facts": run_facts,
}


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
