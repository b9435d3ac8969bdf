"""Choosing an agent's slice under a token budget: pure functions, no I/O.

The relevance of an older message is judged against what the agent is about to do, not only
the run's task: its latest instruction (by default the newest message it may see), its role
and the task, each embedded by the log's embedder (cosine), fused with *entity evidence*:
the names, numbers and codes the recent turns mention that the message mentions too,
weighted by how rare they are among the candidates (a name every message repeats tells
nothing). Messages are then taken by value per token until the budget is spent. What is left
of the budget can hold an extractive digest (`extract`) of the messages not taken: their
sentences that mention those entities, the offline stand-in for a model's summary.

The weights (`DEFAULT_WEIGHTS`) were chosen on the tune half of ``bench/data/slices_*.json``
by ``bench/bench_retrieval.py --part slices --tune``; ``tests/test_retrieval_slices.py``
checks that they are still what the tuning picks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

__all__ = [
    "DEFAULT_WEIGHTS",
    "Candidates",
    "SliceWeights",
    "choose",
    "entities",
    "extract",
    "scores",
]

# A number (1,200 / 17:40 / 2.1) or a code (KX-2291): evidence wherever it appears.
_NUMBER: Final = re.compile(r"\b[A-Za-z]{0,4}-?\d[\d,.:]*\d\b|\b\d\b")
_WORD: Final = re.compile(r"[A-Za-zÀ-ÿ][\w'’-]*")
_CAPITALISED: Final = re.compile(r"(?<![\w'’-])[A-ZÀ-Þ][\w'’-]+")
_SENTENCE: Final = re.compile(r"(?<=[.!?;])\s+(?=\S)|\n+")
_ABBREVIATIONS: Final = ("Dr.", "Mr.", "Mrs.", "Ms.", "St.", "Prof.")
_STOP: Final = frozenset(
    [
        "about",
        "after",
        "all",
        "also",
        "and",
        "any",
        "are",
        "been",
        "before",
        "but",
        "can",
        "could",
        "did",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "her",
        "him",
        "his",
        "how",
        "its",
        "just",
        "more",
        "most",
        "not",
        "now",
        "off",
        "one",
        "our",
        "out",
        "over",
        "own",
        "she",
        "should",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "too",
        "under",
        "until",
        "very",
        "was",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
    ]
)


@dataclass(frozen=True)
class SliceWeights:
    """How an older message's value is scored: the weighted cosines to the ``instruction``,
    the ``task`` and the ``role``, plus ``entity`` times its entity evidence and ``keyword``
    times the rarity of the instruction's own words it holds (both 0..1); the value is that
    score above the candidates' median, divided by the message's tokens raised to
    ``per_token`` (1: value per token; 0: value alone). A message whose score is not above
    the median by more than ``floor`` is never taken: it is no more relevant than the run's
    usual chatter. A negative ``task`` weight counts restating the task against a message
    (the agent is given the task anyway)."""

    instruction: float = 1.0
    task: float = 0.0
    role: float = 0.0
    entity: float = 0.0
    keyword: float = 0.0
    per_token: float = 1.0
    floor: float = 0.0


DEFAULT_WEIGHTS: Final = SliceWeights(
    instruction=1.0, task=-1.0, role=0.0, entity=0.5, keyword=0.0, per_token=0.0
)
"""Chosen on the tune half of the slices set (``bench/bench_retrieval.py --part slices
--tune``): the instruction's cosine, less the task's, plus half the entity evidence; on that
set value alone beat value per token (the candidates are of similar length)."""


@dataclass
class Candidates:
    """The older messages a budgeted slice chooses from (``seqs``, ``tokens``, ``texts``,
    unit vectors ``matrix``), the query vectors, the recent turns' entities (``recent``),
    each candidate's entity ``evidence``, and the instruction's own words (``said``):
    everything but the weights, so tuning re-scores without reads."""

    seqs: list[int]
    tokens: list[int]
    texts: list[str]
    matrix: np.ndarray
    queries: dict[str, np.ndarray]
    recent: set[str]
    evidence: np.ndarray
    said: set[str]
    _overlap: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        found: Sequence[tuple[int, int, str]],
        matrix: np.ndarray,
        queries: dict[str, np.ndarray],
        recent_texts: Sequence[str],
        instruction: str,
        task: str | None,
    ) -> Candidates:
        """``recent_texts``: the window's texts; the entities they and the ``instruction``
        name are evidence; so are the instruction's own words, less the ``task``'s (which
        every message of the run repeats)."""
        texts = [t for _, _, t in found]
        said_texts = [*recent_texts, instruction]
        recent = entities(said_texts, names_of(said_texts) | _named_in(said_texts, texts))
        return cls(
            [s for s, _, _ in found],
            [n for _, n, _ in found],
            texts,
            matrix,
            queries,
            recent,
            evidence([mentions(t) for t in texts] if recent else [set()] * len(texts), recent),
            keywords([instruction]) - keywords([task or ""]),
        )

    @property
    def overlap(self) -> np.ndarray:
        """Per candidate, 0..1: the rarity of the instruction's own words it holds."""
        if self._overlap is None:
            found = [keywords([t]) for t in self.texts] if self.said else [set()] * len(self.texts)
            self._overlap = evidence(found, self.said)
        return self._overlap

    def score(self, weights: SliceWeights) -> np.ndarray:
        out = scores(self.matrix, self.queries, self.evidence, weights)  # type: ignore[arg-type]
        return out + weights.keyword * self.overlap if weights.keyword else out

    def choose(self, budget: int, weights: SliceWeights) -> list[int]:
        """Indexes of the candidates taken within ``budget`` tokens."""
        return choose(self.score(weights), self.tokens, budget, weights)


