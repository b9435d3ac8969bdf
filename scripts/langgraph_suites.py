"""Run LangGraph's own test suites against SharedMemorySaver and SharedMemoryStore.

LangGraph's tests are not copied into this repository: this script downloads the sdists of
the *installed* ``langgraph`` and ``langgraph-checkpoint-sqlite`` into a cache directory,
unpacks them, and runs their tests with our saver and store put where theirs were:

* ``saver``: langgraph-checkpoint-sqlite's saver tests, with ``SqliteSaver`` and
  ``AsyncSqliteSaver`` bound to `SharedMemorySaver` in each test module.
* ``store``: its store tests, with ``SqliteStore`` and ``AsyncSqliteStore`` bound to
  `SharedMemoryStore`.
* ``memory``: langgraph-checkpoint's tests of InMemorySaver and InMemoryStore, with those
  names bound to ours on ``":memory:"``.
* ``graph``: langgraph's graph tests; our saver and store become the parameters of their
  ``sync_checkpointer``/``async_checkpointer``/``sync_store``/``async_store`` fixtures, and
  only the tests that take one of those fixtures run.
* ``graph-inline``: the other graph tests of modules that build ``InMemorySaver()``
  themselves, with that name bound to a `SharedMemorySaver` on ``":memory:"``.
* ``saver-postgres``, ``store-postgres``, ``memory-postgres``, ``graph-postgres``,
  ``graph-inline-postgres``: those suites with our saver and store on PostgreSQL: one
  throwaway server (``tests/_servers.py``, or the one named by
  ``$LANGGRAPH_SUITES_POSTGRES_URL``), one database per run and a fresh schema per test
  (per SQLite file, where a test names one); the store does exact vector search there (no
  Chroma). Their SQLite suite's expected failures hold for them too.
* ``conformance``: langgraph-checkpoint-conformance with every capability.

``--sample K`` runs about 1 in K tests of a suite, picked by a hash of the test id (the same
ones on every run).

A test that asserts a LangGraph-internal detail is listed in ``EXPECTED_FAILURES`` (run, and
must fail: strict xfail) or ``NOT_APPLICABLE`` (not run), each with its reason. Anything else
that fails makes the run fail.

Usage::

    python scripts/langgraph_suites.py                 # every suite, our backends only
    python scripts/langgraph_suites.py saver store     # some suites
    python scripts/langgraph_suites.py --baseline      # also LangGraph's own backends
    python scripts/langgraph_suites.py graph -- -k interrupt   # after --: to pytest
    python scripts/langgraph_suites.py graph-postgres --sample 4  # a fixed quarter of it

The same file is the pytest plugin the runs load (``-p langgraph_suites``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import fcntl
import fnmatch
import importlib.metadata
import itertools
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("LANGGRAPH_SUITES_CACHE", REPO / ".cache" / "langgraph-suites"))

# Environment variables the runner hands to the pytest plugin.
ENV_BACKEND = "LANGGRAPH_SUITES_BACKEND"  # "sharedmem" or "langgraph"
ENV_BASELINE = "LANGGRAPH_SUITES_BASELINE"  # "1": graph fixtures also keep LangGraph's params
ENV_RESULTS = "LANGGRAPH_SUITES_RESULTS"  # JSON-lines file of test outcomes
ENV_SUITE = "LANGGRAPH_SUITES_SUITE"
ENV_POSTGRES = "LANGGRAPH_SUITES_POSTGRES_URL"  # a server to use instead of starting one
ENV_PG_DATABASE = "LANGGRAPH_SUITES_PG_DATABASE"  # the run's database on that server
ENV_SAMPLE = "LANGGRAPH_SUITES_SAMPLE"  # "K": run the tests whose id hashes to 0 mod K

OURS = "sharedmem"

GRAPH_FIXTURES = ("sync_checkpointer", "async_checkpointer", "sync_store", "async_store")
# LangGraph's own parameters of those fixtures without docker (their NO_DOCKER lists).
GRAPH_BASELINE = {
    "sync_checkpointer": ("memory", "sqlite", "sqlite_aes"),
    "async_checkpointer": ("memory", "sqlite_aio"),
    "sync_store": ("in_memory",),
    "async_store": ("in_memory",),
}
# Under graph-postgres: LangGraph's PostgresSaver/PostgresStore on the same server (their
# fixtures make a database per test on DEFAULT_POSTGRES_URI, pointed at the run's server).
GRAPH_BASELINE_POSTGRES = {
    "sync_checkpointer": ("postgres",),
    "async_checkpointer": ("postgres_aio",),
    "sync_store": ("postgres",),
    "async_store": ("postgres_aio",),
}
CONFTEST_HOOK = (
    "\n# Added by langgraph-sharedmem's scripts/langgraph_suites.py: our saver and store join\n"
    "# the checkpointer/store fixtures.\n"
    "globals().update(__import__('langgraph_suites').graph_fixtures(globals()))\n"
)


@dataclass(frozen=True)
class Suite:
    name: str
    dist: str  # the PyPI distribution whose sdist holds the tests
    paths: tuple[str, ...]  # relative to the unpacked sdist
    # Module globals rebound to our classes when the backend is ours.
    rebind: dict[str, str] = field(default_factory=dict)
    # Seconds before a hung test fails with its stack.
    timeout: int = 30
    # LangGraph backends the same tests also run with under --baseline: "langgraph" is the
    # suite's own class unchanged; "inmemory" is InMemorySaver/InMemoryStore opened the way
    # the suite opens its class.
    references: tuple[str, ...] = ("langgraph", "inmemory")
    # The SQLite suite this one runs again with our backend on PostgreSQL: its expected
    # failures and not-applicable tests hold here too.
    postgres_of: str = ""

    @property
    def postgres(self) -> bool:
        return bool(self.postgres_of)

    @property
    def graph(self) -> bool:
        """Runs the graph tests that take the checkpointer/store fixtures."""
        return "graph" in (self.name, self.postgres_of)


SQLITE_SAVER_FILES = (
    "tests/test_sqlite.py",
    "tests/test_aiosqlite.py",
    "tests/test_get_delta_channel_history.py",
    "tests/test_delta_parent_walk.py",
    "tests/test_delta_channel_migration.py",
    "tests/test_writes_task_path_migration.py",
    "tests/test_conformance_delta.py",
)
SQLITE_STORE_FILES = ("tests/test_store.py", "tests/test_async_store.py", "tests/test_ttl.py")

SUITES: dict[str, Suite] = {
    "saver": Suite(
        "saver",
        "langgraph-checkpoint-sqlite",
        SQLITE_SAVER_FILES,
        rebind={"SqliteSaver": "saver", "AsyncSqliteSaver": "saver"},
    ),
    "store": Suite(
        "store",
        "langgraph-checkpoint-sqlite",
        SQLITE_STORE_FILES,
        rebind={"SqliteStore": "store", "AsyncSqliteStore": "async_store"},
    ),
    "graph": Suite("graph", "langgraph", ("tests",), timeout=180),
    # langgraph-checkpoint's own tests of InMemorySaver and InMemoryStore (BaseStore's
    # behaviour: namespaces, search paging, vector search), with those names bound to ours.
    "memory": Suite(
        "memory",
        "langgraph-checkpoint",
        ("tests/test_memory.py", "tests/test_store.py"),
        rebind={"InMemorySaver": "inline_saver", "InMemoryStore": "inline_store"},
        references=("langgraph",),
    ),
    # The graph tests that build an InMemorySaver() themselves instead of taking a fixture.
    "graph-inline": Suite(
        "graph-inline",
        "langgraph",
        ("tests",),
        rebind={"InMemorySaver": "inline_saver", "MemorySaver": "inline_saver"},
        timeout=180,
        references=("langgraph",),
    ),
}
# The same tests with ours on PostgreSQL: one server, a database per run, a schema per test.
for _name in ("saver", "store", "memory", "graph", "graph-inline"):
    SUITES[f"{_name}-postgres"] = dataclasses.replace(
        SUITES[_name], name=f"{_name}-postgres", references=(), postgres_of=_name
    )

DEFAULT_SUITES = (
    "conformance", "saver", "store", "memory", "graph", "graph-inline",
    "saver-postgres", "store-postgres", "memory-postgres", "graph-postgres",
    "graph-inline-postgres",
)  # fmt: skip

# Tests that assert a detail of the class they were written for, not of the interface. They
# run with our backend and must fail (strict xfail): if one starts passing, its entry goes.
# Keys are fnmatch patterns over "suite::nodeid"; several take the class's parameters.
_WRITES = (
    "expects checkpoint metadata to keep the deprecated `writes` key, as SqliteSaver and "
    "InMemorySaver do; LangGraph's get_serializable_checkpoint_metadata (used by "
    "PostgresSaver and ours) drops it"
)
_STORAGE = "reads InMemorySaver's internal dicts (.storage, .blobs)"
_PER_VERSION = (
    "puts a channel value without a new version (new_versions={}); savers that store values "
    "per (channel, version) -- InMemorySaver, PostgresSaver, ours -- never see it, SqliteSaver "
    "stores the whole checkpoint as one blob"
)
_ASYNC_TTL = (
    "AsyncSqliteStore's sweep_ttl()/start_ttl_sweeper()/stop_ttl_sweeper() are coroutines; "
    "SharedMemoryStore serves sync and async callers with sync ones plus asweep_ttl()"
)
_AGENT_ACTION = (
    "keeps LangChain's AgentAction (a library class) in a TypedDict state: the strict "
    "serializer loads library classes only when listed (allowlist=[AgentAction]); "
    "LangGraph itself allows it only under LANGGRAPH_STRICT_MSGPACK, from the schema"
)
EXPECTED_FAILURES: dict[str, str] = {
    # -- saver (langgraph-checkpoint-sqlite tests/test_sqlite.py, test_aiosqlite.py, ...)
    "saver::tests/test_sqlite.py::TestSqliteSaver::test_combined_metadata": _WRITES,
    "saver::tests/test_sqlite.py::TestSqliteSaver::test_search": _WRITES,
    "saver::tests/test_aiosqlite.py::TestAsyncSqliteSaver::test_combined_metadata": _WRITES,
    "saver::tests/test_aiosqlite.py::TestAsyncSqliteSaver::test_asearch": _WRITES,
    "saver::tests/test_sqlite.py::TestSqliteSaver::test_informative_async_errors": (
        "SqliteSaver is sync-only and raises NotImplementedError naming AsyncSqliteSaver; "
        "SharedMemorySaver is one class serving both"
    ),
    "saver::*::test_seed_present_when_snapshot_in_ancestor_*": _PER_VERSION,
    "saver::tests/test_delta_parent_walk.py::test_*walk_reaches_parent_whatever_the_id_order*": (
        _PER_VERSION
    ),
    "saver::tests/test_delta_parent_walk.py::test_*_empty_checkpoint_id_reads_from_the_latest_*": (
        _PER_VERSION
    ),
    "saver::tests/test_delta_parent_walk.py::test_walk_reaches_root_of_long_chain_*": _PER_VERSION,
    # -- store (tests/test_store.py, test_async_store.py, test_ttl.py)
    "store::tests/test_store.py::test_nonnull_migrations": (
        "reads SqliteStore.MIGRATIONS, the SQL of LangGraph's own schema"
    ),
    "store::tests/test_store.py::test_vector_store_initialization": (
        "reads SqliteStore's .embeddings and .conn and looks for its vector tables by name"
    ),
    "store::tests/test_store.py::test_sql_injection_filter_values*": (
        "a NUL character in a filter value raises InvalidConfigError: SQLite's JSON functions "
        "cut text at NUL, so no answer would be exact; LangGraph's test expects 0 results"
    ),
    # -- store-postgres (the same tests, ours on PostgreSQL; its other entries are store's)
    "store-postgres::tests/test_store.py::test_sql_injection_filter_values*": (
        "a NUL character in a filter value raises InvalidConfigError, as on SQLite: "
        "PostgreSQL's jsonb cannot hold NUL (stored documents keep U+FFFD there), so no "
        "answer would be exact; LangGraph's test expects 0 results"
    ),
    # -- graph (langgraph tests/ through the checkpointer fixtures)
    "graph::tests/test_large_cases_async.py::test_conditional_graph_state*": _AGENT_ACTION,
    # -- memory (langgraph-checkpoint tests/test_memory.py, test_store.py)
    "memory::tests/test_memory.py::TestMemorySaver::test_combined_metadata": _WRITES,
    "memory::tests/test_memory.py::TestMemorySaver::test_search": _WRITES,
    "memory::tests/test_memory.py::TestMemorySaver::test_asearch": _WRITES,
    "memory::*::TestInMemorySaverDeltaChannel::test_load_blobs_omits_delta_channel": _STORAGE,
    "memory::*::TestInMemorySaverDeltaChannel::test_get_channel_writes_collects_*": _STORAGE,
    "memory::*::TestInMemorySaverDeltaChannel::test_get_channel_writes_at_root_*": _STORAGE,
    "memory::*::TestBaseFallbackGetChannelWrites::test_*fallback*": _STORAGE,
    "memory::*::TestPreDeltaBlobTerminator::test_seed_*": _STORAGE,
    # -- graph-inline (langgraph tests/ that build InMemorySaver() themselves)
    "graph-inline::tests/test_channels.py::test_delta_channel_snapshot_version_based": _STORAGE,
    "store::tests/test_async_store.py::test_no_running_loop*": (
        "AsyncSqliteStore refuses sync calls from the event loop thread; "
        "SharedMemoryStore serves sync and async calls from any thread"
    ),
    "store::tests/test_ttl.py::test_ttl_override_default": (
        "relies on SqliteStore not refreshing TTLs on get when refresh_on_read is unset; "
        "TTLConfig documents refresh_on_read defaulting to True (BaseStore.get passes "
        "refresh_ttl=True), so ours keeps the item read at t=2s alive past t=6s"
    ),
    "store::tests/test_ttl.py::test_async_ttl_basic": _ASYNC_TTL,
    "store::tests/test_ttl.py::test_async_ttl_refresh": _ASYNC_TTL,
    "store::tests/test_ttl.py::test_async_ttl_sweeper": _ASYNC_TTL,
    "store::tests/test_ttl.py::test_async_search_with_ttl": _ASYNC_TTL,
    "store::tests/test_ttl.py::test_async_asearch_refresh_ttl": _ASYNC_TTL,
}

# Tests not run with our backend: they never touch the saver/store under test (they call a
# LangGraph helper or read LangGraph's own SQL and schema), or cannot run in this setup.
NOT_APPLICABLE: dict[str, str] = {
    "saver::tests/test_sqlite.py::TestSqliteSaver::test_search_where": (
        "calls langgraph.checkpoint.sqlite.utils.search_where, a LangGraph SQL helper"
    ),
    "saver::tests/test_sqlite.py::TestSqliteSaver::test_metadata_predicate*": (
        "calls langgraph.checkpoint.sqlite.utils._metadata_predicate, a LangGraph SQL helper"
    ),
    "saver::tests/test_delta_parent_walk.py::test_walk_step_looks_up_the_parent_by_primary_key": (
        "EXPLAIN QUERY PLAN of SqliteSaver's DELTA_STAGE1_SQL on saver.conn"
    ),
    "saver::tests/test_writes_task_path_migration.py::*": (
        "migrations of SqliteSaver's legacy `writes` table, built by hand on saver.conn"
    ),
    "saver::tests/test_conformance_delta.py::*": (
        "asks the installed conformance package for a 'delta_channel_history' capability it "
        "does not have (fails for AsyncSqliteSaver too); the conformance suite runs apart"
    ),
    "store::tests/test_store.py::test_escape_glob_literal": "a LangGraph SQL helper",
    "store::tests/test_store.py::test_namespace_match_pattern": "a LangGraph SQL helper",
    "store::tests/test_store.py::test_list_namespaces_prefix_uses_indexable_condition": (
        "builds BaseSqliteStore's SQL and inspects it"
    ),
}


# ---------------------------------------------------------------------------------------------
# Our backends as LangGraph's tests construct theirs


class _Awaitable:
    """What our sync ``setup()`` returns here, so ``await store.setup()`` also works."""

    def __await__(self) -> Iterator[None]:
        return iter(())


_SCHEMAS = itertools.count(1)  # schema names, with the pid: unique in the run's database
_PG_TARGETS: dict[str, str] = {}  # a SQLite target their test named -> our schema's URL


def _postgres_target(target: Any) -> Any:
    """Where ours opens on PostgreSQL when LangGraph's test names a SQLite target: a new
    schema for ``":memory:"``, the same schema again for the same file (their tests reopen
    a file to see what persisted). Schemas go with the run's database."""
    import psycopg

    if not isinstance(target, (str, os.PathLike)):
        return target
    key = os.fspath(target)
    if key == ":memory:" or key not in _PG_TARGETS:
        url = os.environ[ENV_PG_DATABASE]
        schema = f"t{os.getpid()}_{next(_SCHEMAS)}"
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        _PG_TARGETS[key] = f"{url}?options=-csearch_path%3D{schema}"
    return _PG_TARGETS[key]


