"""The slices part of bench/bench_retrieval.py: transcripts into a real `ConversationLog`, the
systems compared, and the tuning of `SliceWeights` on the tune half.

Every transcript of ``bench/data/slices_*.json`` is appended to a real SQLite file (the
default offline WordLlama embedder) twice: whole (``<id>``, its last message is the
instruction whose work needs message ``needed``) and cut after ten messages (``<id>@10``,
the slice at turn 10). Turn 1 is the first hand-off: the user's brief and the planner's
plan, which every system sends whole. Each budgeted system gets the budget the issue sets,
twice the tokens of turn 1's slice, and is scored on whether the needed message is in the
slice at the instruction; the size at turn 10 is reported relative to turn 1's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from langgraph_sharedmem import SharedMemory, _ranking
from langgraph_sharedmem.conversation import ConversationLog, _flows, _reads, _select
from langgraph_sharedmem.conversation._model import approximate_tokens

DATA = Path(__file__).resolve().parent / "data"
CUT = 10  # "the slice at turn 10": the history after ten messages
ROLES: dict[str, str] = {
    "writer": "Writer: drafts the emails, documents and messages the team sends.",
    "editor": "Editor: revises and shortens texts, briefs translators and checks style.",
    "designer": "Designer: visual design, layouts, colours, slides and floor plans.",
    "engineer": "Engineer: builds and operates the software, data jobs and integrations.",
    "coordinator": "Coordinator: schedules people, rooms and days, and briefs the helpers.",
    "facilities": "Facilities: desks, rooms, furniture, movers and the building.",
    "installer": "Installer: sizes and installs the electrical equipment.",
    "ops": "Operations: runs the day-to-day processes, lists, rotas and sending.",
    "producer": "Producer: plans episodes, recordings and the release calendar.",
    "recruiter": "Recruiter: sources and screens candidates for open roles.",
    "release_manager": "Release manager: ships app versions to the stores, in phases.",
    "route_lead": "Route lead: lays out courses, starts, finishes and stations on the ground.",
    "billing_engineer": "Billing engineer: prices, plans and invoices in the billing system.",
    "booker": "Booker: books flights, trains and hotels for travellers.",
    "compliance_lead": "Compliance lead: audits, evidence, policies and certifications.",
    "lighting_designer": "Lighting designer: plans the lights of rooms and exhibitions.",
    "wedding_planner": "Wedding planner: venue, schedule, guests and suppliers of the day.",
}


def load(half: str) -> list[dict[str, Any]]:
    return json.loads((DATA / f"slices_{half}.json").read_text())  # type: ignore[no-any-return]


def as_message(m: dict[str, str], i: int) -> BaseMessage:
    if m["sender"] == "user":
        return HumanMessage(m["text"], id=f"m{i}")
    return AIMessage(m["text"], name=m["sender"], id=f"m{i}")


def turn1_tokens(t: dict[str, Any]) -> int:
    """Tokens of turn 1's slice: the brief and the plan, whole."""
    return sum(approximate_tokens(as_message(m, i)) for i, m in enumerate(t["messages"][:2]))


def budget_of(t: dict[str, Any]) -> int:
    return 2 * turn1_tokens(t)


def tokens(messages: list[BaseMessage]) -> int:
    return sum(approximate_tokens(m) for m in messages)


def holds(slice_: list[BaseMessage], t: dict[str, Any]) -> bool:
    """Whether the needed message itself is in the slice (a digest quoting it does not
    count)."""
    needed = t["messages"][t["needed"]]["text"]
    return any(m.text == needed for m in slice_)


@contextlib.contextmanager
def slices_log(path: Path, transcripts: list[dict[str, Any]]) -> Iterator[ConversationLog]:
    """A real `ConversationLog` on the SQLite file ``path`` holding every transcript whole
    and cut at turn 10, its agents registered."""
    with SharedMemory.open(path, index=None) as mem:
        agents = {t["agent"] for t in transcripts}
        agents |= {m["sender"] for t in transcripts for m in t["messages"]}
        for agent in sorted(agents - {"user"}):
            mem.register_agent(agent)
        log = mem.conversation
        for t in transcripts:
            messages = [as_message(m, i) for i, m in enumerate(t["messages"])]
            senders = [m["sender"] for m in t["messages"]]
            for run, upto in ((t["id"], len(messages)), (f"{t['id']}@{CUT}", CUT)):
                for message, sender in zip(messages[:upto], senders[:upto], strict=True):
                    log.append(message, run=run, sender=sender)
        yield log