def mentions(text: str) -> set[str]:
    """The numbers, codes and capitalised words of ``text``, as `entities` keys: a
    capitalised word counts wherever it is, so only match it against known entities."""
    found = {n.replace(",", "").lower() for n in _NUMBER.findall(text)}
    found.update(_key(w) for w in _CAPITALISED.findall(text))
    return found


def _named_in(said: Sequence[str], texts: Sequence[str]) -> set[str]:
    """The capitalised words opening a sentence of ``said`` that some sentence of ``texts``
    has after its first word (so they are names, not just a sentence's first word)."""
    openers = {
        words[0]
        for text in said
        for sentence in sentences(text)
        if (words := _WORD.findall(sentence)) and len(words[0]) > 1 and words[0][0].isupper()
    }
    if not openers:
        return set()
    joined = _protect("\n".join(texts))
    found = set()
    for word in openers:
        bare = re.escape(_bare(word))
        if re.search(r"[^.!?;\s][^\S\n]+" + bare + r"(?:'s|’s|'|’)?(?![\w'’-])", joined):
            found.add(_key(word))
    return found


def _protect(text: str) -> str:
    for abbr in _ABBREVIATIONS:
        text = text.replace(abbr + " ", abbr[:-1] + "\x00 ")
    return text


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences (a title like "Dr." does not end one)."""
    protected = _protect(text)
    return [s.replace("\x00", ".").strip() for s in _SENTENCE.split(protected) if s.strip()]


def entities(texts: Iterable[str], names: set[str] | None = None) -> set[str]:
    """The names, numbers and codes in ``texts``, lowercased. A capitalised word is a name if
    it is in ``names`` or it is capitalised somewhere other than the start of a sentence
    (so "The" or "Reviewed" opening a sentence is not one)."""
    found: set[str] = set()
    for text in texts:
        for sentence in sentences(text):
            found.update(n.replace(",", "").lower() for n in _NUMBER.findall(sentence))
            for i, word in enumerate(_WORD.findall(sentence)):
                if len(word) > 1 and word[0].isupper():
                    key = _key(word)
                    if i > 0 or (names is not None and key in names):
                        found.add(key)
    return found


def keywords(texts: Iterable[str]) -> set[str]:
    """The content words of ``texts``: lowercased, no stop words, a plural's "s" dropped."""
    found: set[str] = set()
    for text in texts:
        for word in _WORD.findall(text.lower()):
            word = _key(word)
            if len(word) > 2 and word not in _STOP:
                found.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return found


