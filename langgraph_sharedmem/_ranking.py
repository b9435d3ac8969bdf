"""The one ranking core: how store search, routing, conversation slices and the fact matcher
decide which texts matter. Pure functions, no I/O.

Every part has the same shape: **dense cosine is the base** (the embedder's meaning), and
**keyword evidence** - the query's rare exact tokens (ids, order numbers, error codes, names),
content words, and the words' own vectors - is fused in by a weighted sum whose weights were
chosen on a labelled set (``bench/data``), never by hand. Each part returns the score its order
was made by, so order and score never disagree.

* Tokens (`words`, `tokens`, `content_words`, `stem`, `STOP_WORDS`): lower-cased runs of
  letters and digits (as FTS5's ``unicode61`` cuts them), one stop-word list.
* Rare-token evidence (`idf`, `rarity`, `bonuses`, `evidence`, `keyword_score`) and entities
  (`entities`, `mentions`, `sentences`): names, numbers and codes, weighted by how few texts
  hold them.
* Dense evidence (`alignment`, `indexed_alignment`, `centrality`): how close a query's words
  are to a text's words, and how generic a text is.
* Fusion (`rank`, `fuse`, `route_score`, `same_fact`) and the weights (`Weights`,
  `RouteWeights`, `SliceWeights`, `MatchWeights`), each with the labelled set and command it
  was tuned by; ``tests/test_retrieval_*.py`` check that the defaults are what tuning picks.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from typing import Final, TypeVar

import numpy as np

T = TypeVar("T", bound=Hashable)

# -- tokens and stop words -------------------------------------------------------------------

_TOKEN: Final = re.compile(r"[^\W_]+")  # letters and digits: FTS5 unicode61's token characters
MAX_TOKENS: Final = 32  # query tokens looked at by store search
_SUFFIXES: Final = ("ing", "ed", "es", "s")
_LETTER_HYPHEN: Final = re.compile(r"\b([^\W\d_])-([^\W\d_]{2,})")

# Words that say nothing about what a text is about: function words, and the filler of
# requests and statements ("please", "need", "help", "currently", "user"). One list for every
# part; a word here is never keyword evidence (it may still be in a text's embedding).
STOP_WORDS: Final = frozenset(
    """a am an and are as at be been being but by can could did do does for from had has have
    he her him his how i if in into is it its just me my now of on or our she should so still
    such than that the their them then there these they this those too us very via was we were
    what when where which while who whom why will with would you your
    also already please really currently current
    agent agents help question questions answer answers need needs want
    user customer client""".split()  # noqa: SIM905 (a word list reads better as words)
)
# Not stop words, though short and common: negations ("not", "never"), quantities ("all",
# "one", "more"), order and direction ("before", "after", "off", "over"): "on" / "off" or
# "before noon" / "after noon" are different facts.
# Negation: kept out of STOP_WORDS' role of "says nothing" by `negated` (a fact and its
# negation share every other word).
NEGATIONS: Final = frozenset(
    {"not", "no", "never", "none", "nothing", "nobody", "nowhere", "cannot", "without", "nor"}
)
_CONTRACTED_NOT: Final = re.compile(r"n['’]t\b", re.IGNORECASE)
_NUMBER_NO: Final = re.compile(r"\bno\.\s*(?=\d)", re.IGNORECASE)


def words(text: str) -> list[str]:
    """The lower-cased tokens of ``text``, in order, repeats kept."""
    return _TOKEN.findall(text.lower())


def tokens(text: str) -> list[str]:
    """The query's distinct tokens, sorted, at most `MAX_TOKENS` (store search)."""
    return sorted(set(words(text)))[:MAX_TOKENS]


