"""Choosing an agent's slice under a token budget: pure functions, no I/O.

The relevance of an older message is judged against what the agent is about to do, not only
the run's task: its latest instruction (by default the newest message it may see), its role
and the task, each embedded by the log's embedder (cosine); the instruction's words aligned
with the message's words (each word's best cosine: a link by meaning a whole-message cosine
dilutes), less the message's centrality among the candidates (what every message says tells
the agent nothing new); fused with *entity evidence*:
the names, numbers and codes the recent turns mention that the message mentions too,
weighted by how rare they are among the candidates (a name every message repeats tells
nothing), those the instruction itself names counted apart (``named``). Messages are
then taken by value per token until the budget is spent. What is left of the budget can hold
an extractive digest (`extract`) of the messages not taken: their sentences that mention
those entities, the offline stand-in for a model's summary.

Tokens, entities, evidence, the fused score and its weights (`SliceWeights`, tuned on
``bench/data/slices_tune.json``) live in the ranking core, `langgraph_sharedmem._ranking`;
this module holds the budget: what is a candidate, what fits, and the digest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Final

import numpy as np

from langgraph_sharedmem import _ranking
from langgraph_sharedmem._ranking import (
    SliceWeights,
    entities,
    evidence,
    keywords,
    mentions,
    names_of,
    negated,
    sentences,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "Candidates",
    "SliceWeights",
    "choose",
    "entities",
    "extract",
    "scores",
]

DEFAULT_WEIGHTS: Final = _ranking.DEFAULT_SLICE_WEIGHTS
# Every turn re-scores the same older messages: their words and entities are kept for this
# many distinct texts (a slice over ~1,000 older messages spent a third of its time on them).
TEXTS_KEPT: Final = 8192


@functools.lru_cache(maxsize=TEXTS_KEPT)
def _words_of(text: str) -> tuple[str, ...]:
    return tuple(_ranking.content_words(text))


@functools.lru_cache(maxsize=TEXTS_KEPT)
def _mentions_of(text: str) -> frozenset[str]:
    return frozenset(mentions(text))


@dataclass
class Candidates:
    """The older messages a budgeted slice chooses from (``seqs``, ``tokens``, ``texts``,
    unit vectors ``matrix``), the query vectors, the recent turns' entities (``recent``),
    each candidate's entity ``evidence`` (and ``named``: of the instruction's entities
    only), the instruction's own words (``said``), each candidate's word ``aligned``-ment
    to the instruction and its ``central``-ity among the candidates:
    everything but the weights, so tuning re-scores without reads."""

    seqs: list[int]
    tokens: list[int]
    texts: list[str]
    matrix: np.ndarray
    queries: dict[str, np.ndarray]
    recent: set[str]
    evidence: np.ndarray
    said: set[str]
    named: np.ndarray | None = None
    aligned: np.ndarray | None = None
    central: np.ndarray | None = None
    _overlap: np.ndarray | None = None
    _negation: np.ndarray | None = None

    @classmethod
    def build(
        cls,
        found: Sequence[tuple[int, int, str]],
        matrix: np.ndarray,
        queries: dict[str, np.ndarray],
        recent_texts: Sequence[str],
        instruction: str,
        task: str | None,
        word_vectors: Callable[[list[str]], np.ndarray] | None = None,
    ) -> Candidates:
        """``recent_texts``: the window's texts; the entities they and the ``instruction``
        name are evidence; so are the instruction's own words, less the ``task``'s (which
        every message of the run repeats). ``word_vectors`` (words to unit rows) aligns
        those words with each message's; without it the alignment is the whole message's
        cosine to the instruction (``queries["instruction"]``), if given."""
        texts = [t for _, _, t in found]
        said_texts = [*recent_texts, instruction]
        recent = entities(said_texts, names_of(said_texts) | _ranking.named_in(said_texts, texts))
        # What the agent is about to do names these: stronger evidence than a name the
        # recent turns mention in passing (constraints and names are in every message).
        asked = entities(
            [instruction], names_of([instruction]) | _ranking.named_in([instruction], texts)
        )
        mentioned: list[Set[str]] = (
            [_mentions_of(t) for t in texts] if recent else [frozenset()] * len(texts)
        )
        return cls(
            [s for s, _, _ in found],
            [n for _, n, _ in found],
            texts,
            matrix,
            queries,
            recent,
            evidence(mentioned, recent),
            keywords([instruction]) - keywords([task or ""]),
            evidence(mentioned, asked),
            aligned_to(instruction, task, texts, matrix, queries, word_vectors),
            _ranking.centrality(matrix) if matrix.size else np.zeros(len(texts)),
        )

    @property
    def overlap(self) -> np.ndarray:
        """Per candidate, 0..1: the rarity of the instruction's own words it holds."""
        if self._overlap is None:
            found = [keywords([t]) for t in self.texts] if self.said else [set()] * len(self.texts)
            self._overlap = evidence(found, self.said)
        return self._overlap

    @property
    def negation(self) -> np.ndarray:
        """Per candidate, 1 if it holds a negation (`_ranking.negated`), else 0."""
        if self._negation is None:
            self._negation = np.array([float(negated(t)) for t in self.texts])
        return self._negation

    def score(self, weights: SliceWeights) -> np.ndarray:
        keyword = self.overlap if weights.keyword else None
        negation = self.negation if weights.negation else None
        return scores(
            self.matrix,
            self.queries,
            self.evidence,
            weights,
            keyword,
            negation,
            self.named,
            self.aligned if weights.aligned else None,
            self.central if weights.hubness else None,
        )

    def choose(self, budget: int, weights: SliceWeights) -> list[int]:
        """Indexes of the candidates taken within ``budget`` tokens."""
        return choose(self.score(weights), self.tokens, budget, weights)