def _ours(name: str) -> type:
    """Our class ``name``; in a ``-postgres`` suite, opening PostgreSQL wherever a test
    names a SQLite file or ``":memory:"``."""
    import langgraph_sharedmem

    cls: type = getattr(langgraph_sharedmem, name)
    if not os.environ.get(ENV_PG_DATABASE):
        return cls

    class OnPostgres(cls):  # type: ignore[valid-type,misc]
        def __init__(self, conn: Any, **kwargs: Any) -> None:
            # Two connections are what one test uses; LangGraph's suites open hundreds.
            super().__init__(_postgres_target(conn), **{"pool_size": 2, **kwargs})

        @classmethod
        def from_conn_string(cls, conn_string: Any, **kwargs: Any) -> Any:
            return cls(conn_string, **kwargs)

    OnPostgres.__name__ = OnPostgres.__qualname__ = name
    return OnPostgres


def _store_classes() -> tuple[type, type]:
    SharedMemoryStore = _ours("SharedMemoryStore")

    class AsyncSetupStore(SharedMemoryStore):  # type: ignore[valid-type,misc]
        # AsyncSqliteStore's tests `await store.setup()`; ours is sync (asetup is the async
        # twin), so the result is made awaitable rather than changing what setup is.
        def setup(self) -> Any:  # type: ignore[override]
            super().setup()
            return _Awaitable()

    return SharedMemoryStore, AsyncSetupStore


