"""Ranking agents for a task: the registry's side of `langgraph_sharedmem._ranking`.

Words, stop words, keyword evidence, the word alignment and centrality, the weighted score
and its weights all live in the ranking core (`langgraph_sharedmem._ranking`); this module
checks the weights a caller passes, names the capabilities a task mentions, orders ties and
says why an agent scored what it did. ``tests/test_retrieval_routing.py`` checks that
`DEFAULT_WEIGHTS` is what ``bench/bench_retrieval.py --part routing --tune`` picks.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from langgraph_sharedmem import _ranking
from langgraph_sharedmem._ranking import (
    DIGITS,
    RouteWeights,
    alignment,
    centrality,
    content_words,
    keyword_score,
    stem,
)
from langgraph_sharedmem._ranking import route_scale as scale
from langgraph_sharedmem._ranking import route_score as score
from langgraph_sharedmem.errors import InvalidConfigError

__all__ = [
    "DEFAULT_WEIGHTS",
    "DIGITS",
    "Candidate",
    "RouteWeights",
    "about",
    "alignment",
    "centrality",
    "check_weights",
    "content_words",
    "idf",
    "keyword_score",
    "named_capabilities",
    "order",
    "reasons",
    "scale",
    "score",
    "stem",
]

DEFAULT_WEIGHTS: Final = _ranking.DEFAULT_ROUTE_WEIGHTS
_WEIGHT_NAMES: Final = tuple(f.name for f in dataclasses.fields(RouteWeights))


def named_capabilities(task: str, capabilities: Iterable[str]) -> set[str]:
    """The capabilities whose every word occurs in the task ("order-tracking" in "track my
    order" counts: word order is not required). Stop words are ignored on both sides, so a
    capability such as "it" is never named by a pronoun (it can still be ``require``d)."""
    present = set(_ranking.stems(task)) - _ranking.STOP_WORDS
    found = set()
    for capability in capabilities:
        parts = [p for p in _ranking.stems(capability) if p not in _ranking.STOP_WORDS]
        if parts and all(p in present for p in parts):
            found.add(capability)
    return found


def idf(word: str, document_frequency: Mapping[str, int], documents: int) -> float:
    """`_ranking.idf` of ``word`` over the agents' texts, by its stem: a word every agent
    uses ("order", "account") says little about which agent is meant."""
    return _ranking.idf(document_frequency.get(stem(word), 0), documents)


def check_weights(weights: Any) -> RouteWeights:
    """`RouteWeights` from None (the defaults), a `RouteWeights`, a dict of some of its
    fields (the others default), or the older ``(semantic, capability, trust)`` triple
    (alignment and hubness then 0: exactly the three-part score it used to ask for)."""
    if weights is None:
        return DEFAULT_WEIGHTS
    if isinstance(weights, RouteWeights):
        values = dataclasses.asdict(weights)
    elif isinstance(weights, Mapping):
        unknown = set(weights) - set(_WEIGHT_NAMES)
        if unknown:
            raise InvalidConfigError(
                f"unknown weights {sorted(map(str, unknown))}; expected some of "
                f"{list(_WEIGHT_NAMES)}"
            )
        values = dataclasses.asdict(DEFAULT_WEIGHTS) | dict(weights)
    elif isinstance(weights, Sequence) and not isinstance(weights, str) and len(weights) == 3:
        values = dict(zip(("semantic", "capability", "trust"), weights, strict=True))
        values |= {"alignment": 0.0, "hubness": 0.0}
    else:
        raise InvalidConfigError(
            "weights must be a RouteWeights, a dict of some of "
            f"{list(_WEIGHT_NAMES)}, or three numbers (semantic, capability, trust); "
            f"got {weights!r}"
        )
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidConfigError(f"weights[{name!r}] must be a number, got {value!r}")
        if not (math.isfinite(value) and value >= 0):
            raise InvalidConfigError(f"weights[{name!r}] must be a finite number >= 0, got {value}")
    top = max(values.values())
    if not top:
        raise InvalidConfigError(f"weights must not all equal 0; got {weights!r}")
    # Scaled so the largest is 1: the same scores (`score` divides by their sum), and no
    # overflow from weights near the float limit.
    return RouteWeights(**{k: float(v) / top for k, v in values.items()})


@dataclass(frozen=True)
class Candidate:
    """The little of an available agent that ranking needs (full profiles are read only for
    the agents returned)."""

    name: str
    capabilities: frozenset[str]
    trust: float
    text: str
    stale: bool = False
    description: str = ""


def about(candidate: Candidate) -> str:
    """The text an agent's meaning is read from in routing: its description, or its whole
    text when the description has no content words."""
    return candidate.description if content_words(candidate.description) else candidate.text


def order(score: float, candidate: Candidate, track_record: int) -> tuple[Any, ...]:
    """Sort key: best score first; on a tie a live agent before a stale one, then the one
    backing more verified facts (`Registry.who_knows`' record), then higher trust, then name."""
    return (-score, candidate.stale, -track_record, -candidate.trust, candidate.name)


def reasons(
    candidate: Candidate,
    wanted: set[str],
    parts: Mapping[str, float],
    method: str,
    weights: RouteWeights,
) -> tuple[str, ...]:
    """Why an agent scored what it did, in words (the parts that counted)."""
    out = []
    named = candidate.capabilities & wanted
    if named:
        out.append("has capabilities the task asks for: " + ", ".join(sorted(named)))
    elif wanted:
        out.append("none of the capabilities the task names: " + ", ".join(sorted(wanted)))
    if method == "semantic":
        out.append(f"description similar to the task (cosine {parts['similarity']:.2f})")
        if weights.alignment:
            out.append(f"the task's words near its own (alignment {parts['alignment']:.2f})")
        if weights.hubness:
            out.append(
                f"description near the other agents' (centrality {parts['centrality']:.2f}, "
                "subtracted)"
            )
    else:
        out.append(
            f"{parts['similarity']:.0%} of the task's words in its description "
            "(keyword match: the store has no semantic index)"
        )
    if weights.outcome and parts.get("outcome"):
        side = "went well" if parts["outcome"] > 0 else "went badly"
        out.append(f"similar past tasks it handled {side} (outcomes {parts['outcome']:+.2f})")
    out.append(f"trust {candidate.trust:.2f}")
    return tuple(out)
