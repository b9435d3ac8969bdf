"""Near-duplicate facts: the same fact asserted in near-identical words is one claim with
several sources (`EmbeddingMatcher`, the default of `SharedMemory.facts`)."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from langgraph_sharedmem import (
    Database,
    EmbeddingMatcher,
    FactLedger,
    InvalidConfigError,
    SharedMemory,
)
from langgraph_sharedmem.facts import Claim


def _claim(value: object, claim_id: int = 1) -> Claim:
    return Claim(claim_id, value, "verified", "a", 1.0, (), 0, 0, "", "")


@pytest.fixture(scope="module")
def matcher() -> EmbeddingMatcher:
    return EmbeddingMatcher()


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The order has shipped.", "the order has shipped"),
        ("Order shipped via UPS on Monday", "The order was shipped via UPS on Monday."),
        ("The user is vegetarian", "User is a vegetarian"),
    ],
)
def test_restatements_are_one_claim(matcher: EmbeddingMatcher, a: str, b: str) -> None:
    assert matcher.same(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("order 42 shipped", "order 43 shipped"),  # cosine 0.93 on WordLlama
        ("The order has shipped", "The order has not shipped"),  # cosine 0.95
        ("The order has shipped", "The order hasn't shipped"),
        ("The order has shipped", "The order is processing"),
        ("The meeting is on Tuesday", "The meeting is on Thursday"),
        ("User lives in Berlin", "The user lives in Berlin, Germany"),
        ("Alice is the account owner", "Bob is the account owner"),
        ("Invoice INV-1017 paid", "Invoice INV-1018 paid"),
    ],
)
def test_different_statements_stay_apart(matcher: EmbeddingMatcher, a: str, b: str) -> None:
    assert not matcher.same(a, b)
    assert not matcher.same(b, a)


def test_only_text_is_compared_and_the_best_claim_wins(matcher: EmbeddingMatcher) -> None:
    assert matcher(42, [_claim(42.0)]) is None  # numbers merge only when identical
    assert matcher(True, [_claim("True")]) is None
    assert matcher("shipped", [_claim(7), _claim(None, 2)]) is None
    claims = [_claim("the order is processing", 1), _claim("The order has shipped!", 2)]
    found = matcher("the order has shipped", claims)
    assert found is not None and found.id == 2
    same_obj = matcher(
        {"city": "Berlin", "zip": "10115"}, [_claim({"zip": "10115", "city": "Berlin"})]
    )
    assert same_obj is not None
    assert (
        matcher({"city": "Berlin", "zip": "10115"}, [_claim({"city": "Berlin", "zip": "10117"})])
        is None
    )


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, float("nan"), True, "0.9"])
def test_bad_threshold_is_refused(bad: object) -> None:
    with pytest.raises(InvalidConfigError, match="threshold"):
        EmbeddingMatcher(threshold=bad)  # type: ignore[arg-type]


def test_bad_embeddings_are_refused() -> None:
    with pytest.raises(InvalidConfigError, match="Embeddings"):
        EmbeddingMatcher(embeddings=lambda texts: texts)  # type: ignore[arg-type]


def test_shared_memory_merges_near_duplicates_by_default(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "f.db") as mem:
        facts = mem.facts
        facts.assert_fact(
            "user:u1", "order-7", "status", "Shipped via UPS on Monday.", author="support"
        )
        change = facts.assert_fact(
            "user:u1", "order-7", "status", "shipped via UPS on Monday", author="fulfilment"
        )
        claims = facts.claims("user:u1", "order-7", "status")
        assert len(claims) == 1
        assert claims[0].authors == {"support", "fulfilment"}
        assert change.disagreement_id is None
        assert not facts.is_contested("user:u1", "order-7", "status")

        # A different order number is a different value: a disagreement, not a merge.
        facts.assert_fact("user:u1", "last", "order", "order 42 shipped", author="support")
        other = facts.assert_fact("user:u1", "last", "order", "order 43 shipped", author="bot")
        assert len(facts.claims("user:u1", "last", "order")) == 2
        assert other.disagreement_id is not None  # on record (latest-wins settled it)


def test_matcher_can_be_turned_off_or_replaced(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "off.db", fact_matcher=None) as mem:
        mem.facts.assert_fact("app", "acme", "plan", "The Pro plan.", author="a")
        mem.facts.assert_fact("app", "acme", "plan", "the pro plan", author="b")
        assert len(mem.facts.claims("app", "acme", "plan")) == 2
    strict = EmbeddingMatcher(threshold=1.0)
    with SharedMemory.open(tmp_path / "own.db", fact_matcher=strict, index=None) as mem:
        assert mem.facts.matcher is strict
    with pytest.raises(InvalidConfigError, match="fact_matcher"):
        SharedMemory.open(tmp_path / "bad.db", fact_matcher="fuzzy")  # type: ignore[arg-type]


def test_a_remote_embedder_runs_before_the_write_lock(tmp_path: Path) -> None:
    """Comparing a new value with the fact's claims embeds them; with a slow (remote)
    embedder that happens before the write lock, so another writer with a 0.2 s busy timeout
    gets through meanwhile."""
    embedding = threading.Event()

    class SlowEmbeddings(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            if any("slowly" in t for t in texts):
                embedding.set()
                time.sleep(1.0)
            # Unrelated texts get unrelated vectors: a seeded random one per text, centred
            # so that two of them are near orthogonal.
            return [
                (
                    np.random.default_rng(list(hashlib.sha256(t.encode()).digest())).random(64)
                    - 0.5
                ).tolist()
                for t in texts
            ]

        def embed_query(self, text: str) -> list[float]:
            return self.embed_documents([text])[0]

    path = tmp_path / "facts.db"
    with FactLedger(path, matcher=EmbeddingMatcher(SlowEmbeddings())) as facts:
        facts.assert_fact("app", "order:42", "status", "shipped by courier", author="a")
        other = Database(path, busy_timeout=0.2)
        worker = threading.Thread(
            target=facts.assert_fact,
            args=("app", "order:42", "status", "moving slowly through customs"),
            kwargs={"author": "b"},
        )
        worker.start()
        assert embedding.wait(10)
        with other.write() as conn:  # DatabaseBusyError if the lock were held
            conn.execute("CREATE TABLE side (n INTEGER)")
        worker.join()
        other.close()
        values = [c.value for c in facts.claims("app", "order:42", "status")]
        assert values == ["shipped by courier", "moving slowly through customs"]