def _inmemory_saver_class() -> type:
    from langgraph.checkpoint.memory import InMemorySaver

    class ConnStringInMemorySaver(InMemorySaver):
        # A second LangGraph reference for the saver tests, which open savers by conn string.
        @classmethod
        def from_conn_string(cls, conn_string: str, **kwargs: Any) -> Any:
            return cls()

        def setup(self) -> None:
            pass

    return ConnStringInMemorySaver


def _inmemory_store_class() -> type:
    from langgraph.store.memory import InMemoryStore

    class ConnStringInMemoryStore(InMemoryStore):
        @classmethod
        @contextlib.contextmanager
        def from_conn_string(cls, conn_string: str, *, index: Any = None, **kwargs: Any) -> Any:
            yield cls(index=index)

        def setup(self) -> Any:
            return _Awaitable()

    return ConnStringInMemoryStore


def _inline_saver_class() -> type:
    SharedMemorySaver = _ours("SharedMemorySaver")

    class NoArgSharedMemorySaver(SharedMemorySaver):  # type: ignore[valid-type,misc]
        # Their tests call InMemorySaver() with no arguments (or serde=...).
        def __init__(self, *, serde: Any = None, **kwargs: Any) -> None:
            super().__init__(":memory:", serde=serde)

    return NoArgSharedMemorySaver


