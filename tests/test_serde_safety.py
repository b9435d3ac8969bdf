"""A crafted blob in the database must never run code on load; allowed types still round-trip."""

from __future__ import annotations

import json
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import ormsgpack
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.conformance.test_utils import generate_checkpoint, generate_metadata
from langgraph.checkpoint.serde.jsonplus import (
    EXT_CONSTRUCTOR_KW_ARGS,
    EXT_CONSTRUCTOR_POS_ARGS,
    EXT_PYDANTIC_V2,
    JsonPlusSerializer,
)
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
def test_app_types_load_by_default_and_app_types_false_needs_the_allowlist(
    db_path: Path, value: object
) -> None:
    with SharedMemorySaver(db_path) as saver:
        _put(saver, item=value)
        loaded = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert loaded is not None and loaded.checkpoint["channel_values"]["item"] == value
    with (
        SharedMemorySaver(db_path, serde=StrictSerializer(app_types=False)) as saver,
        pytest.raises(UnsafeDeserializationError, match=type(value).__name__),
    ):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
    strict = StrictSerializer([type(value)], app_types=False)
    with SharedMemorySaver(db_path, serde=strict) as saver:
        loaded = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert loaded is not None and loaded.checkpoint["channel_values"]["item"] == value
    with SharedMemorySaver(db_path, serde=StrictSerializer(app_types=False)) as saver:
        allowed = saver.with_allowlist([(type(value).__module__, type(value).__name__)])
        loaded = allowed.get_tuple({"configurable": {"thread_id": "t"}})
        assert loaded is not None and loaded.checkpoint["channel_values"]["item"] == value


def test_library_pydantic_models_are_not_app_types(db_path: Path) -> None:
    """LangChain's own models (a prompt template here) never load by the app-types rule."""
    from langchain_core.prompts import PromptTemplate

    prompt = PromptTemplate.from_template("hello {name}")
    with SharedMemorySaver(db_path) as saver:
        _put(saver, prompt=prompt)
        with pytest.raises(UnsafeDeserializationError, match="PromptTemplate"):
            saver.get_tuple({"configurable": {"thread_id": "t"}})
    with SharedMemorySaver(db_path, allowlist=[PromptTemplate]) as saver:
        loaded = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert loaded is not None and loaded.checkpoint["channel_values"]["prompt"] == prompt


def test_strict_serializer_rejects_bad_allowlist_entries() -> None:
    with pytest.raises(TypeError, match="allowlist"):
        StrictSerializer(["not-a-tuple"])  # type: ignore[list-item]


# -- what the app-types rule refuses (fail closed) --------------------------------------------


class PlainHelper:
    """An app class that is not a dataclass, Pydantic model, Enum or NamedTuple."""

    def __init__(self, path: str) -> None:
        Path(path).mkdir()


def _ext(code: int, module: str, name: str, arg: object) -> bytes:
    return ormsgpack.packb(ormsgpack.Ext(code, ormsgpack.packb([module, name, arg])))


def _store_crafted(db_path: Path, blob: bytes) -> None:
    with SharedMemorySaver(db_path) as saver:
        _put(saver, notes="harmless")
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE channel_values SET type = 'msgpack', value = ?", (blob,))


@pytest.mark.parametrize(
    ("code", "module", "name"),
    [
        (EXT_CONSTRUCTOR_POS_ARGS, "os", "system"),
        (EXT_CONSTRUCTOR_POS_ARGS, "subprocess", "Popen"),
        (EXT_CONSTRUCTOR_POS_ARGS, "builtins", "exec"),
        (EXT_CONSTRUCTOR_POS_ARGS, "builtins", "eval"),
        # In an app module, but a function / a plain class / a name it only imported.
        (EXT_CONSTRUCTOR_POS_ARGS, __name__, "_crafted_blob"),
        (EXT_CONSTRUCTOR_POS_ARGS, __name__, "PlainHelper"),
        (EXT_CONSTRUCTOR_POS_ARGS, __name__, "JsonPlusSerializer"),
        (EXT_CONSTRUCTOR_KW_ARGS, __name__, "dataclass"),
        # A Pydantic model of a library: LangChain's prompt template.
        (EXT_PYDANTIC_V2, "langchain_core.prompts.prompt", "PromptTemplate"),
    ],
)
def test_crafted_blobs_naming_anything_else_are_refused(
    db_path: Path, tmp_path: Path, code: int, module: str, name: str
) -> None:
    marker = tmp_path / "pwned"
    arg: object = [str(marker)] if code == EXT_CONSTRUCTOR_POS_ARGS else {"template": "x"}
    _store_crafted(db_path, _ext(code, module, name, arg))
    with (
        SharedMemorySaver(db_path) as saver,
        pytest.raises(UnsafeDeserializationError, match=f"{module}.{name}"),
    ):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
    assert not marker.exists()


def test_a_type_in_a_module_not_yet_imported_is_refused_and_not_imported(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading never imports: a canary module that would leave a marker stays unimported."""
    marker = tmp_path / "imported"
    (tmp_path / "sharedmem_canary_mod.py").write_text(
        "import pathlib, dataclasses\n"
        f"pathlib.Path({str(marker)!r}).touch()\n"
        "@dataclasses.dataclass\nclass Thing:\n    x: int = 0\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    _store_crafted(db_path, _ext(EXT_CONSTRUCTOR_KW_ARGS, "sharedmem_canary_mod", "Thing", {}))
    with (
        SharedMemorySaver(db_path) as saver,
        pytest.raises(UnsafeDeserializationError, match="sharedmem_canary_mod.Thing"),
    ):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
    assert "sharedmem_canary_mod" not in sys.modules
    assert not marker.exists()


def test_a_blocked_name_nested_inside_an_app_type_is_refused(db_path: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    inner = ormsgpack.Ext(EXT_CONSTRUCTOR_POS_ARGS, ormsgpack.packb(["os", "mkdir", [str(marker)]]))
    outer = ormsgpack.packb(
        ormsgpack.Ext(EXT_CONSTRUCTOR_KW_ARGS, ormsgpack.packb([__name__, "Note", {"text": inner}]))
    )
    _store_crafted(db_path, outer)
    with (
        SharedMemorySaver(db_path) as saver,
        pytest.raises(UnsafeDeserializationError, match="os.mkdir"),
    ):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
    assert not marker.exists()


def test_json_rows_are_refused(db_path: Path) -> None:
    """LangChain's reviver would build a PromptTemplate from this row without an allowlist."""
    row = json.dumps(
        {
            "lc": 1,
            "type": "constructor",
            "id": ["langchain", "prompts", "prompt", "PromptTemplate"],
            "kwargs": {"template": "{x}", "input_variables": ["x"]},
        }
    ).encode()
    assert type(JsonPlusSerializer().loads_typed(("json", row))).__name__ == "PromptTemplate"
    with SharedMemorySaver(db_path) as saver:
        _put(saver, notes="harmless")
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE channel_values SET type = 'json', value = ?", (row,))
    with (
        SharedMemorySaver(db_path) as saver,
        pytest.raises(UnsafeDeserializationError, match="'json'"),
    ):
        saver.get_tuple({"configurable": {"thread_id": "t"}})
