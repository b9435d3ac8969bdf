"""Worker processes for the PostgreSQL tests (spawned: functions must be importable)."""

from __future__ import annotations

import traceback
from typing import Any

COUNTED = None  # built lazily: importing this module must not need psycopg


def counted_migrations() -> Any:
    """A set whose step also counts how often it ran: exactly once is the contract."""
    from langgraph_sharedmem.core.postgres import PostgresMigrations

    return PostgresMigrations(
        "tests.counted",
        [
            (
                "0001_counter",
                (
                    "CREATE TABLE counted (n integer NOT NULL)",
                    "INSERT INTO counted VALUES (1)",
                ),
            ),
            ("0002_more", ("INSERT INTO counted VALUES (2)",)),
        ],
        tables=("counted",),
    )


def open_and_migrate(url: str, barrier: Any, results: Any) -> None:
    try:
        from langgraph_sharedmem.core.backend import open_database

        migrations = counted_migrations()
        barrier.wait()
        db = open_database(url, migrations)
        try:
            db.migrate(migrations)
        finally:
            db.close()
        results.put("ok")
    except BaseException:
        results.put(traceback.format_exc())


def put_chains(
    url: str, worker: int, steps: int, threads: list[str], barrier: Any, results: Any
) -> None:
    """Grow one list per thread, a checkpoint and a pending write per step, on shared threads."""
    try:
        from langgraph.checkpoint.base import empty_checkpoint
        from langgraph.checkpoint.base.id import uuid6

        from langgraph_sharedmem import SharedMemorySaver

        with SharedMemorySaver(url) as saver:
            saver.setup()
            barrier.wait()
            version: str | None = None
            parents: dict[str, str | None] = dict.fromkeys(threads)
            for i in range(steps):
                for thread in threads:
                    version = saver.get_next_version(version, None)
                    checkpoint = empty_checkpoint()
                    checkpoint["id"] = str(uuid6(clock_seq=worker))
                    checkpoint["channel_values"] = {
                        "messages": [f"w{worker}-{j}" for j in range(i + 1)]
                    }
                    checkpoint["channel_versions"] = {"messages": version}
                    config = {
                        "configurable": {
                            "thread_id": thread,
                            "checkpoint_ns": "",
                            "checkpoint_id": parents[thread],
                        }
                    }
                    stored = saver.put(
                        config,  # type: ignore[arg-type]
                        checkpoint,
                        {"source": "loop", "step": i, "worker": worker},  # type: ignore[typeddict-unknown-key]
                        {"messages": version},
                    )
                    saver.put_writes(
                        stored, [("messages", f"pending-{worker}-{i}")], f"t{worker}-{i}"
                    )
                    parents[thread] = checkpoint["id"]
        results.put("ok")
    except BaseException:
        results.put(traceback.format_exc())


def rewrite_or_read_one_thread(
    url: str, role: str, seconds: float, barrier: Any, results: Any
) -> None:
    """``writer``: grow thread "t" one list element per checkpoint, pruning it now and then
    and deleting it to start over: the same list versions come back holding other elements
    (a new generation), in rows with other tokens. ``reader``:
    read the thread's latest checkpoint over and over, reporting every one whose list does
    not hold exactly the elements its step says, and how many reads took one statement."""
    try:
        import time

        from langgraph.checkpoint.base import empty_checkpoint

        from langgraph_sharedmem import SharedMemorySaver

        config: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        with SharedMemorySaver(url) as saver:
            saver.setup()
            one_statement = 0
            if role == "reader":
                inner = saver._get_tuple_in_one_statement

                def counted(target: Any) -> Any:
                    nonlocal one_statement
                    found = inner(target)
                    one_statement += found is not None and not isinstance(found, Enum)
                    return found

                from enum import Enum

                saver._get_tuple_in_one_statement = counted  # type: ignore[method-assign]
            barrier.wait()
            deadline = time.monotonic() + seconds
            reads, wrong, n, parent, generation = 0, [], 0, None, 0
            while time.monotonic() < deadline:
                if role == "reader":
                    got = saver.get_tuple(config)
                    reads += 1
                    if got is not None:
                        step = got.metadata["step"]  # type: ignore[typeddict-item]
                        gen = got.metadata["generation"]  # type: ignore[typeddict-item]
                        items = got.checkpoint["channel_values"].get("items")
                        if items != [f"g{gen}-item-{i}" for i in range(step)]:
                            wrong.append((gen, step, items))
                    continue
                n += 1
                checkpoint = empty_checkpoint()
                checkpoint["channel_values"] = {
                    "items": [f"g{generation}-item-{i}" for i in range(n)]
                }
                checkpoint["channel_versions"] = {"items": n}
                at: Any = dict(config["configurable"], checkpoint_id=parent) if parent else None
                saver.put(
                    {"configurable": at or config["configurable"]},
                    checkpoint,
                    {"step": n, "generation": generation},  # type: ignore[typeddict-unknown-key]
                    {"items": n},  # type: ignore[typeddict-unknown-key]
                )
                parent = checkpoint["id"]
                if n % 23 == 0:
                    saver.delete_thread("t")
                    n, parent, generation = 0, None, generation + 1
                elif n % 7 == 0:
                    saver.prune(["t"], strategy="keep_latest")
                time.sleep(0.002)  # readers see each version a few times: from the cache
        results.put((role, reads, one_statement, wrong[:5], len(wrong)))
    except BaseException:
        results.put((role, traceback.format_exc()))
