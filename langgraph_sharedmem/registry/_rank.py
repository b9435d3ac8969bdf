"""Ranking agents for a task: words, capability mentions, keyword overlap, the weighted score.

Pure functions, no I/O. Words are lower-cased runs of letters and digits with a light suffix
strip ("billing", "bills" and "billed" all become "bill"), so a capability named in a task
matches its inflections without a stemmer dependency.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from langgraph_sharedmem.errors import InvalidConfigError

_WORD: Final = re.compile(r"[^\W_]+")
_SUFFIXES: Final = ("ing", "ed", "es", "s")
# Words that say nothing about what an agent can do; kept out of keyword overlap.
STOPWORDS: Final = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "could",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "i",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "should",
        "so",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "agent",
        "agents",
        "help",
        "question",
        "questions",
        "answer",
        "answers",
        "need",
        "needs",
        "want",
    }
)
DEFAULT_WEIGHTS: Final = (0.5, 0.35, 0.15)  # semantic, capability, trust


def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """The stemmed words of ``text``, stopwords kept (capabilities may be any word)."""
    return [stem(w) for w in _WORD.findall(text.casefold())]


def keyword_score(query: str, text: str) -> float:
    """The share of the query's meaningful words that occur in ``text`` (0..1)."""
    wanted = {w for w in words(query) if w not in STOPWORDS}
    if not wanted:
        return 0.0
    return len(wanted & set(words(text))) / len(wanted)


def named_capabilities(task: str, capabilities: Iterable[str]) -> set[str]:
    """The capabilities whose every word occurs in the task ("order-tracking" in "track my
    order" counts: word order is not required). Stopwords are ignored on both sides, so a
    capability such as "it" is never named by a pronoun (it can still be ``require``d)."""
    present = set(words(task)) - STOPWORDS
    found = set()
    for capability in capabilities:
        parts = [p for p in words(capability) if p not in STOPWORDS]
        if parts and all(p in present for p in parts):
            found.add(capability)
    return found


def check_weights(weights: Any) -> tuple[float, float, float]:
    if weights is None:
        return DEFAULT_WEIGHTS
    if isinstance(weights, dict):
        unknown = set(weights) - {"semantic", "capability", "trust"}
        if unknown:
            raise InvalidConfigError(
                f"unknown weights {sorted(unknown)}; expected 'semantic', 'capability', 'trust'"
            )
        weights = tuple(
            weights.get(k, d)
            for k, d in zip(("semantic", "capability", "trust"), DEFAULT_WEIGHTS, strict=True)
        )
    if (
        not isinstance(weights, Sequence)
        or len(weights) != 3
        or any(isinstance(w, bool) or not isinstance(w, (int, float)) for w in weights)
        or not all(math.isfinite(w) and w >= 0 for w in weights)
        or sum(weights) <= 0
    ):
        raise InvalidConfigError(
            "weights must be three numbers >= 0 (semantic, capability, trust) that do not all "
            f"equal 0, or a dict of them; got {weights!r}"
        )
    total = float(sum(weights))
    return (weights[0] / total, weights[1] / total, weights[2] / total)


@dataclass(frozen=True)
class Candidate:
    """The little of an available agent that ranking needs (full profiles are read only for
    the agents returned)."""

    name: str
    capabilities: frozenset[str]
    trust: float
    text: str


def score(
    weights: tuple[float, float, float], similarity: float, capability: float, trust: float
) -> float:
    return round(weights[0] * similarity + weights[1] * capability + weights[2] * trust, 6)


def order(score: float, candidate: Candidate) -> tuple[float, float, str]:
    """Sort key: best score first, then higher trust, then name."""
    return (-score, -candidate.trust, candidate.name)


def reasons(
    candidate: Candidate, wanted: set[str], similarity: float, method: str
) -> tuple[str, ...]:
    """Why an agent scored what it did, in words."""
    out = []
    named = candidate.capabilities & wanted
    if named:
        out.append("has capabilities the task asks for: " + ", ".join(sorted(named)))
    elif wanted:
        out.append("none of the capabilities the task names: " + ", ".join(sorted(wanted)))
    if method == "semantic":
        out.append(f"description similar to the task (cosine {similarity:.2f})")
    else:
        out.append(
            f"{similarity:.0%} of the task's words in its description "
            "(keyword match: the store has no semantic index)"
        )
    out.append(f"trust {candidate.trust:.2f}")
    return tuple(out)