def stem(word: str) -> str:
    """A light suffix strip ("billing", "bills", "billed" -> "bill"), no stemmer dependency."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> list[str]:
    """The stemmed tokens of ``text``, stop words kept (a capability may be any word)."""
    return [stem(w) for w in words(text)]


def is_code(token: str) -> bool:
    """A token with a digit: an id, order number, error code or quantity."""
    return any(c.isdigit() for c in token)


def content_words(text: str) -> list[str]:
    """The distinct tokens of ``text`` that are not stop words nor single letters, unstemmed
    (they are embedded), in order of appearance; a letter hyphened to a word is one word with
    it ("e-mail" is "email", as often written); "no." before a number is left out."""
    found = words(_LETTER_HYPHEN.sub(r"\1\2", _NUMBER_NO.sub(" ", text)))
    return list(
        dict.fromkeys(w for w in found if w not in STOP_WORDS and (len(w) > 1 or is_code(w)))
    )


def keywords(texts: Iterable[str]) -> set[str]:
    """The stemmed content words of ``texts``."""
    return {stem(w) for text in texts for w in content_words(text)}


def codes(text: str) -> Counter[str]:
    """The tokens with a digit, counted: what no similarity may overrule."""
    return Counter(w for w in words(text) if is_code(w))


def negated(text: str) -> bool:
    """Whether ``text`` holds a negation ("not", "never", "hasn't"; "no." before a number is
    the abbreviation of "number")."""
    text = _NUMBER_NO.sub(" ", text)
    return bool(NEGATIONS.intersection(words(text))) or bool(_CONTRACTED_NOT.search(text))


# -- rare-token evidence ---------------------------------------------------------------------


def idf(df: int, n: int) -> float:
    """Inverse document frequency of a token in ``df`` of ``n`` texts: > 0 even when every
    text holds it, largest for a token no text holds."""
    return math.log((n + 1) / (max(df, 0) + 0.5))


def rarity(df: int, n: int) -> float:
    """`idf` scaled so a token only one text holds counts 1 (0..1)."""
    return min(1.0, idf(df, n) / idf(1, n)) if n else 0.0


def keyword_score(query: str, text: str) -> float:
    """The share of the query's content words (stemmed) that ``text`` holds (0..1)."""
    wanted = keywords([query])
    if not wanted:
        return 0.0
    return len(wanted & keywords([text])) / len(wanted)


def evidence(candidates: Sequence[Set[str]], wanted: Set[str]) -> np.ndarray:
    """Per candidate, 0..1: the summed `rarity` among the candidates of the ``wanted``
    tokens it holds, capped at 1 (an entity every candidate names tells nothing)."""
    n = len(candidates)
    if not n or not wanted:
        return np.zeros(n)
    df = Counter(e for found in candidates for e in found & wanted)
    out = np.zeros(n)
    for i, found in enumerate(candidates):
        out[i] = min(1.0, sum(rarity(df[e], n) for e in found & wanted))
    return out


# -- entities: names, numbers and codes ------------------------------------------------------

# A number (1,200 / 17:40 / 2.1) or a code (KX-2291): evidence wherever it appears.
_NUMBER: Final = re.compile(r"\b[A-Za-z]{0,4}-?\d[\d,.:]*\d\b|\b\d\b")
_NAME_WORD: Final = re.compile(r"[A-Za-zÀ-ÿ][\w'’-]*")
_CAPITALISED: Final = re.compile(r"(?<![\w'’-])[A-ZÀ-Þ][\w'’-]+")
_SENTENCE: Final = re.compile(r"(?<=[.!?;])\s+(?=\S)|\n+")
_ABBREVIATIONS: Final = ("Dr.", "Mr.", "Mrs.", "Ms.", "St.", "Prof.")


