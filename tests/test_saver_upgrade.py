"""A database written before schema step 0003 (null channels on the checkpoint row, packed
writes) still reads, and keeps working, after the upgrade, on both backends.

The old layout is built the way the old saver wrote it: the schema of steps 0001-0002, a
``channel_values`` row (type ``null``) for each None-valued channel version, one ``writes``
row per write, JSON with spaces (``jsonb`` on PostgreSQL).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem import SharedMemorySaver
from langgraph_sharedmem.checkpoint import _schema, _schema_pg, _writes
from langgraph_sharedmem.core.backend import open_database
from langgraph_sharedmem.core.postgres import PostgresMigrations
from tests._graphs import build_chat_graph, expected_turn, human

CONFIG = {"configurable": {"thread_id": "t"}}


def _run(saver: SharedMemorySaver, turns: range) -> list[Any]:
    graph = build_chat_graph().compile(checkpointer=saver)
    for i in turns:
        graph.invoke({"messages": [human(i)]}, CONFIG)  # type: ignore[arg-type]
    return [
        (s.values, s.next, [t.name for t in s.tasks], s.metadata)
        for s in graph.get_state_history(CONFIG)  # type: ignore[arg-type]
    ]


def _old_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The rows of a new-layout SQLite file as the saver before step 0003 wrote them."""
    with sqlite3.connect(path) as conn:
        checkpoints, values = [], []
        for *cols, versions, metadata, nulls in conn.execute(
            "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, "
            "type, checkpoint, channel_versions, metadata, null_channels FROM checkpoints"
        ):
            checkpoints.append(
                (*cols, json.dumps(json.loads(versions)), json.dumps(json.loads(metadata)))
            )
            for channel in json.loads(nulls or "[]"):
                version = json.loads(versions)[channel]
                values.append(
                    (cols[0], cols[1], channel, version, "value", "null", b"", None, None, 0, None)
                )
        values += conn.execute(
            "SELECT thread_id, checkpoint_ns, channel, version, kind, type, value, base_version, "
            "base_len, depth, segment_token FROM channel_values"
        ).fetchall()
        writes = _writes.expand(
            conn.execute(
                "SELECT thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, "
                "value, task_path, more FROM writes"
            ),
            idx_at=4,
            channel_at=5,
        )
    return {
        "checkpoints": checkpoints,
        "channel_values": list(dict.fromkeys(values)),
        "writes": writes,
    }


def _build_old(target: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
    if target.startswith("postgresql://"):
        old = PostgresMigrations(
            _schema_pg.MIGRATIONS.name,
            _schema_pg.MIGRATIONS.steps[:2],
            _schema_pg.MIGRATIONS.tables,
        )
        db = open_database(target, old)
        try:
            db.migrate(old)
            with db.write() as conn:
                for table, table_rows in rows.items():
                    for row in table_rows:
                        if table == "checkpoints":
                            marks = "%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb"
                        elif table == "channel_values":
                            base = None if row[7] is None else json.dumps(row[7])
                            row = (*row[:3], json.dumps(row[3]), *row[4:7], base, *row[8:])
                            marks = "%s, %s, %s, %s::jsonb, %s, %s, %s, %s::jsonb, %s, %s, %s"
                        else:
                            marks = ", ".join(["%s"] * len(row))
                        conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)
        finally:
            db.close()
        return
    old_sqlite = Migrations(_schema.MIGRATIONS.name)
    old_sqlite(name="0001_checkpoint_tables")(_schema._m0001)
    old_sqlite(name="0002_zlib_preset_dictionary")(_schema._m0002)
    old_sqlite.apply(sqlite_utils.Database(target))
    with sqlite3.connect(target) as conn:
        for table, table_rows in rows.items():
            for row in table_rows:
                conn.execute(f"INSERT INTO {table} VALUES ({', '.join('?' * len(row))})", row)


def test_a_database_from_before_step_0003_reads_and_grows_after_upgrade(
    backend_url: str, tmp_path: Path
) -> None:
    new = tmp_path / "new.db"
    with SharedMemorySaver(new) as saver:
        history = _run(saver, range(2))
    rows = _old_rows(new)
    assert any(r[5] == "null" for r in rows["channel_values"]), "None values had rows"
    _build_old(backend_url, rows)

    with SharedMemorySaver.from_conn_string(backend_url) as saver:
        assert _run(saver, range(0)) == history
        with SharedMemorySaver(new) as reference:
            assert list(saver.list(CONFIG)) == list(reference.list(CONFIG))
        grown = _run(saver, range(2, 3))
    assert len(grown) > len(history)
    messages = grown[0][0]["messages"]
    assert messages == [*expected_turn(0), *expected_turn(1), *expected_turn(2)]
