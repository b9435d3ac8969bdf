"""A crafted blob in the database must never run code on load; allowed types still round-trip."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.conformance.test_utils import generate_checkpoint, generate_metadata
from langgraph.checkpoint.serde.jsonplus import EXT_CONSTRUCTOR_POS_ARGS, JsonPlusSerializer
from pydantic import BaseModel

from langgraph_sharedmem import SharedMemorySaver, StrictSerializer, UnsafeDeserializationError


class Ticket(BaseModel):
    number: int
    status: str


@dataclass
class Note:
    text: str


def _crafted_blob(target_dir: Path) -> bytes:
    """A msgpack value that, when revived, calls os.mkdir(target_dir)."""
    payload = ormsgpack.packb(["os", "mkdir", [str(target_dir)]])
    return ormsgpack.packb(ormsgpack.Ext(EXT_CONSTRUCTOR_POS_ARGS, payload))


def _put(saver: SharedMemorySaver, **values: object) -> dict:
    checkpoint = generate_checkpoint(channel_values=dict(values))
    versions = {k: saver.get_next_version(None, None) for k in values}
    checkpoint["channel_versions"] = versions
    return saver.put(
        {"configurable": {"thread_id": "t", "checkpoint_ns": ""}},
        checkpoint,
        generate_metadata(),
        versions,
    )


def test_langgraph_default_serializer_runs_the_crafted_blob(tmp_path: Path) -> None:
    """The threat this package closes: LangGraph 4.3's default revives any named callable."""
    marker = tmp_path / "pwned-by-default"
    JsonPlusSerializer().loads_typed(("msgpack", _crafted_blob(marker)))
    assert marker.exists()


def test_crafted_channel_value_is_refused_without_running(db_path: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with SharedMemorySaver(db_path) as saver:
        _put(saver, notes="harmless")
    with sqlite3.connect(db_path) as conn:  # an attacker with write access to the file
        conn.execute(
            "UPDATE channel_values SET type = 'msgpack', value = ?", (_crafted_blob(marker),)
        )
    with (
        SharedMemorySaver(db_path) as saver,
        pytest.raises(UnsafeDeserializationError, match="os.mkdir"),
    ):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
    assert not marker.exists()


def test_crafted_pending_write_is_refused_without_running(db_path: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with SharedMemorySaver(db_path) as saver:
        config = _put(saver, notes="harmless")
        saver.put_writes(config, [("notes", "fine")], "task-1")
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE writes SET type = 'msgpack', value = ?", (_crafted_blob(marker),))
    with SharedMemorySaver(db_path) as saver, pytest.raises(UnsafeDeserializationError):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
    assert not marker.exists()


def test_pickle_blobs_are_refused(db_path: Path) -> None:
    import pickle

    with SharedMemorySaver(db_path) as saver:
        _put(saver, notes="harmless")
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE channel_values SET type = 'pickle', value = ?", (pickle.dumps(1),))
    with (
        SharedMemorySaver(db_path) as saver,
        pytest.raises(UnsafeDeserializationError, match="pickle"),
    ):
        saver.get_tuple({"configurable": {"thread_id": "t"}})


def test_langgraph_safe_types_round_trip_without_configuration(saver: SharedMemorySaver) -> None:
    from datetime import datetime
    from uuid import uuid4

    values = {
        "messages": [HumanMessage("hi", id="1"), AIMessage("hello", id="2")],
        "when": datetime(2026, 11, 23, tzinfo=UTC),
        "id": uuid4(),
        "tags": {"a", "b"},
    }
    _put(saver, **values)
    loaded = saver.get_tuple({"configurable": {"thread_id": "t"}})
    assert loaded is not None
    assert loaded.checkpoint["channel_values"] == values


@pytest.mark.parametrize("value", [Ticket(number=7, status="open"), Note("call back")])
def test_user_types_need_the_allowlist(db_path: Path, value: object) -> None:
    with SharedMemorySaver(db_path) as saver:
        _put(saver, item=value)
        with pytest.raises(UnsafeDeserializationError, match=type(value).__name__):
            saver.get_tuple({"configurable": {"thread_id": "t"}})
    with SharedMemorySaver(db_path, allowlist=[type(value)]) as saver:
        loaded = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert loaded is not None and loaded.checkpoint["channel_values"]["item"] == value
    with SharedMemorySaver(db_path) as saver:
        allowed = saver.with_allowlist([(type(value).__module__, type(value).__name__)])
        loaded = allowed.get_tuple({"configurable": {"thread_id": "t"}})
        assert loaded is not None and loaded.checkpoint["channel_values"]["item"] == value


def test_strict_serializer_rejects_bad_allowlist_entries() -> None:
    with pytest.raises(TypeError, match="allowlist"):
        StrictSerializer(["not-a-tuple"])  # type: ignore[list-item]