def _inline_store_class() -> type:
    SharedMemoryStore = _ours("SharedMemoryStore")

    class NoArgSharedMemoryStore(SharedMemoryStore):  # type: ignore[valid-type,misc]
        # Their tests call InMemoryStore() or InMemoryStore(index=...).
        def __init__(self, *, index: Any = None, **kwargs: Any) -> None:
            super().__init__(":memory:", index=index, **kwargs)

    return NoArgSharedMemoryStore


def _rebinding(kind: str) -> Any:
    if kind == "inline_saver":
        return _inline_saver_class()
    if kind == "inline_store":
        return _inline_store_class()
    if os.environ.get(ENV_BACKEND) == "inmemory":
        return _inmemory_saver_class() if kind == "saver" else _inmemory_store_class()
    store, async_store = _store_classes()
    return {"saver": _ours("SharedMemorySaver"), "store": store, "async_store": async_store}[kind]


@contextlib.contextmanager
def _fresh_schema() -> Iterator[str]:
    """The URL of a new, empty schema in the run's PostgreSQL database, dropped after.

    A schema per test is as empty as the SQLite runs' fresh file and much cheaper than a
    database; ``search_path`` in the URL's options puts every table of ours there.
    """
    import psycopg

    url = os.environ[ENV_PG_DATABASE]
    schema = f"t{os.getpid()}_{next(_SCHEMAS)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def graph_fixtures(conftest: dict[str, Any]) -> dict[str, Any]:
    """Fixtures replacing langgraph's checkpointer/store fixtures in its tests/conftest.py.

    Their parameter names stay (``sqlite``, ``memory``, ...) when the baseline is asked for;
    ``sharedmem`` is ours: a `SharedMemorySaver`/`SharedMemoryStore` on a fresh SQLite file,
    or in a fresh PostgreSQL schema when the runner named a database (``graph-postgres``).
    """
    import pytest

    from langgraph_sharedmem import SharedMemorySaver, SharedMemoryStore

    baseline = os.environ.get(ENV_BASELINE) == "1"
    postgres = bool(os.environ.get(ENV_PG_DATABASE))

    @contextlib.contextmanager
    def where(tmp_path: Path, name: str) -> Iterator[Any]:
        """Where ours opens, and its options: a file, or a fresh schema with a small pool
        (two connections are what a graph run uses; LangGraph's tests open hundreds)."""
        if not postgres:
            yield tmp_path / name, {}
            return
        with _fresh_schema() as url:
            yield url, {"pool_size": 2}

    if baseline and postgres:
        # Their PostgreSQL fixtures read the server from these modules' constant.
        server = os.environ[ENV_PG_DATABASE].rsplit("/", 1)[0] + "/"
        for module in ("tests.conftest_checkpointer", "tests.conftest_store"):
            sys.modules[module].DEFAULT_POSTGRES_URI = server  # type: ignore[attr-defined]
    theirs = GRAPH_BASELINE_POSTGRES if postgres else GRAPH_BASELINE

    def params(name: str) -> list[str]:
        return [OURS, *theirs[name]] if baseline else [OURS]

    def their_cm(param: str, kind: str = "checkpointer") -> Any:
        # Their fixture bodies dispatch on the parameter to these context managers.
        name = "memory" if param == "in_memory" else param
        return conftest[f"_{kind}_{name}"]()

    @pytest.fixture(params=params("sync_checkpointer"))
    def sync_checkpointer(request: Any, tmp_path: Path) -> Iterator[Any]:
        if request.param == OURS:
            with (
                where(tmp_path, "checkpoints.db") as (conn, options),
                SharedMemorySaver(conn, **options) as saver,
            ):
                saver.setup()  # as their fixtures do: tables exist before the test's clock
                yield saver
        else:
            with their_cm(request.param) as saver:
                yield saver

    @pytest.fixture(params=params("async_checkpointer"))
    async def async_checkpointer(request: Any, tmp_path: Path) -> AsyncIterator[Any]:
        if request.param == OURS:
            with where(tmp_path, "checkpoints.db") as (conn, options):
                async with SharedMemorySaver(conn, **options) as saver:
                    await saver.asetup()
                    yield saver
        elif request.param == "memory":
            with their_cm(request.param) as saver:
                yield saver
        else:
            async with their_cm(request.param) as saver:
                yield saver

    @pytest.fixture(params=params("sync_store"))
    def sync_store(request: Any, tmp_path: Path) -> Iterator[Any]:
        if request.param == OURS:
            with (
                where(tmp_path, "store.db") as (conn, options),
                SharedMemoryStore(conn, **options) as store,
            ):
                store.setup()
                yield store
        else:
            with their_cm(request.param, "store") as store:
                yield store

    @pytest.fixture(params=params("async_store"))
    async def async_store(request: Any, tmp_path: Path) -> AsyncIterator[Any]:
        if request.param == OURS:
            with where(tmp_path, "store.db") as (conn, options):
                async with SharedMemoryStore(conn, **options) as store:
                    await store.asetup()
                    yield store
        elif request.param == "in_memory":
            with their_cm(request.param, "store") as store:
                yield store
        else:
            async with their_cm(request.param, "store") as store:
                yield store

    return {
        "sync_checkpointer": sync_checkpointer,
        "async_checkpointer": async_checkpointer,
        "sync_store": sync_store,
        "async_store": async_store,
    }


