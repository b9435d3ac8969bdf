"""Bad input gets a clear error naming the problem, and never loses or corrupts stored data."""

from __future__ import annotations

import math
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage
from langgraph.checkpoint.conformance.test_utils import generate_checkpoint, generate_metadata

from langgraph_sharedmem import (
    DatabaseFileError,
    InvalidConfigError,
    SchemaVersionError,
    SharedMemorySaver,
)


def _put(saver: SharedMemorySaver, thread_id: str = "t1", **values: object) -> dict:
    checkpoint = generate_checkpoint(channel_values=dict(values))
    versions = {k: saver.get_next_version(None, None) for k in values}
    checkpoint["channel_versions"] = versions
    return saver.put(
        {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}},
        checkpoint,
        generate_metadata(),
        versions,
    )


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"configurable": {}},
        {"configurable": {"thread_id": ""}},
        {"configurable": {"checkpoint_id": "x"}},
    ],
)
def test_config_without_thread_id_is_named(saver: SharedMemorySaver, config: dict) -> None:
    with pytest.raises(InvalidConfigError, match="thread_id"):
        saver.get_tuple(config)
    with pytest.raises(InvalidConfigError, match="thread_id"):
        saver.put(config, generate_checkpoint(), generate_metadata(), {})


def test_put_writes_without_checkpoint_id_is_named(saver: SharedMemorySaver) -> None:
    with pytest.raises(InvalidConfigError, match="checkpoint_id"):
        saver.put_writes({"configurable": {"thread_id": "t"}}, [("a", 1)], "task")


def test_file_that_is_not_a_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    original = b"these are my notes, not a database\n" * 200
    path.write_bytes(original)
    with pytest.raises(DatabaseFileError, match="not a SQLite database"):
        SharedMemorySaver(path).get_tuple({"configurable": {"thread_id": "t"}})
    assert path.read_bytes() == original


def test_missing_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatabaseFileError, match="does not exist"):
        SharedMemorySaver(tmp_path / "no" / "such" / "dir" / "x.db")


def test_corrupt_database_is_named_and_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with SharedMemorySaver(path) as saver:
        for i in range(30):
            _put(saver, f"thread-{i}", notes="x" * 3000)
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 4 * page
    for offset in range(2 * page, len(data), page):  # wreck every page but the header
        data[offset : offset + 200] = b"\xff" * 200
    path.write_bytes(bytes(data))
    with (
        pytest.raises(DatabaseFileError, match="corrupt|not a SQLite"),
        SharedMemorySaver(path) as saver,
    ):
        for i in range(30):
            saver.get_tuple({"configurable": {"thread_id": f"thread-{i}"}})
    assert path.read_bytes() == bytes(data)


def test_database_from_a_newer_version_is_refused(db_path: Path) -> None:
    with SharedMemorySaver(db_path) as saver:
        _put(saver, notes="kept")
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            ("langgraph_sharedmem.checkpoint", "9999_from_the_future", "2030-01-01"),
        )
    with pytest.raises(SchemaVersionError, match="newer"):
        SharedMemorySaver(db_path)  # refused when opened, not at first use
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone() == (1,)


def test_setup_is_idempotent_and_recorded_once(db_path: Path) -> None:
    for _ in range(3):
        with SharedMemorySaver(db_path) as saver:
            saver.setup()
            saver.setup()
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?",
            ("langgraph_sharedmem.checkpoint",),
        ).fetchall()
    assert rows == [
        ("0001_checkpoint_tables",),
        ("0002_zlib_preset_dictionary",),
        ("0003_null_channels_packed_writes",),
    ]


@pytest.mark.parametrize("bad", [math.nan, math.inf, object()])
def test_unstorable_metadata_is_refused_and_nothing_is_written(
    saver: SharedMemorySaver, bad: object
) -> None:
    checkpoint = generate_checkpoint(channel_values={"a": 1})
    checkpoint["channel_versions"] = {"a": "1"}
    with pytest.raises(InvalidConfigError, match="metadata"):
        saver.put(
            {"configurable": {"thread_id": "t", "checkpoint_ns": ""}},
            checkpoint,
            generate_metadata(score=bad),
            {"a": "1"},
        )
    assert saver.get_tuple({"configurable": {"thread_id": "t"}}) is None
    with saver.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM channel_values").fetchone() == (0,)


def test_filter_keys_and_thread_ids_never_become_sql(saver: SharedMemorySaver) -> None:
    hostile = "t'); DROP TABLE checkpoints; --"
    _put(saver, hostile, notes="kept")
    assert saver.get_tuple({"configurable": {"thread_id": hostile}}) is not None
    for key in ["source') OR 1=1 --", 'a"b', "$.x", "x;y"]:  # refused, as SqliteSaver does
        with pytest.raises(InvalidConfigError, match="Invalid filter key"):
            list(saver.list(None, filter={key: "loop"}))
    assert list(saver.list(None, filter={"source": "loop"}))  # the table is still there


