"""Stored blobs: raw deflate with a preset dictionary and a checksum (one framing byte), and the
older zlib blobs, with or without the dictionary, still read.

The format is the same on both backends (the blobs are bytes either way), so SQLite files
stand in for both here.
"""

from __future__ import annotations

import sqlite3
import zlib
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from langgraph_sharedmem import DatabaseFileError, SharedMemorySaver
from langgraph_sharedmem.checkpoint._lists import compress, inflate
from langgraph_sharedmem.checkpoint._zdict import DICTIONARY, DICTIONARY_ID

TEXT = "The quarterly report lists every open ticket and who owns it. " * 6


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def _graph(saver: SharedMemorySaver) -> Any:
    def reply(state: Chat) -> dict[str, Any]:
        return {"messages": [AIMessage(f"{TEXT} step {len(state['messages'])}")]}

    builder = StateGraph(Chat)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_conditional_edges("reply", lambda s: END if len(s["messages"]) >= 6 else "reply")
    return builder.compile(checkpointer=saver)


CONFIG = {"configurable": {"thread_id": "t"}}


def _write(path: Path) -> list[Any]:
    with SharedMemorySaver(path) as saver:
        graph = _graph(saver)
        graph.invoke({"messages": [HumanMessage(TEXT)]}, CONFIG)
        return graph.get_state(CONFIG).values["messages"]


def _assert_reads_back(path: Path, messages: list[Any]) -> None:
    """The thread `_write` made reads back whole: its messages and its 7 checkpoints."""
    with SharedMemorySaver(path) as saver:
        graph = _graph(saver)
        assert graph.get_state(CONFIG).values["messages"] == messages
        assert len(list(graph.get_state_history(CONFIG))) == 7


def _blobs(path: Path) -> list[tuple[str, str, bytes]]:
    with sqlite3.connect(path) as conn:
        return [
            (table, column, blob)
            for table, column in (
                ("checkpoints", "checkpoint"),
                ("channel_values", "value"),
                ("writes", "value"),
            )
            for (blob,) in conn.execute(f"SELECT {column} FROM {table}")
            if isinstance(blob, bytes) and blob[:1] in (b"\x01", b"\x78")  # compressed
        ]


def _rewrite(path: Path, recompress: Any) -> int:
    """Replace every stored zlib blob by ``recompress(plain bytes)``; returns how many."""
    blobs = _blobs(path)
    with sqlite3.connect(path) as conn:
        for table, column, blob in blobs:
            plain = inflate(blob, 1 << 30)
            conn.execute(
                f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (recompress(plain), blob)
            )
    return len(blobs)


def test_blobs_use_the_preset_dictionary_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    messages = _write(path)
    blobs = _blobs(path)
    assert blobs, "messages of this size are stored compressed"
    for _table, _column, blob in blobs:
        assert blob[:1] == b"\x01"
        plain = zlib.decompressobj(-15, zdict=DICTIONARY).decompress(blob[1:-4])
        assert blob[-4:] == zlib.adler32(plain).to_bytes(4, "big")
    with SharedMemorySaver(path) as saver:
        assert _graph(saver).get_state(CONFIG).values["messages"] == messages


def test_zlib_blobs_with_the_dictionary_from_before_step_0003_still_read(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    messages = _write(path)

    def zlib_with_dictionary(plain: bytes) -> bytes:
        deflater = zlib.compressobj(6, zlib.DEFLATED, 15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        return deflater.compress(plain) + deflater.flush()

    assert _rewrite(path, zlib_with_dictionary) > 0
    assert all(int.from_bytes(blob[2:6], "big") == DICTIONARY_ID for *_, blob in _blobs(path))
    with sqlite3.connect(path) as conn:  # and the serializer types of then
        conn.execute("UPDATE writes SET type = replace(type, '|z', '|zlib')")
        conn.execute("UPDATE checkpoints SET type = replace(type, '|z', '|zlib')")
    _assert_reads_back(path, messages)


def test_a_blob_whose_checksum_differs_is_refused_as_damage(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    _write(path)

    def one_bit_flipped(plain: bytes) -> bytes:
        deflater = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
        raw = deflater.compress(plain) + deflater.flush()
        return b"\x01" + raw + (zlib.adler32(plain) ^ 1).to_bytes(4, "big")

    _rewrite(path, one_bit_flipped)
    with SharedMemorySaver(path) as saver, pytest.raises(DatabaseFileError, match="checksum"):
        saver.get_tuple(CONFIG)


def test_blobs_written_without_the_dictionary_still_read(tmp_path: Path) -> None:
    """Files written before the dictionary existed hold plain zlib streams."""
    path = tmp_path / "m.db"
    messages = _write(path)
    assert _rewrite(path, lambda plain: zlib.compress(plain, 6)) > 0
    assert all(not blob[1] & 0x20 for _t, _c, blob in _blobs(path))
    _assert_reads_back(path, messages)


def test_a_blob_naming_an_unknown_dictionary_is_refused_as_damage(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    _write(path)

    def other_dictionary(plain: bytes) -> bytes:
        deflater = zlib.compressobj(zdict=b"not the saver's dictionary")
        return deflater.compress(plain) + deflater.flush()

    _rewrite(path, other_dictionary)
    with SharedMemorySaver(path) as saver, pytest.raises(DatabaseFileError, match="dictionary"):
        saver.get_tuple(CONFIG)


@pytest.mark.parametrize("size", [200, 700, 2048, 2049, 40_000])
def test_small_and_large_blobs_read_back_and_small_ones_compress_as_well(size: int) -> None:
    """Blobs up to 2 kB are deflated with a 4 kB window (cheaper to set up), larger ones with
    the full window; the reader's full-window inflate reads both."""
    words = " ".join(f"{TEXT.split()[i % 11]}{i % 97}" for i in range(size))
    plain = words.encode()[:size]
    blob = compress(plain)
    assert blob[:1] == b"\x01"
    assert inflate(blob, 1 << 30) == plain
    full = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    framing = 5  # the framing byte and the checksum
    assert len(blob) - framing <= len(full.compress(plain) + full.flush()) + 2
