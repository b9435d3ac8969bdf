"""LangGraph Studio (``langgraph dev``) on a shared memory.

``langgraph.json`` names a checkpointer and a store factory; these are them::

    {
      "graphs": {"team": "./graphs.py:graph"},
      "checkpointer": {"path": "./graphs.py:checkpointer"},
      "store": {"path": "./graphs.py:store"}
    }

    # graphs.py
    from langgraph_sharedmem.cli.studio import checkpointer, memory, store
    graph = build(memory()).compile()        # no checkpointer of its own: the server adds ours

Every factory and graph of the server process shares one `SharedMemory` per file
(`memory()`; the path from ``$SHAREDMEM_DB``, default ``studio.db``). The factories open it on
a worker thread: ``langgraph dev`` fails anything that blocks its event loop.

The dev server keeps its own list of threads (``langgraph_runtime_inmem``: a list of thread
records in memory, pickled to ``.langgraph_api/.langgraph_ops.pckl``), and lists only threads
it created. `register_threads` adds the threads of the database it does not know yet: inside
the server (the checkpointer factory does it at startup, see ``register``) or, with the
server stopped, in its pickle file. Thread ids must be UUIDs there; others are copied to a
UUID thread only when asked (``copy_non_uuid=True``).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.checkpoint import queries as checkpoint_queries
from langgraph_sharedmem.checkpoint.queries import checkpoint_time
from langgraph_sharedmem.cli._open import open_database
from langgraph_sharedmem.core.backend import is_postgres_url
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.shared import SharedMemory
from langgraph_sharedmem.store import SharedMemoryStore

__all__ = [
    "Registration",
    "checkpointer",
    "close_memories",
    "memory",
    "register_threads",
    "store",
    "thread_records",
]

DB_ENV = "SHAREDMEM_DB"
GRAPH_ENV = "SHAREDMEM_STUDIO_GRAPH"
DEFAULT_DB = "studio.db"
OPS_FILE = Path(".langgraph_api") / ".langgraph_ops.pckl"
# Namespace of the UUIDs given to copies of threads whose ids are not UUIDs (stable: copying
# twice finds the first copy).
COPY_NAMESPACE = uuid.UUID("6f1d3c3e-2b7a-5c1e-9a55-5ea4ed3e3a11")

_lock = threading.Lock()
_memories: dict[str, SharedMemory] = {}
_users: dict[str, int] = {}


# Relative paths resolved so far. os.path.abspath calls os.getcwd, which the dev server's
# blockbuster fails on its event loop: a graph node calling memory() with the quick start's
# SHAREDMEM_DB=studio.db failed every run. The factories and graph imports resolve the path
# first, off the loop; later calls find it here.
_resolved: dict[str, str] = {}


def db_path(path: str | os.PathLike[str] | None = None) -> str:
    """The database of this server: ``path``, else ``$SHAREDMEM_DB``, else ``studio.db``;
    a relative path is taken from the working directory when first resolved, a
    ``postgresql://`` URL is kept as it is."""
    raw = os.fspath(path or os.environ.get(DB_ENV) or DEFAULT_DB)
    if is_postgres_url(raw):
        return raw
    found = _resolved.get(raw)
    if found is None:
        found = _resolved.setdefault(raw, os.path.abspath(raw))
    return found


def memory(path: str | os.PathLike[str] | None = None, **options: Any) -> SharedMemory:
    """The process's `SharedMemory` on ``path`` (see `db_path`), opened on first use.

    Blocks (it opens the file): call it at import time or from a worker thread, never on
    the server's event loop.
    """
    key = db_path(path)
    with _lock:
        mem = _memories.get(key)
        if mem is None:
            mem = SharedMemory.open(key, **options)
            mem.checkpointer.setup()
            mem.store.setup()
            _memories[key] = mem
        return mem


def close_memories() -> None:
    """Close every memory `memory()` opened in this process (tests, scripts)."""
    with _lock:
        opened = list(_memories.values())
        _memories.clear()
        _users.clear()
    for mem in opened:
        mem.close()


