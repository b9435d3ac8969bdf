"""Several processes on one database file: normal use, not an edge case."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from langgraph_sharedmem import SharedMemorySaver
from tests._spawn import run_together
from tests._workers import build_chat_graph, open_and_chat

SCALE = float(os.environ.get("SHAREDMEM_STRESS_SCALE", "1"))


def _run_workers(path: Path, workers: int, turns: int) -> list[tuple[int, str | None]]:
    return run_together(open_and_chat, [(str(path), w, turns) for w in range(workers)])


def test_processes_opening_a_fresh_file_together_migrate_once(tmp_path: Path) -> None:
    rounds = max(1, int(3 * SCALE))
    for r in range(rounds):
        path = tmp_path / f"fresh-{r}.db"
        outcomes = _run_workers(path, workers=4, turns=3)
        errors = [err for _, err in outcomes if err]
        assert not errors, errors[0]
        with sqlite3.connect(path) as conn:
            migrations = conn.execute("SELECT name FROM _sqlite_migrations").fetchall()
            threads = conn.execute("SELECT count(DISTINCT thread_id) FROM checkpoints").fetchone()
        assert migrations == [
            ("0001_checkpoint_tables",),
            ("0002_zlib_preset_dictionary",),
            ("0003_null_channels_packed_writes",),
        ]
        assert threads == (4,)


@pytest.mark.slow
def test_processes_writing_different_threads_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    workers, turns = 4, max(3, int(25 * SCALE))
    outcomes = _run_workers(path, workers=workers, turns=turns)
    assert [err for _, err in outcomes if err] == []
    with SharedMemorySaver(path) as saver:
        graph = build_chat_graph(saver)
        for w in range(workers):
            messages = graph.get_state({"configurable": {"thread_id": f"worker-{w}"}}).values[
                "messages"
            ]
            assert [m.content for m in messages[::2]] == [f"w{w} t{t}" for t in range(turns)]
            assert len(messages) == 2 * turns
