"""Pending writes packed into one row per `put_writes` call.

A task's call usually holds several regular writes (a node returning ``{"messages": [...]}``
also writes its ``branch:to:...`` trigger). Each row costs its key (thread, namespace,
checkpoint id, task id: ~100 bytes) twice, in the table and in its primary key, so the
call's first regular write keeps the columns and the ones after it travel in the row's
``more`` column, packed here: per write a varint index, the channel (a varint length and its
bytes), then a varint code: 0 for a NULL type, 1 for a None value (type ``null``, no bytes:
the trigger writes every node makes), else the type's length + 2, the type and the value (a
varint length and its bytes). Rows written before ``more`` existed (NULL)
hold one write, as rows stored apart still do: special writes (negative index) and the
writes a retried call adds to a task that already has some.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from langgraph_sharedmem.errors import DatabaseFileError

Entry = tuple[int, str, str | None, bytes | None]
"""(idx, channel, serializer type, value) of one write."""

_NONE = ("null", b"")  # how LangGraph's serializer writes None


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _read_varint(blob: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if pos >= len(blob) or shift > 63:
            raise DatabaseFileError("a packed write row is truncated or damaged")
        byte = blob[pos]
        pos += 1
        n |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return n, pos
        shift += 7


def pack(entries: Sequence[Entry]) -> bytes:
    """The ``more`` column of a row holding these writes after its first (regular only)."""
    out = bytearray()
    for idx, channel, type_, value in entries:
        if idx < 0:
            raise ValueError("special writes are stored in rows of their own")
        name = channel.encode("utf-8", "surrogatepass")
        out += _varint(idx) + _varint(len(name)) + name
        if type_ is None:
            out += _varint(0) + _varint(len(value or b"")) + (value or b"")
        elif type_ == _NONE[0] and value == _NONE[1]:
            out += _varint(1)
        else:
            kind = type_.encode("utf-8", "surrogatepass")
            out += _varint(len(kind) + 2) + kind + _varint(len(value or b"")) + (value or b"")
    return bytes(out)


def unpack(blob: bytes) -> list[Entry]:
    """The writes packed by `pack`; a damaged blob raises `DatabaseFileError`."""
    blob = bytes(blob)
    entries: list[Entry] = []
    pos = 0
    try:
        while pos < len(blob):
            idx, pos = _read_varint(blob, pos)
            size, pos = _read_varint(blob, pos)
            channel = blob[pos : pos + size].decode("utf-8", "surrogatepass")
            pos += size
            if pos > len(blob):
                raise DatabaseFileError("a packed write row is truncated or damaged")
            code, pos = _read_varint(blob, pos)
            if code == 1:
                entries.append((idx, channel, *_NONE))
                continue
            type_: str | None = None
            if code:
                type_ = blob[pos : pos + code - 2].decode("utf-8", "surrogatepass")
                pos += code - 2
            size, pos = _read_varint(blob, pos)
            value = blob[pos : pos + size]
            pos += size
            if pos > len(blob):
                raise DatabaseFileError("a packed write row is truncated or damaged")
            entries.append((idx, channel, type_, value))
    except UnicodeDecodeError as exc:
        raise DatabaseFileError(f"a packed write row is damaged: {exc}") from exc
    return entries


def expand(rows: Iterable[Sequence[Any]], idx_at: int, channel_at: int) -> list[tuple[Any, ...]]:
    """Stored rows (``more`` last) as one tuple per write, without ``more``: a row's packed
    writes follow it, each a copy of the row with its own idx, channel, type and value
    (the type and value columns follow the channel's)."""
    out: list[tuple[Any, ...]] = []
    for row in rows:
        head = tuple(row[:-1])
        out.append(head)
        if row[-1] is None:
            continue
        for idx, channel, type_, value in unpack(row[-1]):
            write = list(head)
            write[idx_at], write[channel_at] = idx, channel
            write[channel_at + 1], write[channel_at + 2] = type_, value
            out.append(tuple(write))
    return out
