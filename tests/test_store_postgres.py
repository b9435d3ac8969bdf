"""The store on PostgreSQL where it must answer exactly as on SQLite, and what only a server
brings: `SharedMemory.open(url).store`, filters checked against `SqliteStore`, the same
hybrid ranking (order and scores) as SQLite, a Chroma server as the ANN index, and writers
of several connections whose changes every cache sees. The backend-neutral contract runs
on both backends in test_store_contract.py, test_store_differential.py and
test_store_bad_input.py."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from langgraph.store.sqlite import SqliteStore

from langgraph_sharedmem import InvalidConfigError, SharedMemory, SharedMemoryStore
from tests._store_workers import toy_index
from tests.test_store_filter_paths import check_same_matches, filters, values


def test_shared_memory_on_postgres_hands_out_the_store(postgres_db: str) -> None:
    from _graphs import linear_graph
    from langgraph.config import get_store
    from typing_extensions import TypedDict

    class State(TypedDict):
        note: str
        found: list[str]

    def remember(state: State) -> dict[str, Any]:
        get_store().put(("users", "u1"), "n1", {"text": state["note"]})
        return {}

    def recall(state: State) -> dict[str, Any]:
        return {"found": [h.key for h in get_store().search(("users",), query=state["note"])]}

    with SharedMemory.open(postgres_db, pool_size=2, index=toy_index()) as mem:
        graph = linear_graph(State, ("remember", remember), ("recall", recall)).compile(
            checkpointer=mem.checkpointer, store=mem.store
        )
        config = {"configurable": {"thread_id": "t"}}
        out = graph.invoke({"note": "green tea", "found": []}, config)  # type: ignore[arg-type]
        assert out["found"] == ["n1"]
        assert mem.store.db is mem.checkpointer.db  # one pool for both parts
    with SharedMemoryStore.from_conn_string(postgres_db) as store:  # reopened by URL
        assert store.get(("users", "u1"), "n1").value == {"text": "green tea"}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(items=values, flt=filters)
@example(items=[{}], flt={"": None, ".": None})
def test_filter_keys_match_sqlite_store_on_postgres(
    postgres_db: str, items: list[dict[str, Any]], flt: dict[str, Any]
) -> None:
    with SqliteStore.from_conn_string(":memory:") as theirs:
        theirs.setup()
        with SharedMemoryStore(postgres_db) as ours:
            ours.setup()
            with ours.db.write() as conn:
                conn.execute("TRUNCATE mem_items")
            check_same_matches(ours, theirs, items, flt)


WORDS = ["invoice", "paid", "late", "refund", "customer", "order", "shipping", "naïve", "café"]


def _corpus() -> list[tuple[tuple[str, ...], str, dict[str, Any]]]:
    items = []
    for i in range(160):
        words = " ".join(WORDS[(i * k) % len(WORDS)] for k in (1, 3, 5))
        code = ["INV-", "inv_", "Ref ", "ÉTÉ-"][i % 4] + str(1000 + i % 37)
        items.append(((("acme", f"u{i % 3}")), f"k{i}", {"text": f"{words} {code}", "i": i}))
    items.append((("acme", "u0"), "odd", {"text": "a_b_c 12_34 __ x"}))
    return items


QUERIES = [
    "invoice paid",
    "INV-1017",
    "inv_1017 refund",
    "ref 1003",
    "été 1020",
    "a_b_c",
    "12_34",
    "__",
    "customer naïve café 1001",
]


def test_hybrid_ranking_is_sqlites(postgres_db: str, tmp_path: Path) -> None:
    """Same items, same queries: the same keys in the same order with the same scores, the
    rare-token evidence included (codes with '-', '_', accents, an empty FTS5 phrase)."""
    index = toy_index()
    with (
        SharedMemoryStore(tmp_path / "s.db", index=index, chroma=None) as lite,
        SharedMemoryStore(postgres_db, index=index, chroma=None) as pg,
    ):
        for ns, key, value in _corpus():
            lite.put(ns, key, value)
            pg.put(ns, key, value)
        boosted = 0
        for query in QUERIES:
            for prefix in [("acme",), ("acme", "u1")]:
                a = lite.search(prefix, query=query, limit=12)
                b = pg.search(prefix, query=query, limit=12)
                assert [(r.key, r.score) for r in a] == [(r.key, r.score) for r in b], query
                boosted += any(r.score is not None and r.score > 1.0 for r in a)
            flt = {"i": {"$lt": 80}}
            a = lite.search(("acme",), query=query, filter=flt, limit=10, offset=3)
            b = pg.search(("acme",), query=query, filter=flt, limit=10, offset=3)
            assert [(r.key, r.score) for r in a] == [(r.key, r.score) for r in b], query
        assert boosted >= 4  # the keyword evidence did change scores


def test_values_jsonb_cannot_hold_round_trip(postgres_db: str) -> None:
    value = {
        "nul": "a\x00b",
        "lone": "x\ud800y",
        "pair": "😀",
        "n": 1e20,
        "k": 1,
        "o": {"b": 1, "a": 2},
    }
    with SharedMemoryStore(postgres_db) as store:
        store.put(("v",), "k", value)
        got = store.get(("v",), "k").value
        assert got == value and list(got["o"]) == ["b", "a"] and type(got["n"]) is float
        assert [r.key for r in store.search(("v",), filter={"k": 1, "pair": "😀"})] == ["k"]
        assert [r.key for r in store.search(("v",), filter={"lone": {"$contains": "x"}})] == ["k"]
        # The reason given is PostgreSQL's too, not only SQLite's (LangGraph's
        # test_sql_injection_filter_values on PostgreSQL showed a message naming SQLite alone).
        with pytest.raises(InvalidConfigError, match="NUL.*PostgreSQL's jsonb cannot hold it"):
            store.search(("v",), filter={"nul": "a\x00b"})


def test_chroma_server_proposes_candidates_and_rescoring_is_exact(
    postgres_db: str, tmp_path: Path
) -> None:
    import chromadb

    from tests._servers import chroma_server

    with chroma_server(tmp_path / "chroma") as port:
        client = chromadb.HttpClient(
            host="127.0.0.1", port=port, settings=chromadb.Settings(anonymized_telemetry=False)
        )
        ann = toy_index(ann_threshold=20)
        with (
            SharedMemoryStore(postgres_db, index=ann, chroma=client) as store,
            SharedMemoryStore(postgres_db, index=toy_index(), chroma=None) as exact,
        ):
            for ns, key, value in _corpus():
                store.put(ns, key, value)
            assert store.flush_index() > 0
            report = store.verify_index()
            assert report.ok and report.checked == len(_corpus())
            hits = exact_hits = 0
            for query in QUERIES:
                a = store.search(("acme",), query=query, limit=10)
                b = exact.search(("acme",), query=query, limit=10)
                for r in a:  # every score is the exact one
                    match = [x.score for x in b if x.key == r.key]
                    assert not match or match[0] == pytest.approx(r.score, abs=1e-6)
                hits += len({r.key for r in a} & {r.key for r in b})
                exact_hits += len(b)
            assert hits / exact_hits >= 0.95
            store.delete(("acme", "u0"), "k0")  # deleted: never returned, applied or not
            assert all(r.key != "k0" for r in store.search(("acme",), query="invoice", limit=50))
            store.flush_index()
            assert store.verify_index().ok


def test_writers_on_several_connections_reach_every_cache(postgres_db: str) -> None:
    """Each writer takes seq numbers in commit order, so a reader's vector cache, caught up
    by seq, misses none of the concurrent writes."""
    with SharedMemoryStore(postgres_db, index=toy_index(), chroma=None) as reader:
        reader.search(("w",), query="warm up")  # the cache starts before the writers

        def write(n: int) -> None:
            with SharedMemoryStore(postgres_db, index=toy_index(), chroma=None) as s:
                for i in range(40):
                    s.put(("w", f"t{n}"), f"k{i}", {"text": f"note {n} {i}"})
                    if i % 8 == 0:
                        reader.search(("w",), query=f"note {i}")

        threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        found = reader.search(("w",), query="note", limit=1000)
        assert len(found) == 160 and all(r.score is not None for r in found)
        assert reader._cache is not None and reader._cache.live == 160


def test_processes_write_one_fresh_postgres_store_at_once(postgres_db: str) -> None:
    """4 processes open a fresh database at once and write: the schema is created once,
    no write is lost, each sees its own writes in search, and the change log numbers every
    put once, without gaps."""
    from tests import _store_workers
    from tests._spawn import run_together

    workers, count = 4, 30
    outcomes = run_together(
        _store_workers.write_items, [(postgres_db, w, count) for w in range(workers)]
    )
    assert [err for _, err in outcomes if err] == []
    with SharedMemoryStore(postgres_db, index=toy_index()) as store:
        assert len(store.search(("app",), limit=1000)) == workers * count
        with store.db.read() as conn:
            steps = conn.execute(
                "SELECT count(*) FROM langgraph_sharedmem_migrations WHERE migration_set = %s",
                ("langgraph_sharedmem.store",),
            ).fetchone()
            seqs = [s for (s,) in conn.execute("SELECT seq FROM changes ORDER BY seq")]
        assert steps == (1,)
        assert seqs == list(range(1, workers * count + 1))
        for w in range(workers):
            hits = store.search(("app", f"user{w}"), query="note 7", limit=3)
            assert hits and hits[0].key == "k7"
