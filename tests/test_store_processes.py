"""Several processes on one store, crashes between commit and index, and a Chroma server."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from langgraph_sharedmem import SharedMemoryStore
from tests import _store_workers
from tests._servers import chroma_server
from tests._spawn import CTX as ctx
from tests._spawn import run_together
from tests._store_workers import toy_index

SCALE = float(os.environ.get("SHAREDMEM_STRESS_SCALE", "1"))


def test_processes_write_one_fresh_store_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    workers, count = 4, 30
    outcomes = run_together(_store_workers.write_items, [(path, w, count) for w in range(workers)])
    assert [err for _, err in outcomes if err] == []
    with SharedMemoryStore(path, index=toy_index()) as store:
        assert len(store.search(("app",), limit=1000)) == workers * count
        rows = store.db.conn.execute(
            "SELECT count(*) FROM _sqlite_migrations WHERE migration_set = ?",
            ("langgraph_sharedmem.store",),
        ).fetchone()
        assert rows == (1,)
        report = store.verify_index()
        assert report.ok and report.checked == workers * count, report
        for w in range(workers):
            hits = store.search(("app", f"user{w}"), query="note 7", limit=3)
            assert hits and hits[0].key == "k7"


@pytest.mark.slow
def test_kill_between_commit_and_index_then_replay(tmp_path: Path) -> None:
    path = str(tmp_path / "kill.db")
    rng = random.Random(7)
    committed: list[int] = []
    start = 0
    for _ in range(max(2, int(4 * SCALE))):
        parent, child = ctx.Pipe()
        count = rng.randint(20, 60)
        proc = ctx.Process(
            target=_store_workers.write_then_die,
            args=(path, start, count, rng.randint(0, count - 1), child),
        )
        proc.start()
        proc.join(timeout=120)
        assert proc.exitcode == -9
        while parent.poll():
            committed.append(parent.recv())
        start += count
    with SharedMemoryStore(path, index=toy_index(ann_threshold=0)) as store:
        report = store.verify_index()  # opened = replayed; verify re-checks every vector
        assert report.ok and report.pending == 0, report
        assert report.checked >= len(committed)
        for i in committed:
            assert store.get(("app", "u"), f"k{i}") is not None
            hits = store.search(("app", "u"), query=f"item number {i}", limit=5)
            assert f"k{i}" in [h.key for h in hits]


def test_only_the_lease_holder_opens_embedded_chroma(tmp_path: Path) -> None:
    path = tmp_path / "lease.db"
    with SharedMemoryStore(path, index=toy_index(ann_threshold=0)) as first:
        first.put(("a",), "k", {"text": "hello there"})
        with SharedMemoryStore(path, index=toy_index(ann_threshold=0)) as second:
            second.put(("a",), "k2", {"text": "hello again"})
            assert second._index is not None and not second._index.can_query()
            assert "lease" in (second.verify_index().error or "")
            # the non-holder answers exactly, including its own fresh write
            assert {h.key for h in second.search(("a",), query="hello")} == {"k", "k2"}
            first.flush_index()
            assert first.verify_index().ok
            assert {h.key for h in first.search(("a",), query="hello")} == {"k", "k2"}


def test_chroma_server_http_client(tmp_path: Path) -> None:
    import chromadb

    settings = chromadb.Settings(anonymized_telemetry=False)
    with chroma_server(tmp_path / "server") as port:
        client = chromadb.HttpClient(host="127.0.0.1", port=port, settings=settings)
        path = tmp_path / "http.db"
        index = toy_index(ann_threshold=0)
        with (
            SharedMemoryStore(path, index=index, chroma=client) as a,
            SharedMemoryStore(
                path,
                index=index,
                chroma=chromadb.HttpClient(host="127.0.0.1", port=port, settings=settings),
            ) as b,
        ):
            for i in range(30):
                a.put(("t", "u"), f"k{i}", {"text": f"server note {i}"})
            a.flush_index()
            b.put(("t", "u"), "fresh", {"text": "brand new unindexed note"})
            assert b._index is not None and b._index.can_query()
            assert "fresh" in [h.key for h in b.search(("t",), query="brand new note", limit=3)]
            assert "k5" in [h.key for h in b.search(("t",), query="server note 5", limit=3)]
            a.delete(("t", "u"), "k5")
            assert "k5" not in [h.key for h in b.search(("t",), query="server note 5", limit=30)]
            a.flush_index()
            assert a.verify_index().ok and b.verify_index().ok
