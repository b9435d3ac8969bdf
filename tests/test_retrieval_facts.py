"""Fact matcher quality on the labelled set (issue 14): pairs of facts written "subject /
attribute: value", the same fact in other words or a different fact sharing words, judged
by the real `EmbeddingMatcher` with the default offline WordLlama embedder.

The set (bench/data/facts_*.json) is written by bench/make_retrieval_sets.py; the matcher's
weights (`_ranking.DEFAULT_MATCH_WEIGHTS`) are chosen on its tune half by
bench/bench_retrieval.py, and numbers are asserted on the held half. What a user relies on:
a restated fact gains a source instead of opening a disagreement, and a different fact (an
other id, another attribute, another value) is never merged into it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import bench_retrieval as bench
from bench import make_retrieval_sets
from langgraph_sharedmem import EmbeddingMatcher, _ranking

TUNE = bench.load("facts_tune.json")
HELD = bench.load("facts_held.json")


@pytest.fixture(scope="module")
def matcher() -> EmbeddingMatcher:
    return EmbeddingMatcher()


def test_generator_writes_the_checked_in_sets(tmp_path: Path) -> None:
    make_retrieval_sets.write_facts(tmp_path)
    for name in ("facts_tune.json", "facts_held.json"):
        assert (tmp_path / name).read_bytes() == (bench.DATA / name).read_bytes(), name
    # Split by concept: no attribute of the held half was seen while tuning.
    assert not {p["concept"] for p in TUNE} & {p["concept"] for p in HELD}
    for half in (TUNE, HELD):
        assert {p["kind"] for p in half} == {
            "key paraphrase",
            "value paraphrase",
            "shared words",
            "other id",
            "other value",
        }


def test_default_weights_are_what_tuning_picks(matcher: EmbeddingMatcher) -> None:
    weights, fit = bench.tune_facts(matcher, TUNE)
    assert weights == _ranking.DEFAULT_MATCH_WEIGHTS, fit


def test_held_half_default_beats_cosine_and_never_merges_different_facts(
    matcher: EmbeddingMatcher,
) -> None:
    said = [matcher.same(p["a"], p["b"]) for p in HELD]
    default = bench.facts_prf(HELD, said)
    scores = bench.facts_baselines(HELD)["cosine"]
    t = bench.tune_threshold(TUNE, bench.facts_baselines(TUNE)["cosine"])
    cosine = bench.facts_prf(HELD, [x >= t for x in scores])
    assert default["f1"] >= cosine["f1"], (default, cosine)
    assert default["precision"] == 1.0, default  # a wrong merge hides a disagreement


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("customer 42 / plan: premium", "cust-42 / plan: premium", True),
        ("acct-7 / e-mail: ana@example.com", "account 7 / email: ana@example.com", True),
        ("Order no. 9930 / status: has shipped", "order 9930 / status: has shipped", True),
        ("order 42 / status: shipped", "order 43 / status: shipped", False),
        ("order 42 / shipping address: 1 Elm St", "order 42 / billing address: 1 Elm St", False),
        ("order 42 / status: has shipped", "order 42 / status: has not shipped", False),
    ],
)
def test_keys_in_other_words(matcher: EmbeddingMatcher, a: str, b: str, same: bool) -> None:
    assert matcher.same(a, b) is same
