"""Property: any profile either round-trips exactly (as normalised) or is refused whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_sharedmem import InvalidConfigError, SharedMemory

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
LABEL = st.text(max_size=12)


def _count(path: Path) -> tuple[int, int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT count(*) FROM registry_agents").fetchone()[0]
        logged = conn.execute("SELECT count(*) FROM changes WHERE kind = 'agent'").fetchone()[0]
        return rows, logged
    finally:
        conn.close()


def test_profiles_round_trip_or_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "props.db"
    with SharedMemory.open(path, index=None) as mem:
        reg = mem.registry
        reg.register("probe", description="first")
        outcomes = {"stored": 0, "refused": 0}

        @settings(max_examples=80, deadline=None)
        @given(
            description=st.text(max_size=40),
            capabilities=st.lists(LABEL, max_size=4),
            tools=st.lists(LABEL, max_size=3),
            trust=st.floats(min_value=-0.5, max_value=1.5) | st.integers(-1, 2),
            metadata=st.dictionaries(st.text(max_size=5), JSON, max_size=3),
            owner=st.none() | LABEL,
        )
        def check(**profile: Any) -> None:
            before = reg.get("probe")
            counts = _count(path)
            try:
                got = reg.register("probe", **profile)
            except InvalidConfigError:
                assert reg.get("probe") == before  # refused whole
                assert _count(path) == counts
                outcomes["refused"] += 1
                return
            assert got == reg.get("probe")
            assert got.description == profile["description"]
            caps = list(dict.fromkeys(c.strip().lower() for c in profile["capabilities"]))
            assert list(got.capabilities) == caps
            assert list(got.tools) == list(dict.fromkeys(t.strip() for t in profile["tools"]))
            assert got.trust == profile["trust"] and got.owner == profile["owner"]
            assert got.metadata == profile["metadata"]
            assert _count(path)[0] == 1
            outcomes["stored"] += 1

        check()
        assert outcomes["stored"] > 0 and outcomes["refused"] > 0, outcomes
