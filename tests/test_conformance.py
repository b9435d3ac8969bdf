"""LangGraph's official checkpointer conformance suite: every capability, none skipped, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES
from langgraph.checkpoint.conformance.report import ProgressCallbacks

from langgraph_sharedmem import SharedMemorySaver


@checkpointer_test(name="SharedMemorySaver")
async def shared_memory_saver() -> AsyncIterator[SharedMemorySaver]:
    with tempfile.TemporaryDirectory() as tmp:
        async with SharedMemorySaver.from_conn_string(Path(tmp) / "conf.db") as saver:
            yield saver


async def test_conformance_all_capabilities_pass() -> None:
    report = await validate(shared_memory_saver, progress=ProgressCallbacks.verbose())
    failures = {cap: result.failures for cap, result in report.results.items() if not result.passed}
    assert not failures, failures
    tested = {cap for cap, result in report.results.items() if result.detected}
    assert tested == {c.value for c in ALL_CAPABILITIES}, "a capability was skipped"
    assert all(r.tests_skipped == 0 for r in report.results.values())


async def test_conformance_all_capabilities_pass_on_postgres(postgres_db: str) -> None:
    import psycopg

    schemas = itertools.count()

    @checkpointer_test(name="SharedMemorySaver[postgres]")
    async def postgres_saver() -> AsyncIterator[SharedMemorySaver]:
        # A fresh schema per saver: as empty as the SQLite suite's fresh file, and cheaper
        # than a database.
        schema = f"conformance_{next(schemas)}"
        with psycopg.connect(postgres_db, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        url = f"{postgres_db}?options=-csearch_path%3D{schema}"
        async with SharedMemorySaver.from_conn_string(url, pool_size=2) as saver:
            yield saver

    report = await validate(postgres_saver, progress=ProgressCallbacks.verbose())
    failures = {cap: result.failures for cap, result in report.results.items() if not result.passed}
    assert not failures, failures
    tested = {cap for cap, result in report.results.items() if result.detected}
    assert tested == {c.value for c in ALL_CAPABILITIES}, "a capability was skipped"
    assert all(r.tests_skipped == 0 for r in report.results.values())


@pytest.mark.parametrize("in_memory", [False])
def test_saver_is_detected_with_every_extended_capability(in_memory: bool) -> None:
    from langgraph.checkpoint.conformance.capabilities import DetectedCapabilities

    with tempfile.TemporaryDirectory() as tmp, SharedMemorySaver(Path(tmp) / "x.db") as saver:
        assert not DetectedCapabilities.from_instance(saver).missing
