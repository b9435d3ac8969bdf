"""`EmbeddingMatcher`: the same fact asserted in near-identical words is one claim.

`FactLedger` merges an assertion into an existing claim when the canonical JSON is identical;
given ``matcher=EmbeddingMatcher()`` it also merges text that says the same thing in slightly
different words ("The order was shipped via UPS on Monday." / "Order shipped via UPS on
Monday"), so the claim gains a source instead of a duplicate claim opening a disagreement.
`SharedMemory.facts` uses it by default, with the store's embedder (offline WordLlama unless
configured otherwise).

Near-identical is deliberately narrow, because a wrong merge hides a real disagreement:

* only text is compared: strings, or the canonical JSON of lists and objects; numbers,
  booleans and null merge only when identical;
* the cosine of the two texts' embeddings must reach ``threshold`` (0.92: on WordLlama,
  paraphrases with the same content words score 0.93-0.98, while "shipped" vs "processing"
  scores 0.61 and "on Tuesday" vs "on Thursday" 0.82);
* and even then the texts stay distinct when they differ in a number or id (any word with a
  digit: "order 42" vs "order 43" scores 0.93), in negation ("has shipped" / "has not
  shipped" scores 0.95), or in a content word that has no close counterpart (word cosine
  below 0.7) in the other text: only function words ("the", "was", "a"), spelling variants
  ("colour"/"color", 0.87) and inflections may differ.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts._model import Claim
from langgraph_sharedmem.store.embedding import embedded_ahead

__all__ = ["EmbeddingMatcher", "differ_in_substance", "text_of"]

DEFAULT_THRESHOLD = 0.92
WORD_THRESHOLD = 0.7  # two differing words count as the same word above this cosine
_WORD = re.compile(r"\w+", re.UNICODE)
_NEGATIONS = frozenset(
    {"not", "no", "never", "none", "nothing", "nobody", "nowhere", "cannot", "without", "nor"}
)
_CONTRACTED_NOT = re.compile(r"n['’]t\b", re.IGNORECASE)
# Words whose presence or absence does not change what a short statement asserts.
_FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "by",
        "via",
        "with",
        "from",
        "as",
        "and",
        "or",
        "but",
        "so",
        "it",
        "its",
        "it's",
        "s",
        "t",
        "user",
        "customer",
        "client",
        "he",
        "she",
        "they",
        "we",
        "i",
        "you",
        "his",
        "her",
        "their",
        "our",
        "your",
        "my",
        "currently",
        "now",
        "still",
        "already",
        "also",
        "just",
        "very",
        "really",
    ]
)


def text_of(value: Any) -> str | None:
    """The text a value is compared by: a string itself, lists and objects as canonical
    JSON; None for numbers, booleans and null (those merge only when identical)."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return None


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _normal(text: str) -> str:
    return " ".join(_words(text))


def differ_in_substance(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ in a number or id, or in negation: what no
    similarity score may overrule."""
    wa, wb = _words(a), _words(b)
    ids_a = Counter(w for w in wa if any(c.isdigit() for c in w))
    ids_b = Counter(w for w in wb if any(c.isdigit() for c in w))
    if ids_a != ids_b:
        return True
    neg_a = bool(_NEGATIONS.intersection(wa)) or bool(_CONTRACTED_NOT.search(a))
    neg_b = bool(_NEGATIONS.intersection(wb)) or bool(_CONTRACTED_NOT.search(b))
    return neg_a != neg_b


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
        self.threshold = float(threshold)
        self._embeddings = embeddings
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

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
            if sims[i] < self.threshold:
                break
            claim, other = candidates[i]
            if not differ_in_substance(text, other) and self._same_words(text, other):
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
            only_text, only_other = _content_diff(text, other)
            out += only_text + only_other
        return out

    def same(self, a: str, b: str) -> bool:
        """Whether texts ``a`` and ``b`` count as one claim."""
        probe = Claim(0, b, "verified", "", 1.0, (), 0, 0, "", "")
        return self(a, [probe]) is not None

    def _same_words(self, a: str, b: str) -> bool:
        """Every content word of one text not in the other has a close word there."""
        only_a, only_b = _content_diff(a, b)
        if not only_a and not only_b:
            return True
        if not only_a or not only_b:
            return False  # content added or dropped: more or less is asserted
        va, vb = self._embed(only_a), self._embed(only_b)
        sims = va @ vb.T
        return bool((sims.max(axis=1) >= WORD_THRESHOLD).all()) and bool(
            (sims.max(axis=0) >= WORD_THRESHOLD).all()
        )

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


def _content_diff(a: str, b: str) -> tuple[list[str], list[str]]:
    """The content words of ``a`` not in ``b``, and of ``b`` not in ``a``, sorted."""
    wa, wb = set(_words(a)), set(_words(b))
    return (
        sorted(w for w in wa - wb if w not in _FUNCTION_WORDS),
        sorted(w for w in wb - wa if w not in _FUNCTION_WORDS),
    )
