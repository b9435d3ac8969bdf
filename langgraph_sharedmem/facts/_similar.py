"""`EmbeddingMatcher`: the same fact asserted in near-identical words is one claim.

`FactLedger` merges an assertion into an existing claim when the canonical JSON is identical;
given ``matcher=EmbeddingMatcher()`` it also merges text that says the same thing in slightly
different words ("The order was shipped via UPS on Monday." / "Order shipped via UPS on
Monday"), so the claim gains a source instead of a duplicate claim opening a disagreement.
`SharedMemory.facts` uses it by default, with the store's embedder (offline WordLlama unless
configured otherwise).

Near-identical is deliberately narrow, because a wrong merge hides a real disagreement. The
rule and its weights are the ranking core's (`_ranking.same_fact`, `_ranking.MatchWeights`,
chosen for WordLlama on ``bench/data/facts_tune.json``):

* only text is compared: strings, or the canonical JSON of lists and objects; numbers,
  booleans and null merge only when identical;
* the texts never merge when they differ in a number or id (any word with a digit: "order
  42" vs "order 43") or in negation ("has shipped" / "has not shipped");
* every content word one text has and the other lacks needs a counterpart there: a word it
  abbreviates ("cust" / "customer") or one whose word cosine reaches ``added`` (0.5:
  "telephone" / "phone" 0.73, while "shipping" / "billing" scores 0.04 and "Tuesday" /
  "Thursday" 0.28); a word with none ("in Berlin" / "in Berlin, Germany") is more content;
* and the texts' cosine must reach ``threshold`` (0.5 by default: the word rule above does
  the telling apart; whole-text cosine of different facts sharing words is often above 0.9).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from langgraph_sharedmem import _ranking
from langgraph_sharedmem._ranking import content_diff, differ_in_substance
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts._model import Claim
from langgraph_sharedmem.store.embedding import embedded_ahead

__all__ = ["EmbeddingMatcher", "differ_in_substance", "text_of"]

DEFAULT_THRESHOLD = _ranking.DEFAULT_MATCH_WEIGHTS.threshold


def text_of(value: Any) -> str | None:
    """The text a value is compared by: a string itself, lists and objects as canonical
    JSON; None for numbers, booleans and null (those merge only when identical)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return None


def _normal(text: str) -> str:
    return " ".join(_ranking.words(text))