def _protect(text: str) -> str:
    for abbr in _ABBREVIATIONS:
        text = text.replace(abbr + " ", abbr[:-1] + "\x00 ")
    return text


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences (a title like "Dr." does not end one)."""
    protected = _protect(text)
    return [s.replace("\x00", ".").strip() for s in _SENTENCE.split(protected) if s.strip()]


def _bare(word: str) -> str:
    """``word`` without a possessive ("Okafor's" -> "Okafor")."""
    for suffix in ("'s", "’s", "'", "’"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _key(word: str) -> str:
    return _bare(word.lower())


def mentions(text: str) -> set[str]:
    """The numbers, codes and capitalised words of ``text``, as `entities` keys: a
    capitalised word counts wherever it is, so only match it against known entities."""
    found = {n.replace(",", "").lower() for n in _NUMBER.findall(text)}
    found.update(_key(w) for w in _CAPITALISED.findall(text))
    return found


def entities(texts: Iterable[str], names: set[str] | None = None) -> set[str]:
    """The names, numbers and codes in ``texts``, lowercased. A capitalised word is a name if
    it is in ``names`` or it is capitalised somewhere other than the start of a sentence
    (so "The" or "Reviewed" opening a sentence is not one)."""
    found: set[str] = set()
    for text in texts:
        for sentence in sentences(text):
            found.update(n.replace(",", "").lower() for n in _NUMBER.findall(sentence))
            for i, word in enumerate(_NAME_WORD.findall(sentence)):
                if len(word) > 1 and word[0].isupper():
                    key = _key(word)
                    if i > 0 or (names is not None and key in names):
                        found.add(key)
    return found


def names_of(texts: Sequence[str]) -> set[str]:
    """The capitalised words some sentence of ``texts`` has after its first word."""
    found: set[str] = set()
    for text in texts:
        for sentence in sentences(text):
            for word in _NAME_WORD.findall(sentence)[1:]:
                if len(word) > 1 and word[0].isupper():
                    found.add(_key(word))
    return found


def named_in(said: Sequence[str], texts: Sequence[str]) -> set[str]:
    """The capitalised words opening a sentence of ``said`` that some sentence of ``texts``
    has after its first word (so they are names, not just a sentence's first word)."""
    openers = {
        found[0]
        for text in said
        for sentence in sentences(text)
        if (found := _NAME_WORD.findall(sentence)) and len(found[0]) > 1 and found[0][0].isupper()
    }
    if not openers:
        return set()
    joined = _protect("\n".join(texts))
    out = set()
    for word in openers:
        bare = re.escape(_bare(word))
        if re.search(r"[^.!?;\s][^\S\n]+" + bare + r"(?:'s|’s|'|’)?(?![\w'’-])", joined):
            out.add(_key(word))
    return out


# -- dense evidence --------------------------------------------------------------------------


def alignment(
    query_vectors: np.ndarray,
    query_weights: np.ndarray,
    text_vectors: Sequence[np.ndarray],
    discount: np.ndarray | None = None,
) -> np.ndarray:
    """Per text: the ``query_weights``-weighted mean, over the query's words, of each word's
    best cosine to one of the text's words (rows unit length). Paraphrases meet here ("erase"
    and "deleting", "money back" and "refunds") without sharing a lemma, which a whole-text
    cosine dilutes. ``discount`` (per query word, default 1) scales a word's vote but not
    its share of the mean: a word of a negated clause (`clause_words`) counts less."""
    out = np.zeros(len(text_vectors), dtype=np.float32)
    total = float(query_weights.sum())
    if not len(query_vectors) or total <= 0:
        return out
    votes = query_weights if discount is None else query_weights * discount
    for i, words_of_text in enumerate(text_vectors):
        if len(words_of_text):
            best = (query_vectors @ words_of_text.T).max(axis=1)
            out[i] = float(best @ votes) / total
    return out


def indexed_alignment(
    query_vectors: np.ndarray, vocabulary: np.ndarray, texts: Sequence[Sequence[int]]
) -> np.ndarray:
    """`alignment` with every query word counting alike, for many texts at once: ``texts``
    are lists of row indexes into ``vocabulary`` (unit rows); a text without words gets 0.
    One product over the vocabulary and one segmented max, not a product per text."""
    out = np.zeros(len(texts), dtype=np.float64)
    sizes = np.array([len(t) for t in texts], dtype=np.intp)
    if not len(query_vectors) or not sizes.any():
        return out
    flat = np.fromiter((i for t in texts for i in t), dtype=np.intp, count=int(sizes.sum()))
    near = (query_vectors @ vocabulary.T)[:, flat]  # (query words, all texts' words)
    full = sizes > 0
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))[full]
    best = np.maximum.reduceat(near, starts, axis=1)  # (query words, texts with words)
    out[full] = best.mean(axis=0)
    return out