def scores(
    matrix: np.ndarray,
    queries: Mapping[str, np.ndarray | None],
    entity: np.ndarray,
    weights: SliceWeights,
    keyword: np.ndarray | None = None,
    negation: np.ndarray | None = None,
    named: np.ndarray | None = None,
    aligned: np.ndarray | None = None,
    central: np.ndarray | None = None,
) -> np.ndarray:
    """The fused score of each candidate (`_ranking.slice_scores`)."""
    found = {"entity": entity}
    if named is not None:
        found["named"] = named
    if aligned is not None:
        found["aligned"] = aligned
    if central is not None:
        found["central"] = central
    if keyword is not None:
        found["keyword"] = keyword
    if negation is not None:
        found["negation"] = negation
    return _ranking.slice_scores(matrix, queries, found, weights)


def aligned_to(
    instruction: str,
    task: str | None,
    texts: Sequence[str],
    matrix: np.ndarray,
    queries: Mapping[str, np.ndarray],
    word_vectors: Callable[[list[str]], np.ndarray] | None,
) -> np.ndarray:
    """Per text, the `_ranking.alignment` of the instruction's content words the task does
    not hold (the task's are in every message) with the text's content words; without
    ``word_vectors``, the text's cosine to the instruction (0 without one)."""
    if word_vectors is None:
        q = queries.get("instruction")
        if q is None or not matrix.size:
            return np.zeros(len(texts))
        return np.asarray(matrix @ q, dtype=np.float64)
    given = set(_ranking.content_words(task or ""))
    asked = [w for w in _ranking.content_words(instruction) if w not in given]
    if not asked:
        return np.zeros(len(texts))
    index: dict[str, int] = {w: i for i, w in enumerate(asked)}
    found = [[index.setdefault(w, len(index)) for w in _words_of(t)] for t in texts]
    vocabulary = word_vectors(list(index))
    return _ranking.indexed_alignment(vocabulary[: len(asked)], vocabulary, found)


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