def _acquire(path: str | None) -> SharedMemory:
    mem = memory(path)
    with _lock:
        _users[mem.db.path] = _users.get(mem.db.path, 0) + 1
    return mem


def _release(mem: SharedMemory) -> None:
    with _lock:
        left = _users.get(mem.db.path, 1) - 1
        _users[mem.db.path] = left
        if left > 0:
            return
        # By identity: a URL's key is not its (password-redacted) ``db.path``.
        for key in [k for k, m in _memories.items() if m is mem]:
            del _memories[key]
    mem.close()


@asynccontextmanager
async def checkpointer(path: str | None = None) -> AsyncIterator[SharedMemorySaver]:
    """The ``checkpointer`` factory of ``langgraph.json``: our saver on the shared file.

    At startup it also lists the database's threads in the dev server (`register`), for
    the graph named by ``$SHAREDMEM_STUDIO_GRAPH`` if set.
    """
    mem = await asyncio.to_thread(_acquire, path)
    try:
        graph_id = os.environ.get(GRAPH_ENV)
        if graph_id and _running_runtime() is not None:
            await register(mem, graph_id=graph_id)
        yield mem.checkpointer
    finally:
        await asyncio.to_thread(_release, mem)


@asynccontextmanager
async def store(path: str | None = None) -> AsyncIterator[SharedMemoryStore]:
    """The ``store`` factory of ``langgraph.json``: our store on the shared file."""
    mem = await asyncio.to_thread(_acquire, path)
    try:
        yield mem.store
    finally:
        await asyncio.to_thread(_release, mem)


# -- thread records ------------------------------------------------------------------------


@dataclass
class Registration:
    """What `register_threads` did: thread ids added, already known, and skipped (not UUIDs),
    and the copies made of non-UUID threads (original id -> new id)."""

    added: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    copied: dict[str, str] = field(default_factory=dict)


def _state_values(values: dict[str, Any]) -> dict[str, Any]:
    # Channels such as "__start__" or "branch:to:node" are LangGraph's bookkeeping, not state.
    return {k: v for k, v in values.items() if not k.startswith("__") and ":" not in k}


def thread_records(
    mem: SharedMemory,
    *,
    graph_id: str,
    thread_ids: Sequence[str] | None = None,
    copy_non_uuid: bool = False,
    report: Registration | None = None,
) -> list[dict[str, Any]]:
    """Thread records (the inmem runtime's ``Thread`` dicts) for threads of the database:
    every thread with a root checkpoint, or ``thread_ids``. Blocking; not on an event loop."""
    report = report if report is not None else Registration()
    saver = mem.checkpointer
    saver.setup()
    if thread_ids is None:
        with mem.db.read() as conn:
            thread_ids = checkpoint_queries.thread_ids(conn, with_root=True)
    records = []
    for thread_id in thread_ids:
        try:
            uid = uuid.UUID(str(thread_id))
            target = str(thread_id)
            origin = None
        except ValueError:
            if not copy_non_uuid:
                report.skipped.append(str(thread_id))
                continue
            uid = uuid.uuid5(COPY_NAMESPACE, str(thread_id))
            target, origin = str(uid), str(thread_id)
            if saver.get_tuple({"configurable": {"thread_id": target}}) is None:
                saver.copy_thread(origin, target)
            report.copied[origin] = target
        latest = saver.get_tuple({"configurable": {"thread_id": target, "checkpoint_ns": ""}})
        if latest is None:
            continue
        metadata = dict(latest.metadata or {})
        created = checkpoint_time(latest.checkpoint["id"]) or latest.checkpoint["ts"]
        at = datetime.fromisoformat(created)
        thread_metadata: dict[str, Any] = {
            "graph_id": metadata.get("graph_id") or graph_id,
            "registered_by": "langgraph-sharedmem",
        }
        if origin is not None:
            thread_metadata["source_thread_id"] = origin
        if metadata.get("assistant_id"):
            thread_metadata["assistant_id"] = metadata["assistant_id"]
        records.append(
            {
                "thread_id": uid,
                "created_at": at,
                "updated_at": at,
                "state_updated_at": at,
                "metadata": thread_metadata,
                "status": "idle",
                "config": {},
                "values": _state_values(dict(latest.checkpoint.get("channel_values", {}))),
                "interrupts": {},
            }
        )
    return records