# A clause ends at punctuation or at "but": "I don't want a voucher, I want the money back"
# is two clauses, and only the first is negated.
_CLAUSE: Final = re.compile(r"[,.;:!?]*\s+but\s+|[,.;:!?]+(?:\s+|$)", re.IGNORECASE)


def clauses(text: str) -> list[str]:
    """``text`` cut into clauses (at punctuation followed by a space, and at "but"); a
    decimal point or an id such as "A-1.2" does not cut."""
    return [c for c in _CLAUSE.split(text) if c.strip()]


def clause_words(text: str, negated_weight: float) -> tuple[list[str], list[float]]:
    """The `content_words` of ``text`` (negation words left out: they say what is not
    wanted, not what is), each with ``negated_weight`` if every clause it occurs in is
    `negated` and some other clause is not, else 1. "I don't want a voucher, I want the
    money back": "voucher" says what the task is not about, and so counts less than
    "money"; in "my headphones will not charge" every word is what the task is about."""
    weight: dict[str, float] = {}
    for clause in clauses(text):
        w = negated_weight if negated(clause) else 1.0
        for word in content_words(clause):
            if word not in NEGATIONS:
                weight[word] = max(w, weight.get(word, w))
    if weight and max(weight.values()) < 1.0:
        weight = dict.fromkeys(weight, 1.0)
    return list(weight), list(weight.values())


