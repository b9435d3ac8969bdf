"""The WAL is copied back into the database file by a background thread, not by commits."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from langgraph_sharedmem import Database

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