# ---------------------------------------------------------------------------------------------
# The pytest plugin (loaded in the runs with -p langgraph_suites)


def _suite_keys(item: Any) -> list[str]:
    """The keys the two tables know a test by: its suite's, and its SQLite twin's."""
    name = os.environ.get(ENV_SUITE, "?")
    suite = SUITES.get(name)
    names = [name, suite.postgres_of] if suite and suite.postgres else [name]
    return [f"{n}::{item.nodeid}" for n in names]


def _lookup(table: dict[str, str], keys: list[str]) -> str | None:
    """The reason of the first pattern matching the first key that any pattern matches (a
    ``-postgres`` suite's own entry before its SQLite twin's)."""
    for key in keys:
        for pattern, reason in table.items():
            if fnmatch.fnmatchcase(key, pattern):
                return reason
    return None


def _backend_of(item: Any) -> str:
    """Which backend a test exercises: ours whenever one of its fixtures is ours."""
    suite = SUITES.get(os.environ.get(ENV_SUITE, ""))
    if suite is None or not suite.graph:
        return os.environ.get(ENV_BACKEND, OURS)
    params = getattr(getattr(item, "callspec", None), "params", {})
    names = [params[f] for f in GRAPH_FIXTURES if f in params]
    return OURS if OURS in names else (names or ["none"])[0]


