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