def _merge(
    threads: list[dict[str, Any]], records: list[dict[str, Any]], report: Registration
) -> None:
    known = {t["thread_id"] for t in threads}
    for record in records:
        if record["thread_id"] in known:
            report.known.append(str(record["thread_id"]))
        else:
            threads.append(record)
            report.added.append(str(record["thread_id"]))


def _running_runtime() -> Any:
    """The inmem runtime's global store if this process is a running dev server."""
    database = sys.modules.get("langgraph_runtime_inmem.database")
    if database is None:
        return None
    return database.GLOBAL_STORE if "threads" in database.GLOBAL_STORE else None


def register_threads(
    source: SharedMemory | str | os.PathLike[str],
    *,
    graph_id: str,
    thread_ids: Sequence[str] | None = None,
    copy_non_uuid: bool = False,
    project_dir: str | os.PathLike[str] = ".",
) -> Registration:
    """List the database's threads in the ``langgraph dev`` server of ``project_dir``.

    With the server stopped, writes its ``.langgraph_api/.langgraph_ops.pckl`` (the server
    loads it at start); inside a running server process, adds to its live list instead.
    ``graph_id`` is the graph of ``langgraph.json`` whose state the threads hold (a
    checkpoint made by the server records its own). Blocking; not on an event loop.
    """
    if not isinstance(graph_id, str) or not graph_id:
        raise InvalidConfigError(
            f"graph_id must be a graph name of langgraph.json, got {graph_id!r}"
        )
    own = not isinstance(source, SharedMemory)
    if isinstance(source, SharedMemory):
        mem = source
    else:  # an existing file only; copying threads writes
        mem = SharedMemory(open_database(source, writable=copy_non_uuid))
    report = Registration()
    try:
        records = thread_records(
            mem,
            graph_id=graph_id,
            thread_ids=thread_ids,
            copy_non_uuid=copy_non_uuid,
            report=report,
        )
    finally:
        if own:
            mem.close()
    live = _running_runtime()
    if live is not None:
        _merge(live["threads"], records, report)
        return report
    ops = Path(project_dir) / OPS_FILE
    data: dict[str, Any] = {}
    with _dev_server_config():
        if ops.exists():
            with ops.open("rb") as f:
                data = pickle.load(f)
        threads = data.setdefault("threads", [])
        for key in ("runs", "assistants", "assistant_versions", "crons"):
            data.setdefault(key, [])
        _merge(threads, records, report)
        ops.parent.mkdir(parents=True, exist_ok=True)
        tmp = ops.with_name(ops.name + ".tmp")
        with tmp.open("wb") as f:
            pickle.dump(data, f, 2)
        os.replace(tmp, ops)
    return report


# What `langgraph dev` puts in its environment before langgraph_api.config is imported
# (langgraph_api.cli.run_server's defaults). A server that ran leaves references to
# langgraph_api functions in its pickle; loading them imports that config, which without
# these fails with KeyError: "Config 'REDIS_URI' is missing".
_DEV_SERVER_ENV = {
    "REDIS_URI": "fake",
    "DATABASE_URI": ":memory:",
    "MIGRATIONS_PATH": "__inmem",
    "LANGGRAPH_RUNTIME_EDITION": "inmem",
}


@contextmanager
def _dev_server_config() -> Iterator[None]:
    added = [k for k in _DEV_SERVER_ENV if k not in os.environ]
    os.environ.update({k: _DEV_SERVER_ENV[k] for k in added})
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


async def register(mem: SharedMemory, *, graph_id: str) -> Registration:
    """`register_threads` from inside the server: records built on a worker thread, added to
    the live list on the event loop."""
    report = Registration()
    records = await asyncio.to_thread(thread_records, mem, graph_id=graph_id, report=report)
    live = _running_runtime()
    if live is None:
        raise InvalidConfigError("register() runs inside a `langgraph dev` server process")
    _merge(live["threads"], records, report)
    return report