def names_of(texts: Sequence[str]) -> set[str]:
    """The capitalised words some sentence of ``texts`` has after its first word."""
    found: set[str] = set()
    for text in texts:
        for sentence in sentences(text):
            for word in _WORD.findall(sentence)[1:]:
                if len(word) > 1 and word[0].isupper():
                    found.add(_key(word))
    return found


def _bare(word: str) -> str:
    """``word`` without a possessive ("Okafor's" -> "Okafor")."""
    for suffix in ("'s", "’s", "'", "’"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _key(word: str) -> str:
    return _bare(word.lower())


def evidence(candidates: Sequence[set[str]], recent: set[str]) -> np.ndarray:
    """Per candidate, 0..1: the summed rarity (idf over the candidates, scaled so an entity
    only one candidate has counts 1) of the recent turns' entities it mentions, capped at 1."""
    n = len(candidates)
    if not n or not recent:
        return np.zeros(n)
    df: dict[str, int] = {}
    for found in candidates:
        for e in found & recent:
            df[e] = df.get(e, 0) + 1
    top = math.log(n + 1)
    out = np.zeros(n)
    for i, found in enumerate(candidates):
        out[i] = min(1.0, sum(math.log((n + 1) / df[e]) / top for e in found & recent))
    return out


def scores(
    matrix: np.ndarray,
    queries: dict[str, np.ndarray | None],
    entity: np.ndarray,
    weights: SliceWeights,
) -> np.ndarray:
    """The fused score of each candidate (rows of ``matrix``, unit vectors): the weighted
    cosines to the instruction, task and role vectors given, plus the entity evidence."""
    out = weights.entity * entity
    for part in ("instruction", "task", "role"):
        q = queries.get(part)
        w = getattr(weights, part)
        if q is not None and w and len(matrix):
            out = out + w * (matrix @ q)
    return np.asarray(out, dtype=np.float64)


def choose(
    score: np.ndarray, tokens: Sequence[int], budget: int, weights: SliceWeights
) -> list[int]:
    """Indexes of the candidates to take: by value per token (``score`` above the median,
    over ``tokens ** per_token``), best first, each taken if it still fits ``budget``."""
    if not len(score) or budget <= 0:
        return []
    gain = score - float(np.median(score)) - weights.floor
    cost = np.maximum(np.asarray(tokens, dtype=np.float64), 1.0) ** weights.per_token
    value = gain / cost
    taken: list[int] = []
    left = budget
    # Ties: the newer message first (a stable sort over reversed positions).
    for i in sorted(range(len(score)), key=lambda j: (-value[j], -j)):
        if gain[i] <= 0:
            break
        if tokens[i] <= left:
            taken.append(i)
            left -= tokens[i]
    return sorted(taken)


def extract(
    texts: Sequence[str],
    recent: set[str],
    budget_chars: int,
) -> list[str]:
    """The extractive digest: the sentences of ``texts`` (oldest first) that mention an
    entity of ``recent``, those sharing the most first, kept while their characters fit
    ``budget_chars``, returned in transcript order."""
    found: list[tuple[float, int, str]] = []
    order = 0
    for text in texts:
        for sentence in sentences(text):
            shared = mentions(sentence) & recent  # a known name may open the sentence
            if shared:
                found.append((-len(shared), order, sentence))
            order += 1
    kept: list[tuple[int, str]] = []
    left = budget_chars
    for _, at, sentence in sorted(found):
        if len(sentence) + 1 <= left:
            kept.append((at, sentence))
            left -= len(sentence) + 1
    return [s for _, s in sorted(kept)]