def centrality(vectors: np.ndarray) -> np.ndarray:
    """Each row's mean cosine to the other rows (rows unit length): O(n), through their sum.
    A generic text is near every query and would otherwise win those meant for a specialist."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    dots = vectors @ vectors.sum(axis=0)
    return (dots - np.einsum("ij,ij->i", vectors, vectors)) / (n - 1)


# -- fusion: store search --------------------------------------------------------------------

MAX_DOCS: Final = 500  # a code (token with a digit) is rare in at most this many texts


@dataclass(frozen=True)
class Weights:
    """Store search: the bonus, added to the cosine, of a text holding all the query's rare
    tokens if all are codes (``code``) or all are words (``word``); the share of the store
    under which a word is rare (``word_share``; a code is rare in at most `MAX_DOCS` texts).

    For a candidate, ``bonus = code * matched_codes / codes + word * matched_words / words``,
    ``codes`` summing the `idf` of the query's rare codes and ``matched_codes`` that of those
    the candidate holds (words alike). A query of common words gets no bonus: its order is
    exactly the cosine order."""

    code: float = 0.4
    word: float = 0.05
    word_share: float = 0.02


DEFAULT_WEIGHTS: Final = Weights(code=0.4, word=0.05, word_share=0.02)
"""Tuned on ``bench/data/store_tune.json`` by ``bench/bench_retrieval.py --part store --tune``
(best nDCG@10 keeping recall@10 >= 0.95 against exact cosine on paraphrase queries);
checked by ``tests/test_retrieval_store.py``."""


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
    weight = {t: idf(counts.get(t, 1), texts) for t in matches}
    # Codes and words are weighed apart: a query's stray rare word ("where", in a store
    # where few texts ask it) must not take its share from the order number next to it.
    total = {True: 0.0, False: 0.0}
    for token, value in weight.items():
        total[is_code(token)] += value
    out: dict[T, float] = {}
    for token, items in matches.items():
        code = is_code(token)
        share = (weights.code if code else weights.word) * weight[token] / total[code]
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


# -- fusion: a weighted sum of named parts ---------------------------------------------------


def fuse(parts: Mapping[str, np.ndarray | float], weights: object) -> np.ndarray:
    """``sum(weights.<name> * parts[name])`` over the parts whose weight is not 0."""
    out: np.ndarray | float = 0.0
    for name, value in parts.items():
        w = float(getattr(weights, name))
        if w:
            out = out + w * np.asarray(value, dtype=np.float64)
    return np.asarray(out, dtype=np.float64)


# -- fusion: routing -------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteWeights:
    """How much each part of a route's score counts (`route_score`). Not normalised: scaling
    all of them changes no order, only the numbers ``min_score`` is compared with.

    * ``semantic`` - cosine of the task and the agent's description (its whole text when
      it has none);
    * ``alignment`` - how close the task's words are to the description's words
      (`alignment`, each task word weighted by its `idf` over the agents' texts, and by
      `NEGATED_WEIGHT` when only a negated clause holds it: `clause_words`);
    * ``hubness`` - subtracted times the agent's `centrality` among the agents' texts;
    * ``capability`` - the share of the capabilities the task names that the agent has: a
      lemma match is evidence, worth this much cosine, never a verdict;
    * ``trust`` - the agent's registered trust;
    * ``outcome`` - the agent's `outcome_evidence`: how the nearest past tasks it handled
      went (`Registry.record_outcome`). Not part of `route_scale`, so with no outcomes
      recorded every score is what it would be without this part.
    """

    semantic: float = 1.0
    alignment: float = 0.0
    hubness: float = 0.0
    capability: float = 0.0
    trust: float = 0.0
    outcome: float = 0.0


# The outcome part's weight, how many past tasks it looks at and how similar one must be to
# vote: picked together by the cross-fitting in ``bench/bench_retrieval.py``
# (`DEFAULT_ROUTE_WEIGHTS`).
OUTCOME_WEIGHT: Final = 2.0
NEIGHBORS: Final = 8
OUTCOME_FLOOR: Final = 0.4
# How much a task word counts in the alignment when it only occurs in negated clauses
# (`clause_words`): picked with `DEFAULT_ROUTE_WEIGHTS` on the tune half.
NEGATED_WEIGHT: Final = 0.25


DEFAULT_ROUTE_WEIGHTS: Final = RouteWeights(
    semantic=1.0, alignment=2.0, hubness=0.5, capability=0.02, trust=0.0, outcome=OUTCOME_WEIGHT
)
"""Tuned on ``bench/data/routing_tune.json`` by ``bench/bench_retrieval.py --part routing
--tune`` (grid and tie rules there; results in docs/registry.md, "Routing"): first every
weight but ``outcome`` with no history, together with `NEGATED_WEIGHT`, then ``outcome``,
`NEIGHBORS` and `OUTCOME_FLOOR` by two cross-fits of the tune half (one fold the history,
the other scored, and back): the best on repeats (folds within intents) that keeps new
kinds of task (folds by intent) at least at the accuracy with no history; checked by
``tests/test_retrieval_routing.py``."""


def outcome_evidence(
    similarity: np.ndarray,
    owner: np.ndarray,
    ok: np.ndarray,
    candidates: int,
    neighbors: int = NEIGHBORS,
    floor: float = OUTCOME_FLOOR,
) -> np.ndarray:
    """Per candidate, in [-1, 1]: the vote of the ``neighbors`` past tasks nearest the new
    one among those whose similarity reaches ``floor``, each counting its similarity
    (clipped to >= 0) for the candidate that handled it, positive if it went well (``ok``),
    negative if not, the sum divided by ``neighbors``. A far history counts little or not at
    all (a task of a kind never seen is routed by the profiles alone), and with no past task
    every candidate gets 0.

    ``similarity[j]``: the new task's similarity to past task ``j``; ``owner[j]``: the index
    (0..candidates-1) of the candidate that handled it; ``ok[j]``: whether it went well."""
    out = np.zeros(candidates, dtype=np.float64)
    if not len(similarity) or neighbors < 1:
        return out
    near = np.argsort(-similarity, kind="stable")[:neighbors]
    near = near[similarity[near] >= floor]
    vote = np.clip(similarity[near], 0.0, 1.0) * np.where(ok[near], 1.0, -1.0)
    np.add.at(out, owner[near], vote)
    return out / neighbors


# Route scores equal to this many decimals are a tie: a difference below 0.01 is below what
# the default embedder tells apart (the cosine of one text to two near-identical descriptions
# differs by about as much), so track record and trust settle it, not embedding noise.
DIGITS: Final = 2


def route_scale(weights: RouteWeights) -> float:
    """What `route_score` divides by: the sum of the weights that add, or 1 when they are
    negligible (only hubness counts: dividing by ~0 would blow the scores up)."""
    added = weights.semantic + weights.alignment + weights.capability + weights.trust
    return added if added > 1e-6 * max(1.0, weights.hubness, weights.outcome) else 1.0


def route_score(
    weights: RouteWeights,
    similarity: float,
    aligned: float,
    central: float,
    capability: float,
    trust: float,
    outcome: float = 0.0,
) -> float:
    """The score a route is ordered by: the weighted sum, divided by `route_scale` (so a
    perfect match with a distinctive description and no history scores 1), rounded to
    `DIGITS` decimals."""
    parts = {
        "semantic": similarity,
        "alignment": aligned,
        "hubness": -central,
        "capability": capability,
        "trust": trust,
        "outcome": outcome,
    }
    return round(float(fuse(parts, weights)) / route_scale(weights), DIGITS)


# -- fusion: conversation slices -------------------------------------------------------------


@dataclass(frozen=True)
class SliceWeights:
    """How an older message's value is scored for a budgeted slice: the weighted cosines to
    the ``instruction``, the ``task`` and the ``role``, plus ``entity`` times its entity
    `evidence` and ``keyword`` times that of the instruction's own words (both 0..1); the
    value is that score above the candidates' median, divided by the message's tokens
    raised to ``per_token`` (1: value per token; 0: value alone). A message whose score is
    not above the median by more than ``floor`` is never taken. A negative ``task`` weight
    counts restating the task against a message (the agent is given the task anyway).
    ``named`` times the entity `evidence` of only what the instruction itself names (the
    names, numbers and codes of what the agent is about to do; ``entity`` counts those of
    the recent turns too). ``negation`` is added when the message holds a negation
    (`negated`); it is not tuned and stays 0 by default: in transcripts where constraints
    are said everywhere, stating one is style, not relevance.

    ``aligned`` times the word `alignment` of the instruction to the message (each of the
    instruction's content words that the task does not hold, its best cosine to one of the
    message's words, averaged): a link by meaning ("rollout countries" / "Germany") that a
    whole-message cosine dilutes among the other words. ``hubness`` is subtracted times the
    message's `centrality` among the candidates: a message like every other one (a status
    update on the task) says what the rest say too."""

    instruction: float = 1.0
    task: float = 0.0
    role: float = 0.0
    entity: float = 0.0
    keyword: float = 0.0
    per_token: float = 1.0
    floor: float = 0.0
    negation: float = 0.0
    named: float = 0.0
    aligned: float = 0.0
    hubness: float = 0.0


DEFAULT_SLICE_WEIGHTS: Final = SliceWeights(
    instruction=0.0,
    task=-0.25,
    role=0.25,
    entity=0.0,
    keyword=0.0,
    per_token=0.0,
    named=0.25,
    aligned=1.0,
    hubness=1.0,
)
"""Tuned on ``bench/data/slices_tune.json`` by ``bench/bench_retrieval.py --part slices
--tune`` (grid in bench/_slices.py: every weight but ``entity`` and ``negation`` first, then
``entity`` with the others fixed; ``negation`` is not searched); checked by
``tests/test_retrieval_slices.py``."""


def slice_scores(
    matrix: np.ndarray,
    queries: Mapping[str, np.ndarray | None],
    evidence_of: Mapping[str, np.ndarray],
    weights: SliceWeights,
) -> np.ndarray:
    """The fused score of each candidate (rows of ``matrix``, unit vectors): the weighted
    cosines to the ``instruction``, ``task`` and ``role`` vectors given, plus the weighted
    ``entity``, ``keyword``, ``negation`` and ``aligned`` evidence, less ``hubness`` times
    ``evidence_of["central"]`` (each candidate's `centrality`)."""
    parts: dict[str, np.ndarray | float] = {
        ("hubness" if k == "central" else k): (-v if k == "central" else v)
        for k, v in evidence_of.items()
    }
    for name, q in queries.items():
        if q is not None and len(matrix):
            parts[name] = matrix @ q
    out = fuse(parts, weights)
    return out if out.shape == (len(matrix),) else np.full(len(matrix), float(out))


# -- fusion: the fact matcher ----------------------------------------------------------------


@dataclass(frozen=True)
class MatchWeights:
    """When two texts state one fact (`same_fact`): no `differ_in_substance`, their cosine
    reaches ``threshold``, and every content word one has and the other lacks has a
    counterpart there: a word it abbreviates or that abbreviates it ("cust" / "customer"), a
    differing word of the other text whose cosine reaches ``word``, or any content word of
    the other text whose cosine reaches ``added`` (inf: a word with no differing word to
    pair with is more content, "in Berlin" / "in Berlin, Germany")."""

    threshold: float = 0.92
    word: float = 0.7
    added: float = math.inf


DEFAULT_MATCH_WEIGHTS: Final = MatchWeights(threshold=0.5, word=0.8, added=0.5)
"""Tuned on ``bench/data/facts_tune.json`` by ``bench/bench_retrieval.py --part facts
--tune`` (best F1 of "same fact"); checked by ``tests/test_retrieval_facts.py``."""


def differ_in_substance(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ in a number or id, or in negation: what no
    similarity score may overrule."""
    return codes(a) != codes(b) or negated(a) != negated(b)


def content_diff(a: str, b: str) -> tuple[list[str], list[str]]:
    """The content words of ``a`` not in ``b``, and of ``b`` not in ``a``, sorted."""
    wa, wb = set(content_words(a)), set(content_words(b))
    return sorted(wa - wb), sorted(wb - wa)


def abbreviates(short: str, long: str) -> bool:
    """Whether ``short`` abbreviates ``long``: its letters, in order, from ``long``'s first
    ("cust", "acct", "tkt" / "ticket"); two letters must also end alike ("st" / "street")."""
    if not 2 <= len(short) < len(long) or short[0] != long[0] or is_code(short + long):
        return False
    if len(short) == 2 and short[-1] != long[-1]:
        return False
    rest = iter(long[1:])
    return all(c in rest for c in short[1:])


def has_counterparts(
    only: Sequence[str],
    other: str,
    near_differing: np.ndarray,
    near_any: np.ndarray,
    weights: MatchWeights,
) -> bool:
    """Whether each of ``only`` (a text's content words the ``other`` text lacks) has a
    counterpart there (see `MatchWeights`). ``near_differing[i]``: the best cosine of
    ``only[i]`` to the other's differing content words (-1 if none); ``near_any[i]``: to
    any of its content words."""
    others = words(other)
    for i, word in enumerate(only):
        if near_differing[i] >= weights.word or near_any[i] >= weights.added:
            continue
        if not any(abbreviates(word, o) or abbreviates(o, word) for o in others):
            return False
    return True


def same_fact(
    a: str,
    b: str,
    cosine: float,
    counterparts: Callable[[], bool],
    weights: MatchWeights = DEFAULT_MATCH_WEIGHTS,
) -> bool:
    """The matcher's verdict: cosine at least the threshold, no difference in substance,
    and (``counterparts()``: `has_counterparts` both ways, asked last because it embeds
    words) no content added or dropped."""
    return cosine >= weights.threshold and not differ_in_substance(a, b) and counterparts()
