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

# Only ratios between the weights matter to the order, so the instruction's weight stays 1
# unless it is switched off.
GRID: dict[str, tuple[float, ...]] = {
    "instruction": (0.0, 1.0),
    "task": (-2.0, -1.5, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0),
    "role": (0.0, 0.25, 0.5),
    "named": (0.0, 0.1, 0.25, 0.5, 1.0),
    "keyword": (0.0, 0.1, 0.25, 0.5, 1.0),
    "per_token": (0.0, 0.5, 1.0),
}
# Searched second, one at a time in this order, the other weights fixed at the picks before
# (a joint grid would take five times as long per weight for the tests that re-run it):
# the names and numbers of the recent turns beyond the instruction's. ``negation`` is not
# searched: whether a message states a negation is style, not relevance (once the generator
# gave the other messages their constraints too, it only fitted what was left of the tune
# half's style), so it stays 0.
SECOND_GRIDS: dict[str, tuple[float, ...]] = {
    "entity": (0.0, 0.1, 0.25, 0.5, 1.0),
}


def candidates(
    log: ConversationLog, transcripts: list[dict[str, Any]]
) -> list[tuple[_select.Candidates, int, int]]:
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


def fit(
    cases: list[tuple[_select.Candidates, int, int]], weights: _select.SliceWeights
) -> tuple[float, float]:
    """(share of cases whose needed message is taken, mean margin): the needed message's
    value per token minus the best other candidate's, in standard deviations of the values
    (so weights of any scale compare), clipped to +-MARGIN_CAP so a few easy cases cannot
    outvote the close ones."""
    hits, margins = 0, 0.0
    for found, left, at in cases:
        score = found.score(weights)  # once: `choose` would score again
        hits += at in _select.choose(score, found.tokens, left, weights)
        gain = score - float(np.median(score))
        value = gain / np.maximum(np.array(found.tokens, float), 1.0) ** weights.per_token
        others = np.delete(value, at)
        spread = float(value.std()) or 1.0
        margins += float(np.clip((value[at] - others.max()) / spread, -MARGIN_CAP, MARGIN_CAP))
    return hits / len(cases), margins / len(cases)


MARGIN_CAP = 1.0


def tune(
    cases: list[tuple[_select.Candidates, int, int]],
) -> tuple[_select.SliceWeights, dict[str, Any]]:
    """The grid point with the most needed messages kept on the tune half; ties go to the
    larger mean margin, then to the smaller weights; then, the others fixed, each
    `SECOND_GRIDS` weight picked in turn by the same rule."""
    best: tuple[Any, ...] | None = None
    for values in itertools.product(*GRID.values()):
        if not any(values[:3]) or (values[0] == 0 and values[2] == 0 and values[1] < 0):
            continue  # no cosine at all: not a relevance ranking
        weights = _select.SliceWeights(**dict(zip(GRID, values, strict=True)))
        share, margin = fit(cases, weights)
        key = (share, round(margin, 6), tuple(-v for v in values))
        if best is None or key > best[0]:
            best = (key, weights)
    assert best is not None
    for name, grid in SECOND_GRIDS.items():
        first = best[1]
        second: tuple[Any, ...] | None = None
        for value in grid:  # 0 included: the pick before as it was
            weights = dataclasses.replace(first, **{name: value})
            share, margin = fit(cases, weights)
            key = (share, round(margin, 6), -value)
            if second is None or key > second[0]:
                second = (key, weights)
        assert second is not None
        best = second
    (share, margin, _), weights = best
    return weights, {"tune_share": share, "tune_margin": margin}