def default_slice(log: ConversationLog, t: dict[str, Any], run: str) -> list[BaseMessage]:
    """The project's default, as the templates call it: a budget, the task as ``query``,
    the agent's role; the instruction is the newest message."""
    return log.context(
        run, t["agent"], budget=budget_of(t), query=t["task"], role=ROLES[t["agent"]]
    )


def with_weights(weights: _select.SliceWeights) -> Callable[..., list[BaseMessage]]:
    """A budgeted slice scored by other weights (e.g. plain cosine to the task)."""

    def slice_(log: ConversationLog, t: dict[str, Any], run: str) -> list[BaseMessage]:
        saved = log.slice_weights
        log.slice_weights = weights
        try:
            return log.context(run, t["agent"], budget=budget_of(t), query=t["task"])
        finally:
            log.slice_weights = saved

    return slice_


PLAIN_COSINE = _select.SliceWeights(instruction=0.0, task=1.0, role=0.0, entity=0.0, per_token=0.0)


def _words(text: str) -> set[str]:
    return _ranking.keywords([text])


def keyword_slice(log: ConversationLog, t: dict[str, Any], run: str) -> list[BaseMessage]:
    """Baseline (b), keyword only: the same window and budget, older messages by the share
    of the instruction's and task's words they hold, per token."""
    budget = budget_of(t)
    view = log._view(run, t["agent"], None, None)
    window, _ = _reads.window(log.db, view, _flows.BUDGET_LAST, budget)
    older = [m for m in log.iter_messages(run, viewer=t["agent"]) if m.seq < window[0].seq]
    asked = _words(window[-1].message.text) | _words(t["task"])
    score = np.array([len(_words(m.message.text) & asked) / len(asked) for m in older])
    weights = _select.SliceWeights(per_token=_select.DEFAULT_WEIGHTS.per_token)
    left = budget - sum(m.tokens for m in window)
    picked = _select.choose(score, [m.tokens for m in older], left, weights)
    return [older[i].message for i in picked] + [m.message for m in window]


def previous_default(log: ConversationLog, t: dict[str, Any], run: str) -> list[BaseMessage]:
    """(c) What the templates sent before: the last 6, plus the 4 closest to the task."""
    return log.context(run, t["agent"], last=6, query=t["task"], k=4)


SYSTEMS: dict[str, Callable[..., list[BaseMessage]]] = {
    "default context(budget=2x turn 1, query=task, role)": default_slice,
    "(a) plain WordLlama cosine to the task, same budget": with_weights(PLAIN_COSINE),
    "(b) keyword only (instruction + task words), same budget": keyword_slice,
    "(c) previous templates' slice (last=6, query=task, k=4)": previous_default,
}


@dataclass
class Outcome:
    hits: list[bool]
    ratios: list[float]  # slice at turn 10 / turn 1's


def evaluate(
    log: ConversationLog, transcripts: list[dict[str, Any]], system: Callable[..., Any]
) -> Outcome:
    hits, ratios = [], []
    for t in transcripts:
        hits.append(holds(system(log, t, t["id"]), t))
        ratios.append(tokens(system(log, t, f"{t['id']}@{CUT}")) / turn1_tokens(t))
    return Outcome(hits, ratios)


# -- tuning ------------------------------------------------------------------------------------

