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
