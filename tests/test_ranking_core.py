"""The ranking core (`langgraph_sharedmem._ranking`) is the one place the retrieval parts get
their words, stop words, evidence and weights from (issue 14): what each part relies on."""

from __future__ import annotations

import math

import numpy as np
import pytest

from langgraph_sharedmem import _ranking
from langgraph_sharedmem.conversation import _select
from langgraph_sharedmem.facts import _similar
from langgraph_sharedmem.registry import _rank


@pytest.mark.parametrize("module", [_rank, _select, _similar])
def test_no_part_keeps_its_own_word_list_or_weights(module: object) -> None:
    for name, value in vars(module).items():
        if isinstance(value, (set, frozenset)) and value and all(isinstance(w, str) for w in value):
            raise AssertionError(f"{module.__name__}.{name} is a private word list")
    assert _rank.DEFAULT_WEIGHTS is _ranking.DEFAULT_ROUTE_WEIGHTS
    assert _select.DEFAULT_WEIGHTS is _ranking.DEFAULT_SLICE_WEIGHTS
    assert _similar.EmbeddingMatcher().weights == _ranking.DEFAULT_MATCH_WEIGHTS


def test_words_and_content_words() -> None:
    assert _ranking.tokens("Order #48213 failed: E4012B, order_id") == sorted(
        {"order", "48213", "failed", "e4012b", "id"}
    )
    assert _ranking.content_words("Please help: the e-mail of user 7 is not set") == [
        "email",
        "7",
        "not",
        "set",
    ]
    assert _ranking.keywords(["Bills billed"]) == {"bill"}


@pytest.mark.parametrize(
    ("short", "long", "expected"),
    [
        ("cust", "customer", True),
        ("tkt", "ticket", True),
        ("acct", "account", True),
        ("st", "street", True),
        ("ln", "lane", False),  # two letters must end alike
        ("plan", "plan", False),
        ("x1", "x100", False),  # codes are compared exactly, never abbreviated
        ("billing", "shipping", False),
    ],
)
def test_abbreviations(short: str, long: str, expected: bool) -> None:
    assert _ranking.abbreviates(short, long) is expected


def test_substance_ids_and_negation() -> None:
    assert _ranking.differ_in_substance("order 42 shipped", "order 43 shipped")
    assert _ranking.differ_in_substance("has shipped", "hasn't shipped")
    assert not _ranking.differ_in_substance("Order no. 7 shipped", "order 7 shipped")
    assert _ranking.differ_in_substance("no refund for order 7", "refund for order 7")


def test_evidence_counts_rare_tokens_more() -> None:
    found = _ranking.evidence(
        [{"kx-2291", "marta"}, {"marta"}, {"marta"}, set()], {"kx-2291", "marta"}
    )
    assert found[0] == 1.0  # capped
    assert 0 < found[1] == found[2] < _ranking.rarity(1, 4)
    assert found[3] == 0
    assert _ranking.idf(4, 4) > 0  # a token every text holds still counts a little


def test_clause_words_discount_only_what_a_contrast_negates() -> None:
    words, weights = _ranking.clause_words(
        "I don't want a voucher, I want the money back on my card.", 0.25
    )
    got = dict(zip(words, weights, strict=True))
    assert got["voucher"] == 0.25 and got["money"] == got["card"] == 1.0
    assert "not" not in got and "no" not in got  # negations say what is not wanted
    # A word in both an affirmed and a negated clause counts fully.
    words, weights = _ranking.clause_words("not the card, the card's PIN", 0.0)
    assert weights[words.index("card")] == 1.0
    # With no affirmed clause nothing is discounted: the negated clause is the task.
    words, weights = _ranking.clause_words("My headphones will not charge anymore.", 0.0)
    assert words == ["headphones", "charge", "anymore"] and weights == [1.0, 1.0, 1.0]
    assert _ranking.clauses("Version 2.1 crashes, but 2.0 works") == [
        "Version 2.1 crashes",
        "2.0 works",
    ]
    assert _ranking.clause_words("", 0.5) == ([], [])
    # The discount scales a word's vote, not its share of the mean.
    q = np.eye(2, dtype=np.float32)
    texts = [np.eye(2, dtype=np.float32)[:1]]
    idf = np.ones(2, dtype=np.float32)
    assert _ranking.alignment(q, idf, texts)[0] == pytest.approx(0.5)
    assert _ranking.alignment(q, idf, texts, np.array([0.5, 1.0]))[0] == pytest.approx(0.25)


def test_route_score_is_the_weighted_sum_scaled() -> None:
    w = _ranking.RouteWeights(semantic=1.0, alignment=2.0, hubness=1.0, capability=1.0)
    assert _ranking.route_score(w, 0.5, 0.25, 0.1, 1.0, 0.9) == round(
        (0.5 + 0.5 - 0.1 + 1.0) / 4.0, _ranking.DIGITS
    )


def test_slice_scores_fuse_cosines_and_evidence() -> None:
    matrix = np.eye(3)
    queries = {"instruction": np.array([1.0, 0, 0]), "task": np.array([0, 1.0, 0]), "role": None}
    w = _ranking.SliceWeights(instruction=1.0, task=-1.0, entity=0.5)
    got = _ranking.slice_scores(matrix, queries, {"entity": np.array([0, 0, 1.0])}, w)
    assert got.tolist() == [1.0, -1.0, 0.5]


def test_slice_scores_subtract_hubness_and_add_alignment() -> None:
    matrix = np.eye(3)
    w = _ranking.SliceWeights(instruction=0.0, aligned=1.0, hubness=2.0)
    found = {"aligned": np.array([0.5, 0.2, 0.0]), "central": np.array([0.1, 0.0, 0.25])}
    got = _ranking.slice_scores(matrix, {}, found, w)
    assert np.allclose(got, [0.3, 0.2, -0.5])


def test_indexed_alignment_is_alignment_for_many_texts() -> None:
    rng = np.random.default_rng(7)
    vocabulary = rng.normal(size=(12, 8))
    vocabulary /= np.linalg.norm(vocabulary, axis=1, keepdims=True)
    texts = [[3, 4, 5], [], [11], [0, 7, 7, 2]]
    query = vocabulary[:3]
    got = _ranking.indexed_alignment(query, vocabulary, texts)
    empty = np.zeros((0, 8))
    rows = [vocabulary[t] if t else empty for t in texts]
    want = _ranking.alignment(query, np.ones(3), rows)
    assert np.allclose(got, want, atol=1e-6) and got[1] == 0.0
    assert not _ranking.indexed_alignment(query, vocabulary, [[], []]).any()


def test_store_rank_orders_by_cosine_plus_bonus() -> None:
    bonus = _ranking.bonuses({"48213": ["b"]}, {"48213": 1}, 100)
    assert math.isclose(bonus["b"], _ranking.DEFAULT_WEIGHTS.code)
    ranked = _ranking.rank([("a", 0.5), ("b", 0.3)], bonus, {})
    assert [k for k, _ in ranked] == ["b", "a"]
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
