"""The WAL is copied back into the database file by a background thread, not by commits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from langgraph_sharedmem import Database
from langgraph_sharedmem.core.sqlite import WAL_BACKSTOP_PAGES
from tests._db_workers import write_batches
from tests._spawn import run_together

ROWS, ROW_BYTES = 200, 4000  # ~200 pages: far below SQLite's own 1000-page autocheckpoint


def _wal_threads() -> set[threading.Thread]:
    """Checkpoint threads alive now (other tests' open databases have theirs)."""
    return {t for t in threading.enumerate() if t.name == "langgraph-sharedmem-wal"}


def _write_rows(db: Database) -> None:
    with db.write() as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB)")
    for i in range(ROWS):
        with db.write() as conn:
            conn.execute("INSERT INTO t (id, body) VALUES (?, randomblob(?))", (i, ROW_BYTES))


def test_commits_reach_the_database_file_soon_without_a_checkpointing_writer(tmp_path: Path):
    path = tmp_path / "w.db"
    db = Database(path)
    _write_rows(db)
    # Only a checkpoint moves pages from the WAL into the main file; nobody else runs one.
    deadline = time.monotonic() + 10
    while path.stat().st_size < ROWS * ROW_BYTES and time.monotonic() < deadline:
        time.sleep(0.02)
    assert path.stat().st_size >= ROWS * ROW_BYTES
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == ROWS
    db.close()


def test_close_stops_the_thread_and_leaves_no_wal_behind(tmp_path: Path):
    path = tmp_path / "w.db"
    before = _wal_threads()
    db = Database(path)
    _write_rows(db)
    assert _wal_threads() - before
    db.close()
    assert not _wal_threads() - before
    # The last connection to close checkpoints and removes the WAL: the thread's is closed.
    assert not Path(f"{path}-wal").exists()
    reopened = Database(path, read_only=True)
    with reopened.read() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == ROWS
    reopened.close()


def test_a_read_only_database_starts_no_thread(tmp_path: Path):
    path = tmp_path / "w.db"
    writer = Database(path)
    _write_rows(writer)
    writer.close()
    before = _wal_threads()
    reader = Database(path, read_only=True)
    with reader.read() as conn:
        conn.execute("SELECT count(*) FROM t").fetchone()
    assert not _wal_threads() - before
    reader.close()


def test_the_wal_stays_bounded_while_processes_keep_writing(tmp_path: Path):
    # Two processes committing ~50 MB/s with 2 ms gaps. With only SQLite's autocheckpoint the
    # WAL grew past 150 MB in 3 s (a writer starts it over only after a complete checkpoint,
    # and the other process kept one from completing); here it stays in the low megabytes.
    path = tmp_path / "w.db"
    outcomes = run_together(write_batches, [(str(path), 3.0)] * 2)
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    largest = max(wal for _, wal in outcomes)
    assert largest < 3 * WAL_BACKSTOP_PAGES * 4096, f"WAL reached {largest / 1e6:.0f} MB"
    db = Database(path, read_only=True)
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone()[0] == sum(r for r, _ in outcomes)
    db.close()