@pytest.mark.parametrize("strategy", ["keep_oldest", ""])
def test_unknown_prune_strategy_is_named(saver: SharedMemorySaver, strategy: str) -> None:
    _put(saver, notes="kept")
    with pytest.raises(InvalidConfigError, match="strategy"):
        saver.prune(["t1"], strategy=strategy)
    assert saver.get_tuple({"configurable": {"thread_id": "t1"}}) is not None


def test_single_string_where_a_list_is_expected_is_refused(saver: SharedMemorySaver) -> None:
    _put(saver, "t1", notes="kept")
    with pytest.raises(InvalidConfigError, match="list"):
        saver.prune("t1")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="list"):
        saver.delete_for_runs("run-1")  # type: ignore[arg-type]
    assert saver.get_tuple({"configurable": {"thread_id": "t1"}}) is not None


def test_closed_saver_says_so(db_path: Path) -> None:
    saver = SharedMemorySaver(db_path)
    saver.close()
    with pytest.raises(DatabaseFileError, match="closed"):
        saver.get_tuple({"configurable": {"thread_id": "t"}})


def test_path_that_is_a_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(DatabaseFileError, match="is a directory"):
        SharedMemorySaver(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; permissions can't fail")
def test_unwritable_directory_is_named(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(DatabaseFileError, match="not writable"):
        SharedMemorySaver(locked / "x.db").get_tuple({"configurable": {"thread_id": "t"}})


# -- lone surrogates: stored exactly or refused, never changed (issue 13.3) -------------------

LONE = "a\ud800b"


@dataclass
class Memo:
    text: str


@pytest.mark.parametrize(
    "value",
    [
        LONE,
        {"nested": [LONE]},
        {LONE: 1},
        [HumanMessage(LONE, id="m1")],
        Memo(LONE),
        ("x", {"y": "\udfff"}),
    ],
    ids=["str", "nested", "key", "message-list", "dataclass", "tuple"],
)
def test_channel_value_with_a_lone_surrogate_is_refused_and_nothing_written(
    saver: SharedMemorySaver, value: object
) -> None:
    first = _put(saver, notes="kept")
    with pytest.raises(InvalidConfigError, match=r"channel 'notes'.*lone surrogate"):
        _put(saver, notes=value)
    loaded = saver.get_tuple({"configurable": {"thread_id": "t1"}})
    assert loaded is not None and loaded.config == first
    assert loaded.checkpoint["channel_values"] == {"notes": "kept"}


def test_pending_write_with_a_lone_surrogate_is_refused(saver: SharedMemorySaver) -> None:
    config = _put(saver, notes="kept")
    with pytest.raises(InvalidConfigError, match=r"channel 'notes'.*lone surrogate"):
        saver.put_writes(config, [("notes", Memo(LONE))], "task-1")
    loaded = saver.get_tuple(config)
    assert loaded is not None and loaded.pending_writes == []


@pytest.mark.parametrize("key", ["thread_id", "checkpoint_ns", "checkpoint_id"])
def test_a_config_key_with_a_lone_surrogate_is_named_and_nothing_written(
    saver: SharedMemorySaver, key: str
) -> None:
    first = _put(saver, notes="kept")
    config = {"configurable": {**first["configurable"], key: "t\udc801"}}
    for call in (
        lambda: saver.get_tuple(config),
        lambda: list(saver.list(config)),
        lambda: saver.put(config, generate_checkpoint(), generate_metadata(), {}),
        lambda: saver.put_writes(config, [("notes", "x")], "task-1"),
    ):
        with pytest.raises(InvalidConfigError, match=rf"{key} .*lone surrogate"):
            call()
    assert [t.config for t in saver.list(None)] == [first]


def test_question_marks_and_valid_unicode_round_trip(saver: SharedMemorySaver) -> None:
    values = {"q": "why? ¿qué? \U0001f600", "m": [HumanMessage("ok?", id="1")], "d": Memo("?")}
    _put(saver, **values)
    loaded = saver.get_tuple({"configurable": {"thread_id": "t1"}})
    assert loaded is not None and loaded.checkpoint["channel_values"] == values


def test_metadata_with_a_lone_surrogate_round_trips_exactly(db_path: Path) -> None:
    with SharedMemorySaver(db_path) as saver:
        checkpoint = generate_checkpoint()
        saver.put(
            {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}},
            checkpoint,
            {"source": "input", "step": -1, "note": LONE, LONE: [LONE]},
            {},
        )
    with SharedMemorySaver(db_path) as saver:
        loaded = saver.get_tuple({"configurable": {"thread_id": "t1"}})
        assert loaded is not None
        assert loaded.metadata["note"] == LONE
        assert loaded.metadata[LONE] == [LONE]


def test_a_graph_node_returning_a_lone_surrogate_fails_loudly(saver: SharedMemorySaver) -> None:
    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    class S(TypedDict):
        text: str

    builder = StateGraph(S)
    builder.add_node("echo", lambda s: {"text": s["text"] + "!"})
    builder.add_edge(START, "echo")
    builder.add_edge("echo", END)
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "g"}}
    graph.invoke({"text": "fine"}, config)
    with pytest.raises(InvalidConfigError, match="lone surrogate"):
        graph.invoke({"text": LONE}, config, durability="sync")
    assert graph.get_state(config).values == {"text": "fine!"}