class EmbeddingMatcher:
    """``matcher(value, claims) -> Claim | None`` for `FactLedger`: the claim whose text is
    near-identical to ``value``'s (see the module docstring), the most similar if several.

    Args:
        embeddings: Any LangChain `Embeddings`; default the offline WordLlama model.
        threshold: Cosine similarity of the two texts from which they may be one claim,
            in (0, 1].

    Example:
        >>> match = EmbeddingMatcher()
        >>> match.same("The order was shipped via UPS.", "Order shipped via UPS")
        True
        >>> match.same("order 42 shipped", "order 43 shipped")
        False
    """

    MAX_CACHED = 4096

    def __init__(
        self, embeddings: Embeddings | None = None, *, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        if (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not math.isfinite(threshold)
            or not 0 < threshold <= 1
        ):
            raise InvalidConfigError(
                f"threshold must be a cosine similarity in (0, 1], got {threshold!r}"
            )
        if embeddings is not None and not isinstance(embeddings, Embeddings):
            raise InvalidConfigError(
                f"embeddings must be a LangChain Embeddings, got {type(embeddings).__name__}"
            )
        # The whole rule (`_ranking.MatchWeights`); the bench swaps it when tuning.
        self.weights = dataclasses.replace(
            _ranking.DEFAULT_MATCH_WEIGHTS, threshold=float(threshold)
        )
        self._embeddings = embeddings
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def threshold(self) -> float:
        """The cosine from which two texts may be one claim."""
        return self.weights.threshold

    @property
    def embeddings(self) -> Embeddings:
        if self._embeddings is None:
            from langgraph_sharedmem.store.embedding import WordLlamaEmbeddings

            self._embeddings = WordLlamaEmbeddings()
        return self._embeddings

    @property
    def embeds_locally(self) -> bool:
        """Whether the embedder is the offline WordLlama one (microseconds a text)."""
        from langgraph_sharedmem.store.embedding import WordLlamaEmbeddings

        return isinstance(self.embeddings, WordLlamaEmbeddings)

    def __call__(self, value: Any, claims: Sequence[Claim]) -> Claim | None:
        text = text_of(value)
        if text is None:
            return None
        candidates = [(c, t) for c in claims if (t := text_of(c.value)) is not None]
        if not candidates:
            return None
        normal = _normal(text)
        for claim, other in candidates:
            if _normal(other) == normal and not differ_in_substance(text, other):
                return claim  # the same words, up to case, spacing and punctuation
        vectors = self._embed([text, *(t for _, t in candidates)])
        sims = vectors[1:] @ vectors[0]
        for i in np.argsort(-sims).tolist():
            if sims[i] < self.weights.threshold:
                break
            claim, other = candidates[i]
            if _ranking.same_fact(
                text,
                other,
                float(sims[i]),
                functools.partial(self._counterparts, text, other),
                self.weights,
            ):
                return claim
        return None

    def texts_to_embed(self, value: Any, claims: Sequence[Claim]) -> list[str]:
        """Every text a call with ``value`` and ``claims`` may embed: the texts and the
        content words each pair does not share (so an async caller can embed them ahead)."""
        text = text_of(value)
        if text is None:
            return []
        others = [t for c in claims if (t := text_of(c.value)) is not None]
        out = [text, *others]
        for other in others:
            only_text, only_other = content_diff(text, other)
            out += only_text + only_other
            if self.weights.added <= 1.0:
                out += _ranking.content_words(text) + _ranking.content_words(other)
        return out

    def same(self, a: str, b: str) -> bool:
        """Whether texts ``a`` and ``b`` count as one claim."""
        probe = Claim(0, b, "verified", "", 1.0, (), 0, 0, "", "")
        return self(a, [probe]) is not None

    def _counterparts(self, a: str, b: str) -> bool:
        """Every content word one text has and the other lacks has a counterpart there
        (`_ranking.has_counterparts`): else more or less is asserted."""
        only_a, only_b = content_diff(a, b)
        if not only_a and not only_b:
            return True
        w = self.weights
        # Without `added`, a word is only ever paired with the other text's differing words.
        known_a = _ranking.content_words(a) if w.added <= 1.0 else []
        known_b = _ranking.content_words(b) if w.added <= 1.0 else []
        vectors = dict(
            zip(
                uniq := list(dict.fromkeys(only_a + only_b + known_a + known_b)),
                self._embed(uniq) if uniq else [],
                strict=True,
            )
        )

        def best(mine: list[str], theirs: list[str]) -> np.ndarray:
            if not mine or not theirs:
                return np.full(len(mine), -1.0)
            m = np.stack([vectors[x] for x in mine])
            t = np.stack([vectors[x] for x in theirs])
            return np.asarray((m @ t.T).max(axis=1))

        return _ranking.has_counterparts(
            only_a, b, best(only_a, only_b), best(only_a, known_b), w
        ) and _ranking.has_counterparts(only_b, a, best(only_b, only_a), best(only_b, known_a), w)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Normalized vectors, each text embedded once per matcher (an LRU of recent ones)."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for t in texts:
                vector = self._vectors.get(t)
                if vector is not None:
                    self._vectors.move_to_end(t)
                    found[t] = vector
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            ahead = embedded_ahead(self.embeddings, missing)  # by `FactLedger.aassert_fact`
            raw = np.asarray(
                self.embeddings.embed_documents(missing) if ahead is None else ahead,
                dtype=np.float32,
            )
            if raw.ndim != 2 or raw.shape[0] != len(missing) or not np.isfinite(raw).all():
                raise InvalidConfigError(
                    f"the embedder returned an array of shape {raw.shape} (or NaN) for "
                    f"{len(missing)} texts"
                )
            norms = np.linalg.norm(raw, axis=1, keepdims=True)
            norms[norms == 0] = 1.0
            fresh = dict(zip(missing, raw / norms, strict=True))
            found.update(fresh)
            with self._lock:
                self._vectors.update(fresh)
                while len(self._vectors) > self.MAX_CACHED:
                    self._vectors.popitem(last=False)
        return np.stack([found[t] for t in texts])
