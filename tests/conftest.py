"""Shared fixtures: every test gets its own real SQLite file in a temp dir."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from langgraph_sharedmem import SharedMemorySaver

# CI draws the same examples on every run (derandomize), so a landing never hangs on a draw
# no one can reproduce; new examples are explored on developers' machines and under
# SHAREDMEM_STRESS_SCALE. Registered before tests/adversarial/conftest.py builds its profile
# from the default, which it inherits.
if os.environ.get("CI"):
    settings.register_profile("ci", derandomize=True, database=None)
    settings.load_profile("ci")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memory.db"


@pytest.fixture
def saver(db_path: Path) -> Iterator[SharedMemorySaver]:
    with SharedMemorySaver.from_conn_string(db_path) as s:
        yield s
