"""`SharedMemory.open("postgresql://...")`: the ported parts work together on one database,
the others refuse by name."""

from __future__ import annotations

import pytest

from langgraph_sharedmem import InvalidConfigError, SharedMemory


def test_facts_tool_cache_and_changes_share_one_postgresql_database(postgres_db: str) -> None:
    with SharedMemory.open(postgres_db) as mem:
        assert mem.db.dialect == "postgres"
        with mem.changes.subscribe("audit", start="earliest") as sub:
            change = mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
            assert mem.facts.get("app", "acme", "plan").value == "pro"  # type: ignore[union-attr]
            [seen] = sub.poll(timeout=5)
            assert (seen.kind, seen.key, seen.data["version"]) == (
                "fact",
                "acme/plan",
                change.version,
            )
        calls: list[int] = []

        @mem.tool_cache.cached(scope="app")
        def square(x: int) -> int:
            calls.append(x)
            return x * x

        assert square(3) == square(3) == 9 and calls == [3]
        with pytest.raises(InvalidConfigError, match="mem.store does not run on PostgreSQL"):
            _ = mem.store
    # Reopened: everything is still there, and the schema is not created twice.
    with SharedMemory.open(postgres_db) as mem:
        assert mem.facts.get("app", "acme", "plan").version == 1  # type: ignore[union-attr]
        assert mem.tool_cache.shared_stats().runs == 1
