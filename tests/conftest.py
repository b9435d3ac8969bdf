"""Shared fixtures: every test gets its own real SQLite file in a temp dir."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from langgraph_sharedmem import SharedMemorySaver


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
def saver(db_path: Path) -> Iterator[SharedMemorySaver]:
    with SharedMemorySaver.from_conn_string(db_path) as s:
        yield s