# Only ratios between the weights matter to the order, so the instruction's weight and the word
# alignment's stay 1 unless switched off (one of them anchors the scale).
GRID: dict[str, tuple[float, ...]] = {
    "instruction": (0.0, 1.0),
    "task": (-2.0, -1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0),
    "role": (0.0, 0.25, 0.5),
    "named": (0.0, 0.1, 0.25, 0.5, 1.0),
    "keyword": (0.0, 0.1, 0.25, 0.5, 1.0),
    "aligned": (0.0, 1.0),
    "hubness": (0.0, 0.5, 1.0, 2.0),
    "per_token": (0.0, 0.5, 1.0),
}
# Searched second, one at a time in this order, the other weights fixed at the picks before
# (a joint grid would take five times as long per weight):
# the names and numbers of the recent turns beyond the instruction's. ``negation`` is not
# searched: whether a message states a negation is style, not relevance (once the generator
# gave the other messages their constraints too, it only fitted what was left of the tune
# half's style), so it stays 0.
SECOND_GRIDS: dict[str, tuple[float, ...]] = {
    "entity": (0.0, 0.1, 0.25, 0.5, 1.0),
}
# The parts a score sums (`_ranking.slice_scores`), as columns of `parts`.
PARTS = ("instruction", "task", "role", "entity", "keyword", "named", "negation", "aligned")
MARGIN_CAP = 1.0

Case = tuple[_select.Candidates, int, int]


def candidates(log: ConversationLog, transcripts: list[dict[str, Any]]) -> list[Case]:
    """Per transcript: what the default slice chooses from, the budget left after the
    window, and the index of the needed message among the candidates (-1: in the window)."""
    out = []
    for t in transcripts:
        view = log._view(t["id"], t["agent"], None, None)
        window, _ = _reads.window(log.db, view, _flows.BUDGET_LAST, budget_of(t))
        found = log._slice_inputs(view, window, t["task"], None, ROLES[t["agent"]])
        assert found is not None
        needed = t["messages"][t["needed"]]["text"]
        at = found.texts.index(needed) if needed in found.texts else -1
        out.append((found, budget_of(t) - sum(m.tokens for m in window), at))
    return out


def parts(found: _select.Candidates) -> np.ndarray:
    """(candidates, len(PARTS) + 1): each part of the score, and minus the centrality (the
    ``hubness`` column), so any weights score by one product."""
    n = len(found.texts)
    columns: list[np.ndarray] = []
    for name in PARTS:
        q = found.queries.get(name)
        if name in ("instruction", "task", "role"):
            value = found.matrix @ q if q is not None and found.matrix.size else np.zeros(n)
        elif name == "keyword":
            value = found.overlap
        elif name == "negation":
            value = found.negation
        else:
            value = getattr(found, "evidence" if name == "entity" else name)
            value = np.zeros(n) if value is None else value
        columns.append(np.asarray(value, dtype=np.float64))
    central = np.zeros(n) if found.central is None else found.central
    columns.append(-np.asarray(central, dtype=np.float64))
    return np.stack(columns, axis=1)


def as_rows(points: list[_select.SliceWeights]) -> tuple[np.ndarray, np.ndarray]:
    """The weights of ``points`` as rows over `parts`' columns, and their ``per_token``."""
    names = (*PARTS, "hubness")
    rows = np.array([[getattr(w, k) for k in names] for w in points], dtype=np.float64)
    return rows, np.array([w.per_token for w in points], dtype=np.float64)


def fits(cases: list[Case], points: list[_select.SliceWeights]) -> tuple[np.ndarray, np.ndarray]:
    """For every point and case: whether the needed message is taken (`_select.choose`,
    all points at once), and the margin: the needed message's value per token minus the
    best other candidate's, in standard deviations of the values (so weights of any scale
    compare), clipped to +-MARGIN_CAP so a few easy cases cannot outvote the close ones."""
    weights, per_token = as_rows(points)
    floor = np.array([w.floor for w in points], dtype=np.float64)
    g = len(points)
    hits = np.zeros((g, len(cases)), dtype=bool)
    margins = np.zeros((g, len(cases)))
    every = np.arange(g)
    for c, (found, left, at) in enumerate(cases):
        if at < 0:
            continue
        score = weights @ parts(found).T
        gain = score - np.median(score, axis=1, keepdims=True)
        tokens = np.asarray(found.tokens, dtype=np.float64)
        cost = np.maximum(tokens, 1.0)[None, :] ** per_token[:, None]
        value = gain / cost
        above = gain - floor[:, None]  # what `choose` ranks and stops at
        n = len(tokens)
        newer = np.broadcast_to(-np.arange(n), value.shape)  # ties: the newer message first
        order = np.lexsort((newer, -above / cost), axis=-1)
        room = np.full(g, float(left))
        going = np.ones(g, dtype=bool)
        for k in range(n):  # `choose`, one step for every point at once
            i = order[:, k]
            going &= above[every, i] > 0
            take = going & (tokens[i] <= room)
            hits[:, c] |= take & (i == at)
            room -= np.where(take, tokens[i], 0.0)
        others = np.delete(value, at, axis=1).max(axis=1)
        spread = value.std(axis=1)
        spread[spread == 0] = 1.0
        margins[:, c] = np.clip((value[:, at] - others) / spread, -MARGIN_CAP, MARGIN_CAP)
    return hits, margins