_BACKENDS: dict[str, str] = {}  # nodeid -> backend, for the results file


def _record(entry: dict[str, Any]) -> None:
    path = os.environ.get(ENV_RESULTS)
    if path:
        entry["backend"] = _BACKENDS.get(entry["nodeid"], os.environ.get(ENV_BACKEND, OURS))
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def _sampled(nodeid: str) -> bool:
    """In a ``--sample K`` run: whether this test is one of the 1 in K that run (a hash of
    its id, so the same tests on every run and machine)."""
    k = int(os.environ.get(ENV_SAMPLE) or 1)
    return k <= 1 or zlib.crc32(nodeid.encode()) % k == 0


def pytest_collection_modifyitems(session: Any, config: Any, items: list[Any]) -> None:
    import pytest

    suite = SUITES.get(os.environ.get(ENV_SUITE, ""))
    if suite is None:
        return
    if suite.rebind and os.environ.get(ENV_BACKEND, OURS) in (OURS, "inmemory"):
        for module in {item.module for item in items if getattr(item, "module", None)}:
            for name, kind in suite.rebind.items():
                if name in vars(module):
                    setattr(module, name, _rebinding(kind))
    keep, drop = [], []
    for item in items:
        keys = _suite_keys(item)
        backend = _BACKENDS[item.nodeid] = _backend_of(item)
        takes_fixture = bool(set(GRAPH_FIXTURES) & set(item.fixturenames))
        if suite.graph and not takes_fixture:
            drop.append(item)  # never meets a saver or store
            continue
        if not _sampled(item.nodeid):
            drop.append(item)
            continue
        if "graph-inline" in (suite.name, suite.postgres_of) and (
            takes_fixture or "InMemorySaver" not in vars(item.module)
        ):
            drop.append(item)  # the graph suite runs it, or it builds no InMemorySaver
            continue
        reason = _lookup(NOT_APPLICABLE, keys) if backend == OURS else None
        if reason:
            drop.append(item)
            _record({"nodeid": item.nodeid, "outcome": "not_applicable", "message": reason})
            continue
        keep.append(item)
        reason = _lookup(EXPECTED_FAILURES, keys) if backend == OURS else None
        if reason:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_runtest_logreport(report: Any) -> None:
    if report.when != "call" and report.outcome == "passed":
        return
    outcome = report.outcome
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
    elif report.failed and report.when != "call":
        outcome = "error"
    message = ""
    if report.failed:
        crash = getattr(report.longrepr, "reprcrash", None)
        message = crash.message if crash else str(report.longrepr)[-500:]
    _record(
        {
            "nodeid": report.nodeid,
            "outcome": outcome,
            "seconds": round(report.duration, 3),
            "message": message.splitlines()[0][:300] if message else "",
        }
    )


# ---------------------------------------------------------------------------------------------
# The runner


