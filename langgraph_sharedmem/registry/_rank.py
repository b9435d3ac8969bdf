"""Ranking agents for a task: words, capability mentions, meaning, the weighted score.

Pure functions, no I/O. Words are lower-cased runs of letters and digits with a light suffix
strip ("billing", "bills" and "billed" all become "bill"), so a capability named in a task
matches its inflections without a stemmer dependency.

A route's score is ``RouteWeights``' weighted sum of five parts (see `score`); the weights
are chosen on a labelled set by ``bench/bench_retrieval.py --tune`` and
``tests/test_retrieval_routing.py`` checks that `DEFAULT_WEIGHTS` is what it picks.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

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


@dataclass(frozen=True)
class RouteWeights:
    """How much each part of a route's score counts (`score`). Not normalised: scaling all
    of them changes no order, only the numbers ``min_score`` is compared with.

    * ``semantic`` - cosine of the task and the agent's text;
    * ``alignment`` - how close the task's words are to the agent's words (`alignment`);
    * ``hubness`` - subtracted times the agent's *centrality* (its text's mean cosine to the
      other agents' texts): a generic description is near every task, and would otherwise
      win tasks meant for a specialist;
    * ``capability`` - the share of the capabilities the task names that the agent has: a
      lemma match is evidence, worth this much cosine, never a verdict;
    * ``trust`` - the agent's registered trust.
    """

    semantic: float = 1.0
    alignment: float = 0.0
    hubness: float = 0.0
    capability: float = 0.0
    trust: float = 0.0


# Chosen on bench/data/routing_tune.json by `bench/bench_retrieval.py --tune` (grid, tie
# rules and results: docs/registry.md, "Routing"); a test keeps the two equal.
DEFAULT_WEIGHTS: Final = RouteWeights(
    semantic=1.0, alignment=3.0, hubness=1.5, capability=0.1, trust=0.0
)
_WEIGHT_NAMES: Final = tuple(f.name for f in dataclasses.fields(RouteWeights))


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


def content_words(text: str) -> list[str]:
    """The distinct non-stopwords of ``text``, lower-cased, unstemmed (they are embedded)."""
    seen = dict.fromkeys(w for w in _WORD.findall(text.casefold()) if w not in STOPWORDS)
    return list(seen)


def centrality(vectors: np.ndarray) -> np.ndarray:
    """Each row's mean cosine to the other rows (rows unit length): O(n), through their sum."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    dots = vectors @ vectors.sum(axis=0)
    return (dots - np.einsum("ij,ij->i", vectors, vectors)) / (n - 1)


def idf(word: str, document_frequency: Mapping[str, int], documents: int) -> float:
    """Inverse document frequency over the agents' texts: a word every agent uses ("order",
    "account") says little about which agent is meant; one no agent uses keeps full weight."""
    return math.log((documents + 1) / (document_frequency.get(stem(word), 0) + 0.5))


def alignment(
    task_vectors: np.ndarray, task_weights: np.ndarray, agent_vectors: Sequence[np.ndarray]
) -> np.ndarray:
    """Per agent: the ``task_weights``-weighted mean, over the task's words, of each word's
    best cosine to one of the agent's words. Paraphrases meet here ("erase" and "deleting",
    "money back" and "refunds") without sharing a lemma, which a whole-text cosine dilutes."""
    out = np.zeros(len(agent_vectors), dtype=np.float32)
    total = float(task_weights.sum())
    if not len(task_vectors) or total <= 0:
        return out
    for i, words_of_agent in enumerate(agent_vectors):
        if len(words_of_agent):
            best = (task_vectors @ words_of_agent.T).max(axis=1)
            out[i] = float(best @ task_weights) / total
    return out


# Scores equal to this many decimals are a tie: a difference below 0.01 is below what the
# default embedder tells apart (the cosine of one text to two near-identical descriptions
# differs by about as much), so track record and trust settle it, not embedding noise.
DIGITS: Final = 2


def score(
    weights: RouteWeights,
    similarity: float,
    aligned: float,
    central: float,
    capability: float,
    trust: float,
) -> float:
    """The score a route is ordered by: the weighted sum, divided by the sum of the weights
    that add (so a perfect match with a distinctive description scores 1), rounded to
    `DIGITS` decimals."""
    total = (
        weights.semantic * similarity
        + weights.alignment * aligned
        - weights.hubness * central
        + weights.capability * capability
        + weights.trust * trust
    )
    return round(total / scale(weights), DIGITS)


def scale(weights: RouteWeights) -> float:
    """What `score` divides by: the sum of the weights that add, or 1 when they are
    negligible (only hubness counts: dividing by ~0 would blow the scores up)."""
    added = weights.semantic + weights.alignment + weights.capability + weights.trust
    return added if added > 1e-6 * max(1.0, weights.hubness) else 1.0


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
    out.append(f"trust {candidate.trust:.2f}")
    return tuple(out)