def fit(cases: list[Case], weights: _select.SliceWeights) -> tuple[float, float]:
    """(share of cases whose needed message is taken, mean margin) of one point."""
    hits, margins = fits(cases, [weights])
    return float(hits.mean()), float(margins.mean())


def _first_points() -> list[_select.SliceWeights]:
    points = []
    for values in itertools.product(*GRID.values()):
        given = dict(zip(GRID, values, strict=True))
        cosines = (given["instruction"], given["task"], given["role"], given["aligned"])
        if not any(cosines) or (not any(cosines[::2]) and not cosines[3] and given["task"] < 0):
            continue  # no cosine at all, or only against the task: not a relevance ranking
        points.append(_select.SliceWeights(**given))
    return points


def _best(
    points: list[_select.SliceWeights],
    hits: np.ndarray,
    margins: np.ndarray,
    names: tuple[str, ...],
    use: np.ndarray,
) -> int:
    """The point with the most needed messages kept on the cases ``use``; ties go to the
    larger mean margin, then to the smaller weights ``names`` (in order)."""
    share = hits[:, use].mean(axis=1)
    margin = np.round(margins[:, use].mean(axis=1), 6)
    keys = [
        (share[i], margin[i], tuple(-getattr(p, k) for k in names)) for i, p in enumerate(points)
    ]
    return max(range(len(points)), key=keys.__getitem__)


def tune(
    cases: list[Case], use: np.ndarray | None = None
) -> tuple[_select.SliceWeights, dict[str, Any]]:
    """The grid point with the most needed messages kept on the tune half (or its cases
    ``use``); ties go to the larger mean margin, then to the smaller weights; then, the
    others fixed, each `SECOND_GRIDS` weight picked in turn by the same rule."""
    return tune_folds(cases, [np.ones(len(cases), dtype=bool) if use is None else use])[0]


def tune_folds(
    cases: list[Case], uses: list[np.ndarray]
) -> list[tuple[_select.SliceWeights, dict[str, Any]]]:
    """`tune` on each subset of ``uses``, the grid scored once for all."""
    points = _first_points()
    hits, margins = fits(cases, points)
    out = []
    for use in uses:
        best = points[_best(points, hits, margins, tuple(GRID), use)]
        for name, grid in SECOND_GRIDS.items():
            tried = [dataclasses.replace(best, **{name: v}) for v in grid]  # 0: as it was
            h, m = fits(cases, tried)
            best = tried[_best(tried, h, m, (name,), use)]
        h, m = fits([c for c, u in zip(cases, use, strict=True) if u], [best])
        out.append((best, {"tune_share": float(h.mean()), "tune_margin": float(m.mean())}))
    return out


def crossfit(cases: list[Case], transcripts: list[dict[str, Any]]) -> dict[str, Any]:
    """Leave one scenario out: `tune` on the others' cases, whether the left-out scenario's
    needed messages are kept; the share kept over all, and per kind. How well the tuning
    carries to scenarios it did not see, from the tune half alone."""
    scenario = np.array([t["scenario"] for t in transcripts])
    names = sorted(set(scenario.tolist()))
    picks = tune_folds(cases, [scenario != s for s in names])
    kept = np.zeros(len(cases), dtype=bool)
    for s, (weights, _) in zip(names, picks, strict=True):
        hits, _ = fits(cases, [weights])
        kept[scenario == s] = hits[0, scenario == s]
    kinds = sorted({t["kind"] for t in transcripts})
    by_kind = {
        k: round(float(kept[[t["kind"] == k for t in transcripts]].mean()), 3) for k in kinds
    }
    return {"share": round(float(kept.mean()), 3), "by_kind": by_kind}