def sdist_root(dist: str) -> Path:
    """Download (once) and unpack the sdist of the installed version of ``dist``."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once must not unpack over each other
        return _unpacked(dist)


def _unpacked(dist: str) -> Path:
    version = importlib.metadata.version(dist)
    downloads = CACHE / "sdists"
    downloads.mkdir(parents=True, exist_ok=True)
    stem = f"{dist.replace('-', '_')}-{version}"
    names = {f"{dist}-{version}.tar.gz", f"{stem}.tar.gz"}
    if not any((downloads / name).exists() for name in names):
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", f"{dist}=={version}", "-d", str(downloads)],
            check=True,
        )  # fmt: skip
    (archive,) = [downloads / name for name in names if (downloads / name).exists()]
    root = CACHE / "src" / stem
    if not (root / ".ready").exists():
        shutil.rmtree(root, ignore_errors=True)
        with tarfile.open(archive) as tar, tempfile.TemporaryDirectory(dir=CACHE) as tmp:
            tar.extractall(tmp, filter="data")
            (inner,) = Path(tmp).iterdir()
            root.parent.mkdir(parents=True, exist_ok=True)
            inner.rename(root)
        # Only the tests are wanted: the tests must import the *installed* package, not
        # the sdist's copy that pytest's rootdir on sys.path would otherwise put first.
        shutil.rmtree(root / "langgraph", ignore_errors=True)
        conftest = root / "tests" / "conftest.py"
        if dist == "langgraph":
            conftest.write_text(conftest.read_text() + CONFTEST_HOOK)
        (root / ".ready").touch()
    return root


@dataclass
class Run:
    """One pytest run (or the conformance validation) and its per-test outcomes."""

    suite: str
    backend: str
    seconds: float
    returncode: int
    results: list[dict[str, Any]]
    log: Path
    selected: bool = False  # pytest arguments picked some tests: the tables need not all match

    def backends(self) -> list[str]:
        seen = dict.fromkeys(r.get("backend", self.backend) for r in self.results)
        return sorted(seen, key=lambda b: (b != OURS, b))

    def of(self, backend: str) -> list[dict[str, Any]]:
        return [r for r in self.results if r.get("backend", self.backend) == backend]


OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "not_applicable")
UNEXPECTED = ("failed", "error", "xpassed")


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """A new database for one run on $LANGGRAPH_SUITES_POSTGRES_URL's server, or else on a
    throwaway server started here (``tests/_servers.py``); dropped after the run."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from tests._servers import fresh_database, postgres_server

    with contextlib.ExitStack() as stack:
        server = os.environ.get(ENV_POSTGRES) or stack.enter_context(postgres_server())
        yield stack.enter_context(fresh_database(server))


def run_suite(
    suite: Suite, backend: str, *, baseline: bool, extra: list[str], sample: int = 1
) -> Run:
    if suite.postgres:
        with postgres_database() as database:
            return _run_suite(
                suite, backend, baseline=baseline, extra=extra, sample=sample, database=database
            )
    return _run_suite(suite, backend, baseline=baseline, extra=extra, sample=sample, database="")


