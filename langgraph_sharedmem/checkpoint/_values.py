"""How channel values and writes are stored, and how list versions are read back.

Blobs are zlib-compressed when that pays (``|zlib`` on their serializer type); a list
version is rebuilt by walking its chain of segments (see `_lists`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, NamedTuple

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer

from langgraph_sharedmem.checkpoint import _lists
from langgraph_sharedmem.errors import DatabaseFileError

ZLIB_SUFFIX = "|z"
"""On a compressed value's serializer type (``|zlib`` before checkpoint schema step 0003;
both read, whatever framing `_lists.inflate` finds in the blob)."""
_SUFFIXES = (ZLIB_SUFFIX, "|zlib")


def null_channels(stored: str | None) -> list[str]:
    """A checkpoint row's ``null_channels``: the channels whose value there is None."""
    if stored is None:
        return []
    names = json.loads(stored)
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DatabaseFileError("a checkpoint's null_channels is not a list of channel names")
    return names


def pack_typed(
    serialized: tuple[str, bytes], limit: int = _lists.MAX_DECOMPRESSED_BYTES
) -> tuple[str, bytes]:
    """A serialized value as stored: compressed, with ``|zlib`` on its type, when that pays."""
    type_, blob = serialized
    packed = _lists.compress(blob, limit)
    return (type_ + ZLIB_SUFFIX, packed) if packed is not blob else (type_, blob)


def unpack_typed(
    type_: str, blob: bytes, limit: int = _lists.MAX_DECOMPRESSED_BYTES
) -> tuple[str, bytes]:
    if not isinstance(type_, str):
        raise DatabaseFileError(f"a stored value has serializer type {type_!r}, not a string")
    for suffix in _SUFFIXES:
        if type_.endswith(suffix):
            if not isinstance(blob, bytes):
                raise DatabaseFileError("a stored compressed value is not bytes")
            return type_[: -len(suffix)], _lists.inflate(blob, limit)
    return type_, blob


class Segment(NamedTuple):
    version: Any
    base_version: Any
    base_len: int | None
    blob: bytes


class ListPayload(NamedTuple):
    """A stored list's serialized elements, and the cache entry they came from, if any."""

    elements: Sequence[_lists.Element]
    cached: _lists.StoredList | None


RawValue = tuple[str, str, str, Any]
"""(channel, kind, serializer type, blob or `ListPayload`)."""

RawCheckpoint = tuple[tuple[Any, ...], list[RawValue], list[Any]]
"""(checkpoint row, its values, its writes), not yet deserialized."""


def older(a: Any, b: Any) -> bool:
    """Whether version ``a`` sorts before ``b`` (versions of different types never do)."""
    return type(a) is type(b) and a < b


class ChainReader:
    """Reads list versions through their chains, sharing work between versions of one read.

    A `list()` page rebuilds up to 64 versions of the same list: each segment is fetched and
    unpacked once. Links come from one index range scan per channel; a base missing from it
    (possible only if it sorts after its child) is read by key.
    """

    def __init__(
        self, conn: Any, sql: ModuleType, limit: int = _lists.MAX_DECOMPRESSED_BYTES
    ) -> None:
        self._conn = conn
        self._sql = sql
        self._limit = limit
        self._links: dict[_lists.ChainKey, dict[Any, tuple[Any, int | None, bytes]]] = {}
        self._unpacked: dict[tuple[_lists.ChainKey, Any], list[_lists.Element]] = {}

    def elements(self, key: _lists.ChainKey, top: Segment) -> list[_lists.Element]:
        parts = [(top.base_len, self._unpack(key, top.version, top.blob))]
        seen = {top.version}
        current = top.base_version
        while current is not None:
            if current in seen:  # only a crafted row can make a chain loop
                raise DatabaseFileError(f"list chain of channel {key[2]!r} loops at {current!r}")
            seen.add(current)
            base, base_len, blob = self._link(key, current, top.version)
            parts.append((base_len, self._unpack(key, current, blob)))
            current = base
        elements: list[_lists.Element] = []
        for base_len, part in reversed(parts):
            if base_len is not None:
                if not isinstance(base_len, int) or not 0 <= base_len <= len(elements):
                    raise DatabaseFileError(
                        f"list segment of channel {key[2]!r} keeps {base_len!r} elements of a "
                        f"base holding {len(elements)}"
                    )
                del elements[base_len:]
            elements.extend(part)
        return elements

    def _unpack(self, key: _lists.ChainKey, version: Any, blob: bytes) -> list[_lists.Element]:
        part = self._unpacked.get((key, version))
        if part is None:
            part = self._unpacked[(key, version)] = _lists.unpack(blob, self._limit)
        return part

    def _link(
        self, key: _lists.ChainKey, version: Any, below: Any
    ) -> tuple[Any, int | None, bytes]:
        links = self._links.setdefault(key, {})
        if version not in links:
            links.update(
                (v, (b, n, blob))
                for v, b, n, blob in self._conn.execute(
                    self._sql.SELECT_SEGMENTS_BEFORE, (*key, self._sql.version(below))
                )
            )
        if version not in links:
            row = self._conn.execute(
                self._sql.SELECT_SEGMENT, (*key, self._sql.version(version))
            ).fetchone()
            if row is None:
                thread_id, _, channel = key
                raise DatabaseFileError(
                    f"list segment {channel}@{version} of thread {thread_id!r} is missing"
                )
            links[version] = row[1:]
        return links[version]


@dataclass(frozen=True)
class PreparedValue:
    channel: str
    version: Any
    kind: str
    serialized: tuple[str, bytes] | None = None
    plan: _lists.SegmentPlan | None = None
    stored: _lists.StoredList | None = None  # for lists: what the cache holds once written
    source: list[Any] | None = None


def plain_serde(serde: SerializerProtocol) -> SerializerProtocol:
    """The serializer under any encryption: list elements are compared in plaintext."""
    inner = getattr(serde, "serde", None)
    return inner if isinstance(serde, EncryptedSerializer) and inner is not None else serde
