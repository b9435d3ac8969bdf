"""The one ranking core: dense cosine first, exact rare tokens as a bonus that can only help.

Every candidate's score is ``cosine + bonus``, and results are ordered by that score (ties by
id), so the order and the returned scores never disagree. The bonus comes only from the
query's *rare* tokens (few texts hold them), which are what an embedder blurs: ids, order
numbers, error codes, names. A query of common words gets no bonus at all, so its order is
exactly the cosine order.

For a candidate, ``bonus = code * matched_codes / codes + word * matched_words / words``:
tokens with a digit (``48213``, ``e4012``) are *codes*, other rare tokens *words*; ``codes``
sums the idf (``1 + ln(N / df)``) of the query's rare codes and ``matched_codes`` the idf of
those the candidate's text holds (words alike). A word is rare in at most ``word_share`` of
the texts (so in a store of under ``1 / word_share`` texts, none is); a code in at most
`MAX_DOCS`.

The weights below were chosen on the tune half of bench/data/store_tune.json by
``python bench/bench_retrieval.py --part store --tune`` (grid in bench/bench_retrieval.py,
best nDCG@10 under the constraint recall@10 >= 0.95 against exact cosine on paraphrase
queries); tests/test_retrieval_store.py checks that they still are what tuning picks.
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T", bound=Hashable)

MAX_DOCS = 500  # a code (token with a digit) is rare in at most this many texts
MAX_TOKENS = 32  # query tokens looked at
_TOKEN = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Weights:
    """The bonus of a text holding all the query's rare tokens, if all are codes (``code``)
    or all are words (``word``); the share of the store under which a word is rare."""

    code: float = 0.4
    word: float = 0.05
    word_share: float = 0.02


DEFAULT_WEIGHTS = Weights()


def tokens(text: str) -> list[str]:
    """The query's distinct lower-cased ``\\w+`` tokens, sorted, at most `MAX_TOKENS`."""
    return sorted({t.lower() for t in _TOKEN.findall(text)})[:MAX_TOKENS]


def is_code(token: str) -> bool:
    return any(c.isdigit() for c in token)


def rare_limit(token: str, texts: int, weights: Weights = DEFAULT_WEIGHTS) -> int:
    """The most texts ``token`` may be in and still count as rare, in a store of ``texts``."""
    if is_code(token):
        return MAX_DOCS
    # No floor: in a store of a few texts every word is in few of them, "on" and "the" too.
    return min(MAX_DOCS, int(texts * weights.word_share))


def bonuses(
    matches: Mapping[str, Iterable[T]],
    counts: Mapping[str, int],
    texts: int,
    weights: Weights = DEFAULT_WEIGHTS,
) -> dict[T, float]:
    """The bonus of each candidate holding a rare token.

    ``matches`` maps each rare query token to the candidates whose text holds it; ``counts``
    gives its document frequency among ``texts`` texts."""
    idf = {t: math.log(max(texts, 1) / max(counts.get(t, 1), 1)) + 1.0 for t in matches}
    # Codes and words are weighed apart: a query's stray rare word ("where", in a store
    # where few texts ask it) must not take its share from the order number next to it.
    total = {True: 0.0, False: 0.0}
    for token, value in idf.items():
        total[is_code(token)] += value
    out: dict[T, float] = {}
    for token, items in matches.items():
        code = is_code(token)
        share = (weights.code if code else weights.word) * idf[token] / total[code]
        if share <= 0:
            continue
        for item in set(items):
            out[item] = out.get(item, 0.0) + share
    return out


def rank(
    dense: Iterable[tuple[T, float]],
    bonus: Mapping[T, float],
    cosine_of: Mapping[T, float],
) -> list[tuple[T, float]]:
    """Candidates by ``cosine + bonus``, best first, with that score.

    ``dense`` is (candidate, cosine) pairs; ``cosine_of`` supplies the cosine of bonus
    candidates missing from ``dense``. Ties go to the smaller candidate id, so every page of
    a search comes from one total order."""
    scores = dict(dense)
    for item, extra in bonus.items():
        base = scores.get(item, cosine_of.get(item))
        if base is None:
            continue  # no vector: not a semantic candidate
        scores[item] = base + extra
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
