"""Copying a LangGraph ``SqliteSaver`` database into a new langgraph-sharedmem database.

The source is read through LangGraph's own `SqliteSaver` (on a read-only connection, so it is
never changed) and written through `SharedMemorySaver.put` / ``put_writes``, the calls a graph
makes: checkpoint ids, parents, metadata, pending writes and their task paths are kept. Then
every copied checkpoint is read back and compared with the source; any difference removes the
new file and raises.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import CheckpointTuple

from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.cli.inspector import PartUnavailable
from langgraph_sharedmem.core.backend import is_postgres_url
from langgraph_sharedmem.core.sqlite import Database, parse_conn_string
from langgraph_sharedmem.errors import DatabaseFileError
from langgraph_sharedmem.serde import StrictSerializer

__all__ = ["ImportReport", "import_sqlite_saver"]

Progress = Callable[[int], None]


@dataclass
class ImportReport:
    """What `import_sqlite_saver` copied (and verified)."""

    threads: int = 0
    namespaces: int = 0
    checkpoints: int = 0
    writes: int = 0
    thread_ids: list[str] = field(default_factory=list)


def _sqlite_saver_file(path: str) -> Database:
    if not Path(path).is_file():
        raise DatabaseFileError(f"cannot import {path!r}: no such file")
    db = Database(path, read_only=True)
    try:
        with db.read() as conn:
            tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master")}
            columns = (
                {row[1] for row in conn.execute("PRAGMA table_info(checkpoints)")}
                if "checkpoints" in tables
                else set()
            )
        if "_sqlite_migrations" in tables and "channel_versions" in columns:
            raise DatabaseFileError(
                f"cannot import {path!r}: it is already a langgraph-sharedmem database"
            )
        if not ({"checkpoints", "writes"} <= tables and "checkpoint" in columns):
            raise DatabaseFileError(
                f"cannot import {path!r}: it is not a LangGraph SqliteSaver database "
                "(no 'checkpoints' table with a 'checkpoint' column and 'writes' table)"
            )
    except BaseException:
        db.close()
        raise
    return db


def import_sqlite_saver(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    allowlist: Iterable[tuple[str, ...] | type] = (),
    progress: Progress | None = None,
) -> ImportReport:
    """Copy every thread, checkpoint and pending write of the SqliteSaver file ``source``
    into the new langgraph-sharedmem file ``target`` (which must not exist yet).

    Values are decoded strictly: a stored type outside LangGraph's safe types and
    ``allowlist`` raises `UnsafeDeserializationError` naming it. ``progress(n)`` is called
    after each thread namespace.
    """
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver
    except ImportError as exc:
        raise PartUnavailable(
            "import-sqlite-saver reads the file with LangGraph's SqliteSaver: "
            "pip install langgraph-checkpoint-sqlite"
        ) from exc

    if is_postgres_url(source):
        raise DatabaseFileError(
            "cannot import from a PostgreSQL database: a SqliteSaver database is a SQLite file"
        )
    if is_postgres_url(target):
        # The import writes many transactions and removes its target if any check fails:
        # a new file, never a server's database that may hold other data.
        raise DatabaseFileError(
            "import-sqlite-saver writes a new SQLite file; to move it to PostgreSQL, "
            "run 'sharedmem copy NEW_FILE postgresql://...' afterwards"
        )
    # sqlite:/// URLs name the files they name everywhere else in the package.
    src, dst = parse_conn_string(source), parse_conn_string(target)
    if Path(dst).exists():
        raise DatabaseFileError(
            f"cannot import into {dst!r}: the file exists; the import writes a new database"
        )
    allowlist = tuple(allowlist)
    source_db = _sqlite_saver_file(src)
    report = ImportReport()
    try:
        reader = SqliteSaver(source_db.conn, serde=StrictSerializer(allowlist))
        with source_db.read() as conn:
            groups = conn.execute(
                "SELECT DISTINCT thread_id, checkpoint_ns FROM checkpoints "
                "ORDER BY thread_id, checkpoint_ns"
            ).fetchall()
            has_path = "task_path" in {r[1] for r in conn.execute("PRAGMA table_info(writes)")}
        try:
            with SharedMemorySaver(dst, allowlist=allowlist) as writer:
                for thread_id, ns in groups:
                    copied = _copy_namespace(reader, writer, source_db, thread_id, ns, has_path)
                    report.checkpoints += len(copied)
                    report.writes += sum(len(t.pending_writes or ()) for t in copied)
                    _verify(writer, thread_id, ns, copied)
                    report.namespaces += 1
                    if thread_id not in report.thread_ids:
                        report.thread_ids.append(thread_id)
                    if progress is not None:
                        progress(1)
        except BaseException:
            for suffix in ("", "-wal", "-shm"):
                Path(dst + suffix).unlink(missing_ok=True)
            raise
    finally:
        source_db.close()
    report.threads = len(report.thread_ids)
    return report


def _copy_namespace(
    reader: Any,
    writer: SharedMemorySaver,
    source_db: Database,
    thread_id: str,
    ns: str,
    has_path: bool,
) -> list[CheckpointTuple]:
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
    tuples = list(reader.list(config))
    tuples.reverse()  # oldest first: ids are time-ordered, parents before children
    versions: dict[str, dict[str, Any]] = {}
    paths: dict[tuple[str, str], str] = {}
    if has_path:
        with source_db.read() as conn:
            for checkpoint_id, task_id, path in conn.execute(
                "SELECT checkpoint_id, task_id, task_path FROM writes "
                "WHERE thread_id = ? AND checkpoint_ns = ?",
                (thread_id, ns),
            ):
                paths[(checkpoint_id, task_id)] = path
    for t in tuples:
        checkpoint = t.checkpoint
        parent = (t.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        before = versions.get(parent or "", {})
        new_versions = {
            c: v for c, v in checkpoint["channel_versions"].items() if before.get(c) != v
        }
        versions[checkpoint["id"]] = dict(checkpoint["channel_versions"])
        put_config: RunnableConfig = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": parent}
        }
        stored = writer.put(put_config, checkpoint, t.metadata, new_versions)
        by_task: dict[str, list[tuple[str, Any]]] = {}
        for task_id, channel, value in t.pending_writes or ():
            by_task.setdefault(task_id, []).append((channel, value))
        for task_id, writes in by_task.items():
            path = paths.get((checkpoint["id"], task_id), "")
            writer.put_writes(stored, writes, task_id, path)
    return tuples


def _verify(
    writer: SharedMemorySaver, thread_id: str, ns: str, copied: list[CheckpointTuple]
) -> None:
    config: RunnableConfig = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns}}
    stored = sum(1 for _ in writer.list(config))
    if stored != len(copied):
        raise DatabaseFileError(
            f"import check failed: thread {thread_id!r} ({ns!r}) has {len(copied)} checkpoints "
            f"in the source but {stored} were stored"
        )
    for t in copied:
        cid = t.checkpoint["id"]
        got = writer.get_tuple(
            {"configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": cid}}
        )
        if got is None:
            raise DatabaseFileError(f"import check failed: checkpoint {cid!r} was not stored")
        want_parent = (t.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        got_parent = (got.parent_config or {}).get("configurable", {}).get("checkpoint_id")
        if (
            got.checkpoint["channel_values"] != t.checkpoint["channel_values"]
            or got.checkpoint["channel_versions"] != t.checkpoint["channel_versions"]
            or got_parent != want_parent
            or sorted(map(repr, got.pending_writes or ()))
            != sorted(map(repr, t.pending_writes or ()))
        ):
            raise DatabaseFileError(
                f"import check failed: checkpoint {cid!r} of thread {thread_id!r} reads back "
                "different from the source"
            )