def _run_suite(
    suite: Suite, backend: str, *, baseline: bool, extra: list[str], sample: int, database: str
) -> Run:
    root = sdist_root(suite.dist)
    out = CACHE / "runs"
    out.mkdir(parents=True, exist_ok=True)
    log = out / f"{suite.name}-{backend}.log"  # the latest run's output, kept to read
    env = dict(os.environ)
    env.update(
        {
            ENV_SUITE: suite.name,
            ENV_BACKEND: backend,
            ENV_BASELINE: "1" if baseline else "0",
            ENV_PG_DATABASE: database,
            ENV_SAMPLE: str(sample),
            "NO_DOCKER": "true",
            "PYTHONPATH": os.pathsep.join(
                [str(REPO / "scripts"), str(REPO), env.get("PYTHONPATH", "")]
            ),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    cmd = [
        sys.executable, "-m", "pytest", *suite.paths,
        "-p", "langgraph_suites", "-p", "no:cacheprovider",
        "-o", "addopts=", "-q", "--tb=line", "-rN",
        "-W", "ignore::DeprecationWarning",
    ]  # fmt: skip
    cmd.append(f"--timeout={suite.timeout}")
    cmd += extra
    with tempfile.TemporaryDirectory(prefix="lg-suites-") as tmp:
        results_path = Path(tmp) / "results.jsonl"
        env[ENV_RESULTS] = str(results_path)
        env["TMPDIR"] = tmp  # their temp files (and our Chroma dirs beside them) go here
        start = time.monotonic()
        with open(log, "w") as f:
            proc = subprocess.run(cmd, cwd=root, env=env, stdout=f, stderr=subprocess.STDOUT)
        seconds = time.monotonic() - start
        results = []
        if results_path.exists():
            results = [json.loads(line) for line in results_path.read_text().splitlines()]
    selected = bool(extra) or sample > 1
    return Run(suite.name, backend, seconds, proc.returncode, results, log, selected)


def run_conformance(backend: str) -> Run:
    """Every capability of langgraph-checkpoint-conformance against one saver."""
    from langgraph.checkpoint.conformance import checkpointer_test, validate

    start = time.monotonic()

    if backend == OURS:
        sys.path.insert(0, str(REPO))
        from langgraph_sharedmem import SharedMemorySaver

        @checkpointer_test(name="SharedMemorySaver")
        async def factory() -> AsyncIterator[Any]:
            with tempfile.TemporaryDirectory() as tmp:
                async with SharedMemorySaver(Path(tmp) / "conformance.db") as saver:
                    yield saver
    else:
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        @checkpointer_test(name="AsyncSqliteSaver")
        async def factory() -> AsyncIterator[Any]:
            async with AsyncSqliteSaver.from_conn_string(":memory:") as saver:
                yield saver

    report = asyncio.run(validate(factory))
    results = []
    for cap, result in report.results.items():
        outcome = "passed" if result.passed else ("skipped" if not result.detected else "failed")
        message = "; ".join(result.failures or [])[:300]
        results.append({"nodeid": f"capability:{cap}", "outcome": outcome, "message": message})
    return Run("conformance", backend, time.monotonic() - start, 0, results, Path("-"))


def stale_entries(runs: list[Run]) -> list[str]:
    """Patterns in the two tables that matched no test of a suite that ran whole with ours."""
    ran = {
        run.suite
        for run in runs
        if run.returncode in (0, 1) and run.backend == OURS and not run.selected
    }
    seen = [f"{run.suite}::{r['nodeid']}" for run in runs for r in run.of(OURS)]
    return [
        pattern
        for pattern in [*EXPECTED_FAILURES, *NOT_APPLICABLE]
        if pattern.split("::")[0] in ran
        and not any(fnmatch.fnmatchcase(key, pattern) for key in seen)
    ]


def summarize(runs: list[Run]) -> str:
    lines = []
    for run in runs:
        for backend in run.backends() or [run.backend]:
            results = run.of(backend)
            counts = " ".join(
                f"{o}={n}" for o in OUTCOMES if (n := sum(r["outcome"] == o for r in results))
            )
            lines.append(f"{run.suite:<12} {backend:<16} {run.seconds:6.1f}s  {counts}")
            if backend == OURS:
                lines += [
                    f"    {r['outcome'].upper()} {r['nodeid']}: {r['message']}"
                    for r in results
                    if r["outcome"] in UNEXPECTED
                ]
        if run.returncode not in (0, 1):
            lines.append(f"    PYTEST EXIT CODE {run.returncode}: see {run.log}")
    lines += [f"STALE ENTRY (matches no test): {p}" for p in stale_entries(runs)]
    return "\n".join(lines)


def ours_green(runs: list[Run]) -> bool:
    """True when every test run with our backend passed, failed as expected or was skipped."""
    ours = [run for run in runs if OURS in run.backends()]
    return (
        len(ours) == len({run.suite for run in runs})
        and all(run.returncode in (0, 1) for run in ours)
        and not any(r["outcome"] in UNEXPECTED for run in ours for r in run.of(OURS))
        and not stale_entries(runs)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "suites",
        nargs="*",
        default=list(DEFAULT_SUITES),
        help=f"any of conformance {' '.join(SUITES)} (default: {' '.join(DEFAULT_SUITES)})",
    )
    parser.add_argument("--baseline", action="store_true", help="also run LangGraph's backends")
    parser.add_argument("--json", type=Path, help="write every outcome here as JSON")
    parser.add_argument(
        "--sample",
        type=int,
        default=1,
        metavar="K",
        help="run about 1 in K tests of each suite, the same ones every run (default 1: all)",
    )
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []  # handed to pytest
    args = parser.parse_args(argv[: len(argv) - len(extra) - (1 if extra else 0)])

    runs: list[Run] = []
    for name in args.suites:
        if name == "conformance":
            backends = [OURS, "langgraph"] if args.baseline else [OURS]
            new = [run_conformance(backend) for backend in backends]
        elif SUITES[name].graph:
            # LangGraph's backends join as fixture parameters beside ours: one run.
            new = [
                run_suite(
                    SUITES[name], OURS, baseline=args.baseline, extra=extra, sample=args.sample
                )
            ]
        else:
            backends = [OURS, *SUITES[name].references] if args.baseline else [OURS]
            new = [
                run_suite(SUITES[name], b, baseline=False, extra=extra, sample=args.sample)
                for b in backends
            ]
        runs += new
        print(summarize(new), flush=True)

    green = ours_green(runs)
    print(f"\n{summarize(runs)}\n\n{'GREEN' if green else 'RED'}: {CACHE / 'runs'}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "suite": r.suite,
                        "backend": r.backend,
                        "seconds": round(r.seconds, 1),
                        "returncode": r.returncode,
                        "results": r.results,
                    }
                    for r in runs
                ],
                indent=1,
            )
        )
    return 0 if green else 1


if __name__ == "__main__":
    sys.exit(main())
