"""Shared fixtures: every test gets its own real SQLite file in a temp dir, and, for
PostgreSQL, its own database on one throwaway server per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from langgraph_sharedmem import SharedMemorySaver
from tests._langgraph_lanes import is_suite_test, langgraph_suite_runs  # noqa: F401 (a fixture)

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


@pytest.fixture(params=["sqlite", "postgres"])
def saver_conn(request: pytest.FixtureRequest, db_path: Path) -> str | Path:
    """What backend-neutral tests open: the test's SQLite file, or its PostgreSQL database."""
    if request.param == "sqlite":
        return db_path
    return str(request.getfixturevalue("postgres_db"))


@pytest.fixture
def saver(saver_conn: str | Path) -> Iterator[SharedMemorySaver]:
    with SharedMemorySaver.from_conn_string(saver_conn) as s:
        yield s


@pytest.fixture(params=["sqlite", "postgres"])
def store_conn(request: pytest.FixtureRequest, db_path: Path) -> str | Path:
    """What backend-neutral store tests open: the test's SQLite file or PostgreSQL database."""
    if request.param == "sqlite":
        return db_path
    return str(request.getfixturevalue("postgres_db"))


@pytest.fixture
def open_store(store_conn: str | Path, tmp_path: Path) -> Any:
    """``open_store(**options)``: a `SharedMemoryStore` on the test's backend. On PostgreSQL
    the Chroma index is a directory of the test (the store's default there is none)."""
    from langgraph_sharedmem import SharedMemoryStore

    def open_(**options: Any) -> SharedMemoryStore:
        if isinstance(store_conn, str) and "chroma" not in options:
            options["chroma"] = str(tmp_path / "chroma")
        return SharedMemoryStore(store_conn, **options)

    return open_


# Why PostgreSQL tests were skipped, if they were: said again in the terminal summary.
_POSTGRES_MISSING: list[str] = []


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of a throwaway PostgreSQL server shared by the session (fsync off).

    Where no server can be started the PostgreSQL tests are skipped -- except under CI
    (env ``CI`` set), where that is an error: CI must run them.
    """
    from tests._servers import PostgresUnavailable, postgres_server

    try:
        with postgres_server() as url:
            yield url
    except PostgresUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests, but no server starts: {exc}")
        _POSTGRES_MISSING.append(str(exc))
        pytest.skip(f"no PostgreSQL server can be started here: {exc}")


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[str]:
    """The URL of a new, empty database on the session's server, dropped after the test."""
    from tests._servers import fresh_database

    with fresh_database(postgres_url) as url:
        yield url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _POSTGRES_MISSING:
        terminalreporter.section("PostgreSQL tests SKIPPED", sep="!", red=True, bold=True)
        terminalreporter.line(
            "No throwaway PostgreSQL server could be started, so every PostgreSQL test was "
            f"skipped: {_POSTGRES_MISSING[0]}",
            red=True,
            bold=True,
        )


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs a backend-neutral test on both backends: a fresh SQLite file's path, then a
    fresh PostgreSQL database's URL (skipped, loudly, where no server can be started)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_db"))
    return str(tmp_path / "memory.db")


@pytest.fixture(scope="session", autouse=True)
def langgraph_suites_beside_the_session(request: pytest.FixtureRequest) -> None:
    """Starts LangGraph's suites, if the session runs them, with its first test: they use the
    core the session's other tests leave idle (tests/_langgraph_lanes.py)."""
    if any(is_suite_test(item) for item in request.session.items):
        request.getfixturevalue("langgraph_suite_runs")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The suites' tests wait for the suites: last, so that nothing waits behind them.
    items.sort(key=is_suite_test)
