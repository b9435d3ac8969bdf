"""The BaseStore contract on real SQLite files and real PostgreSQL databases (each with a
real Chroma directory)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langgraph.store.base import (
    GetOp,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
)

from langgraph_sharedmem import SharedMemoryStore, WordLlamaEmbeddings
from langgraph_sharedmem.store import _schema, _search, _write
from tests._store_workers import toy_embed, toy_index


@pytest.fixture
def store(open_store: Any) -> Any:
    with open_store(index=toy_index()) as s:
        yield s


def test_put_get_update_delete(store: SharedMemoryStore) -> None:
    assert store.get(("a",), "k") is None
    store.put(("a", "b"), "k", {"text": "hello", "n": 1})
    item = store.get(("a", "b"), "k")
    assert isinstance(item, Item) and item.value == {"text": "hello", "n": 1}
    assert item.namespace == ("a", "b") and item.key == "k"
    created = item.created_at
    time.sleep(0.002)
    store.put(("a", "b"), "k", {"text": "bye"})
    again = store.get(("a", "b"), "k")
    assert again.value == {"text": "bye"} and again.created_at == created
    assert again.updated_at > created
    store.delete(("a", "b"), "k")
    assert store.get(("a", "b"), "k") is None


def test_search_prefix_filter_paging(store: SharedMemoryStore) -> None:
    for i in range(30):
        store.put(("docs", f"u{i % 3}"), f"d{i}", {"text": f"doc {i}", "i": i, "even": i % 2 == 0})
    store.put(("docsx",), "other", {"text": "not under docs", "i": 0})
    assert len(store.search(("docs",), limit=100)) == 30
    assert len(store.search(("docs", "u1"), limit=100)) == 10
    assert {r.key for r in store.search((), limit=100)} >= {"other"}
    evens = store.search(("docs",), filter={"even": True}, limit=100)
    assert sorted(r.value["i"] for r in evens) == list(range(0, 30, 2))
    ranged = store.search(("docs",), filter={"i": {"$gte": 10, "$lt": 13}}, limit=100)
    assert sorted(r.value["i"] for r in ranged) == [10, 11, 12]
    pages = [store.search(("docs",), limit=7, offset=o) for o in range(0, 35, 7)]
    keys = [r.key for page in pages for r in page]
    assert len(keys) == 30 and len(set(keys)) == 30


def test_extended_filters(store: SharedMemoryStore) -> None:
    store.put(("f",), "1", {"tags": ["red", "blue"], "name": "Alice Smith", "n": 1})
    store.put(("f",), "2", {"tags": ["green"], "name": "Bob", "n": 2})
    store.put(("f",), "3", {"tags": [], "name": "Carol", "n": 3, "meta": {"v": 1}})

    def keys(flt: dict[str, Any]) -> list[str]:
        return sorted(r.key for r in store.search(("f",), filter=flt))

    assert keys({"n": {"$in": [1, 3]}}) == ["1", "3"]
    assert keys({"n": {"$nin": [1, 3]}}) == ["2"]
    assert keys({"tags": {"$contains": "blue"}}) == ["1"]
    assert keys({"name": {"$contains": "Smith"}}) == ["1"]
    assert keys({"$or": [{"n": 1}, {"name": "Bob"}]}) == ["1", "2"]
    assert keys({"$and": [{"n": {"$gt": 1}}, {"n": {"$lt": 3}}]}) == ["2"]
    assert keys({"$not": {"n": 2}}) == ["1", "3"]
    assert keys({"meta": {"v": 1}}) == ["3"]
    assert keys({"meta": {"$eq": {"v": 1}}}) == ["3"]
    assert keys({"tags": ["red", "blue"]}) == ["1"]
    assert keys({"missing": None}) == ["1", "2", "3"]
    assert keys({"n": {"$ne": 2}}) == ["1", "3"]


def test_semantic_search_scores_and_fields(store: SharedMemoryStore) -> None:
    store.put(("m",), "pizza", {"text": "pizza pasta italian food"})
    store.put(("m",), "dogs", {"text": "dogs cats pets animals"})
    store.put(("m",), "plain", {"text": "pizza"}, index=False)
    store.put(("m",), "title", {"text": "x", "title": "dogs pets"}, index=["title"])
    results = store.search(("m",), query="italian pizza food", limit=10)
    assert results[0].key == "pizza" and isinstance(results[0], SearchItem)
    assert results[0].score is not None and results[0].score > 0.5
    scored = [r for r in results if r.score is not None]
    assert {r.key for r in scored} == {"pizza", "dogs", "title"}
    assert results[-1].key == "plain" and results[-1].score is None
    top = store.search(("m",), query="dogs pets", limit=2)
    assert {r.key for r in top} == {"dogs", "title"}


def test_unchanged_text_is_not_embedded_again(open_store: Any) -> None:
    calls: list[int] = []

    def counting(texts: list[str]) -> list[list[float]]:
        calls.append(len(texts))
        return toy_embed(texts)

    with open_store(index=toy_index(embed=counting)) as s:
        s.put(("a",), "k", {"text": "same text", "other": 1})
        s.put(("a",), "k", {"text": "same text", "other": 2})
        assert sum(calls) == 1
        s.put(("a",), "k", {"text": "new text"})
        assert sum(calls) == 2
        s.put(("a",), "k", {"text": "new text", "other": 3}, ttl=5)
        assert sum(calls) == 2


def test_hybrid_finds_exact_ids(open_store: Any) -> None:
    def blind(texts: list[str]) -> list[list[float]]:
        return [[1.0] + [0.0] * 31 for _ in texts]  # every text looks the same

    with open_store(index=toy_index(embed=blind)) as s:
        for i in range(40):
            s.put(("inv",), f"i{i}", {"text": f"invoice number INV-{1000 + i} paid"})
        top = s.search(("inv",), query="INV-1017", limit=3)
        assert top[0].key == "i17"
    with open_store(index=toy_index(embed=blind, hybrid=False)) as s:
        for i in range(40):
            s.put(("inv",), f"i{i}", {"text": f"invoice number INV-{1000 + i} paid"})
        assert len(s.search(("inv",), query="INV-1017", limit=3)) == 3


def test_list_namespaces(store: SharedMemoryStore) -> None:
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("x", "b", "c"), ("ab",)]:
        store.put(ns, "k", {"v": 1})
    assert store.list_namespaces() == sorted(
        [("a", "b", "c"), ("a", "b", "d"), ("a", "e"), ("x", "b", "c"), ("ab",)]
    )
    assert store.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "e")]
    assert store.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("x", "b", "c")]
    assert store.list_namespaces(prefix=("*", "b")) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("x", "b", "c"),
    ]
    assert store.list_namespaces(max_depth=1) == [("a",), ("ab",), ("x",)]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "e")]
    store.delete(("ab",), "k")
    assert ("ab",) not in store.list_namespaces()


def test_batch_reads_see_state_before_puts(store: SharedMemoryStore) -> None:
    results = store.batch(
        [
            PutOp(("b",), "k", {"text": "v"}),
            GetOp(("b",), "k"),
            SearchOp(("b",)),
            ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("b",)),)),
        ]
    )
    assert results == [None, None, [], []]
    assert store.batch([GetOp(("b",), "k")])[0].value == {"text": "v"}


def test_ttl_expiry_refresh_and_sweep(open_store: Any) -> None:
    with open_store(index=toy_index(), ttl={"default_ttl": 0.02}) as s:  # 1.2 seconds
        s.put(("t",), "k", {"text": "short lived"})
        s.put(("t",), "keep", {"text": "forever"}, ttl=None)
        assert s.get(("t",), "k") is not None
        time.sleep(0.7)
        assert s.get(("t",), "k") is not None  # refreshed on read
        time.sleep(0.7)
        assert s.get(("t",), "k", refresh_ttl=False) is not None
        time.sleep(0.7)
        assert s.get(("t",), "k") is None
        assert [r.key for r in s.search(("t",), query="short lived")] == ["keep"]
        assert s.list_namespaces() == [("t",)]
        assert s.sweep_ttl() == 1
        assert s.verify_index().ok


async def test_async_api(open_store: Any) -> None:
    async def aembed(texts: list[str]) -> list[list[float]]:
        return toy_embed(texts)

    async with open_store(index=toy_index(embed=aembed)) as s:
        await s.aput(("a",), "k", {"text": "async hello world"})
        assert (await s.aget(("a",), "k")).value == {"text": "async hello world"}
        found = await s.asearch(("a",), query="hello world")
        assert found[0].key == "k" and found[0].score > 0.8
        assert await s.alist_namespaces() == [("a",)]
        await s.adelete(("a",), "k")
        assert await s.aget(("a",), "k") is None
        assert (await s.averify_index()).ok


def test_default_wordllama_embedder_offline(open_store: Any) -> None:
    with open_store(index={"dims": 256, "fields": ["text"]}) as s:
        s.put(("w",), "1", {"text": "The cat sat on the mat"})
        s.put(("w",), "2", {"text": "Quarterly revenue grew by ten percent"})
        top = s.search(("w",), query="a kitten resting on a rug", limit=1)
        assert top[0].key == "1"
        cosine = _cosine("a kitten resting on a rug", "The cat sat on the mat")
        assert top[0].score == pytest.approx(cosine, abs=1e-5)
    emb = WordLlamaEmbeddings(dims=64)
    texts = ["one text", "  ", "caf\u00e9 \ud800 lone surrogate", "ref-12345 INV-7", ""]
    batched = emb.embed_array(texts + ["padding so the batch path runs"])[: len(texts)]
    single = np.stack([emb.embed_one(t) for t in texts])
    assert single.shape == (5, 64) and np.allclose(single, batched, atol=1e-6)
    assert not batched[4].any()  # no tokens: a zero vector, not NaN
    assert emb.embed_query("one text") == pytest.approx(batched[0].tolist(), abs=1e-6)


def _cosine(query: str, text: str) -> float:
    emb = WordLlamaEmbeddings()
    q, v = np.asarray(emb.embed_query(query)), emb.embed_array([text])[0]
    return float(q @ v / np.linalg.norm(q) / np.linalg.norm(v))


def test_put_rereads_vectors_another_process_changed_meanwhile(open_store: Any) -> None:
    """The vectors read before the write lock are reused only if nothing changed since:
    here another store rewrites the item between that read and the write."""
    with open_store(index=toy_index()) as a, open_store(index=toy_index()) as b:
        a.put(("r",), "k", {"text": "alpha beta"})
        a.setup()
        work = a._plan([PutOp(("r",), "k", {"text": "alpha beta"})])
        with a.db.read() as conn:
            work.known = _write.known_vectors(conn, work.puts)
        work.missing = _write.to_embed(work.puts, work.known.embeddings)
        assert not work.missing  # same text as stored: nothing to embed
        b.put(("r",), "k", {"text": "gamma delta"})
        a._execute(work, None)
        for s in (a, b):
            assert s.get(("r",), "k").value == {"text": "alpha beta"}
            hit = s.search(("r",), query="alpha beta", limit=1)[0]
            assert hit.key == "k" and hit.score >= 1.0 - 1e-5  # cosine 1, plus any keyword bonus
        assert a.verify_index().ok


def test_term_counts_follow_changes(open_store: Any) -> None:
    """Remembered keyword counts (the idf of the ranking bonus) follow every change."""
    terms = _search.TermCounts()
    with open_store(index=toy_index()) as s:

        def rare(word: str) -> dict[str, int]:
            with s.db.read() as conn:
                seq = conn.execute(_schema.sql_of(conn).CURRENT_SEQ).fetchone()[0]
                return terms.rare(conn, word, seq, 250)  # words rare in <= 5 texts

        s.put(("t",), "0", {"text": "zeta one"})
        assert rare("zeta") == {"zeta": 1}
        for i in range(1, 8):
            s.put(("t",), str(i), {"text": f"zeta {i}"})
            assert rare("zeta") == ({"zeta": i + 1} if i + 1 <= 5 else {}), i
        for i in range(8):
            s.delete(("t",), str(i))
            assert rare("zeta") == ({"zeta": 7 - i} if 0 < 7 - i <= 5 else {}), i


def test_scoped_search_sees_other_stores_writes(open_store: Any) -> None:
    """A scope's rows are remembered per process; another process's put must show up."""
    with open_store(index=toy_index()) as a, open_store(index=toy_index()) as b:
        a.put(("app", "u1", "x"), "k1", {"text": "first note"})
        assert [r.key for r in a.search(("app", "u1"), query="note")] == ["k1"]
        b.put(("app", "u1", "y"), "k2", {"text": "second note"})
        assert {r.key for r in a.search(("app", "u1"), query="note")} == {"k1", "k2"}
        b.delete(("app", "u1", "x"), "k1")
        assert [r.key for r in a.search(("app", "u1"), query="note")] == ["k2"]


def test_reopen_keeps_items_and_index(open_store: Any) -> None:
    with open_store(index=toy_index()) as s:
        for i in range(20):
            s.put(("r",), str(i), {"text": f"note {i}"})
    with open_store(index=toy_index()) as s:
        assert s.get(("r",), "3").value == {"text": "note 3"}
        report = s.verify_index()
        assert report.ok and report.checked == 20
        assert s.rebuild_index() == 20
        assert s.verify_index().ok


def test_graph_uses_store(open_store: Any) -> None:
    from typing import TypedDict

    from _graphs import linear_graph
    from langgraph.config import get_store

    class State(TypedDict):
        user: str
        fact: str
        recalled: list[str]

    def remember(state: State) -> dict[str, Any]:
        get_store().put(
            ("users", state["user"], "facts"), state["fact"][:8], {"text": state["fact"]}
        )
        return {}

    def recall(state: State) -> dict[str, Any]:
        hits = get_store().search(("users", state["user"]), query=state["fact"], limit=5)
        return {"recalled": [h.value["text"] for h in hits]}

    builder = linear_graph(State, ("remember", remember), ("recall", recall))
    with open_store(index=toy_index()) as s:
        graph = builder.compile(store=s)
        graph.invoke({"user": "u1", "fact": "likes green tea", "recalled": []})
        out = graph.invoke({"user": "u1", "fact": "plays chess", "recalled": []})
        assert set(out["recalled"]) == {"likes green tea", "plays chess"}
        other = graph.invoke({"user": "u2", "fact": "hates tea", "recalled": []})
        assert other["recalled"] == ["hates tea"]


def test_index_applies_in_lulls_or_when_far_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from langgraph_sharedmem.store import _index

    with SharedMemoryStore(tmp_path / "lull.db", index=toy_index()) as s:
        s.put(("l",), "first", {"text": "first note"})
        index = s._index
        assert index is not None

        def caught_up(within: float) -> bool:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                current, applied = index._positions()
                if applied == current:
                    return True
                time.sleep(0.05)
            return False

        monkeypatch.setattr(_index, "APPLY_IDLE", 0.2)
        assert caught_up(5.0)  # idle after the put: applied without flush_index
        # Writing without pause keeps it waiting, unless the backlog passes the limit.
        monkeypatch.setattr(_index, "BACKLOG_LIMIT", 10)
        applied_during_writes, i, stop = 0, 0, time.monotonic() + 1.5
        while time.monotonic() < stop:
            s.put(("l",), f"k{i}", {"text": f"note {i}"})
            applied_during_writes = max(applied_during_writes, index._positions()[1])
            i += 1
        assert applied_during_writes > 1, i
        assert caught_up(5.0)
        assert s.verify_index().ok


def test_opening_does_not_wait_for_the_index_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chroma catching up runs in the background; searches meanwhile answer exactly."""
    import threading

    from langgraph_sharedmem.store._index import ChromaIndex

    path = tmp_path / "replay.db"
    with SharedMemoryStore(path, index=toy_index(), chroma=None) as s:  # no index applied
        s.batch([PutOp(("r",), f"k{i}", {"text": f"note number {i}"}) for i in range(50)])
    release = threading.Event()
    original = ChromaIndex.apply_pending

    def slow_apply(self: ChromaIndex, *args: Any, **kwargs: Any) -> int:
        release.wait(30)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(ChromaIndex, "apply_pending", slow_apply)
    start = time.monotonic()
    with SharedMemoryStore(path, index=toy_index()) as s:
        s.setup()
        assert time.monotonic() - start < 5  # the replay is blocked, opening is not
        assert s.search(("r",), query="note number 7", limit=1)[0].key == "k7"
        release.set()
        assert s.flush_index() >= 0
        report = s.verify_index()
        assert report.ok and report.pending == 0 and report.checked == 50, report


def test_vector_writes_advance_the_change_counter_without_outbox_rows(tmp_path: Path) -> None:
    """Written vectors carry their seq; only deletions are logged as outbox rows."""
    with SharedMemoryStore(tmp_path / "seq.db", index=toy_index(), chroma=None) as s:
        s.batch([PutOp(("q",), f"k{i}", {"text": f"text {i}"}) for i in range(5)])
        s.delete(("q",), "k0")
        s.put(("q",), "k1", {"text": "changed text"})
        with s.db.read() as conn:
            seq = conn.execute(_schema.CURRENT_SEQ).fetchone()[0]
            ops = [r[0] for r in conn.execute("SELECT op FROM mem_outbox ORDER BY seq")]
            seqs = [r[0] for r in conn.execute("SELECT seq FROM mem_vectors ORDER BY seq")]
        assert seq == 7 and ops == ["delete"] and seqs == [3, 4, 5, 7]
