"""List segments: a list channel stored as its difference from an earlier version.

LangGraph hands the saver the whole value of every channel that changed in a step. For an
``add_messages`` list that grows by one message per step, storing each version whole costs
O(steps²) bytes: LangGraph's `SqliteSaver` writes about 280 kB per step at step 800. Here a
new list version is stored as a segment: "the first ``base_len`` elements of version
``base_version``, then these new elements". Elements are compared by their serialized bytes,
so an edited or removed message simply shortens the shared prefix.

Chains stay short enough to read quickly: a segment whose chain would grow deeper than
``2 * len(list) + 16`` is stored whole instead. An append-only list never hits the bound (its
depth equals its length), and a list rewritten in place every step pays one full copy per
``2 * len`` steps -- at most half an element per step.

Serializing the whole list again every step would make each put cost O(len) serializer calls
(55% of a put at 800 messages, profiled). The saver keeps, per channel, the bytes of the last
version and a deep copy of each element taken when it was serialized; an element equal to its
copy (same type, ``==``) reuses those bytes. Equality is value equality, so an in-place edit
that keeps a nested value equal under ``==`` but changes its type (``1`` to ``1.0``, say) keeps
the earlier bytes; any other edit, in place or not, is serialized again.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import os
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import ormsgpack
import pydantic

from langgraph_sharedmem.checkpoint._zdict import DICTIONARY, DICTIONARY_ID
from langgraph_sharedmem.errors import DatabaseFileError, UnsafeDeserializationError

Element = tuple[str, bytes]
"""One list element as the serializer wrote it: ``(type, bytes)``."""

ChainKey = tuple[str, str, str]
"""(thread_id, checkpoint_ns, channel)."""

MAX_CACHED_LISTS = 4096
MAX_CACHED_BYTES = 64 * 1024 * 1024
# Deep copies are many small objects that every garbage-collector pass walks, so only the
# lists written most recently (the threads a process is working on) keep them.
MAX_LISTS_WITH_SNAPSHOTS = 32
MAX_DECOMPRESSED_BYTES = 256 * 1024 * 1024
"""Default cap on what one stored compressed blob may inflate to (see `inflate`)."""


def pack(elements: Sequence[Element], limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """A segment blob: a msgpack array of ``[type, bytes]`` pairs, zlib-compressed if smaller.

    A zlib stream never starts with a msgpack array's first byte, so the blob says itself
    which it is.
    """
    return compress(ormsgpack.packb([[type_, data] for type_, data in elements]), limit)


def unpack(blob: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> list[Element]:
    if not isinstance(blob, bytes):
        raise DatabaseFileError(f"a stored list segment is {type(blob).__name__}, not bytes")
    if blob[:1] not in _ARRAY_FIRST_BYTES:
        blob = inflate(blob, limit)
    try:
        elements = ormsgpack.unpackb(blob)
    except ormsgpack.MsgpackDecodeError as exc:
        raise DatabaseFileError(f"a stored list segment is not valid msgpack: {exc}") from exc
    if not isinstance(elements, list):
        raise DatabaseFileError(_NOT_PAIRS)
    pairs = []
    for e in elements:  # checked and rebuilt in one pass: segments hold thousands
        if not (
            isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and type(e[1]) is bytes
        ):
            raise DatabaseFileError(_NOT_PAIRS)
        pairs.append((e[0], e[1]))
    return pairs


_NOT_PAIRS = "a stored list segment is not a list of [type, bytes] pairs"


_ARRAY_FIRST_BYTES = frozenset(bytes((b,)) for b in (*range(0x90, 0xA0), 0xDC, 0xDD))
COMPRESS_MIN_BYTES = 64
# Window of 2**12 bytes: the 1,318-byte dictionary plus a blob up to this size, all in reach.
_SMALL_WINDOW_BYTES = 2048


def compress(blob: bytes, limit: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """zlib-compress a blob when that saves at least an eighth of it; else return it as is.

    A blob larger than ``limit`` is stored as is, so a reader with the same limit can
    always read back what was written.
    """
    if len(blob) < COMPRESS_MIN_BYTES or len(blob) > limit:
        return blob
    # With the preset dictionary of LangGraph's framing (`_zdict`), framed by `_DEFLATE_1`.
    # A small blob and the dictionary fit in a 4 kB window: the same output, but zlib sets up
    # 1/16 of the state (most of the cost of a message-sized blob). Raw inflate with the
    # full window (`inflate`) reads streams written with any smaller one.
    if len(blob) <= _SMALL_WINDOW_BYTES:
        deflater = zlib.compressobj(6, zlib.DEFLATED, -12, 4, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    else:
        deflater = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY, DICTIONARY)
    packed = b"".join((_DEFLATE_1, deflater.compress(blob), deflater.flush(), _checksum(blob)))
    return packed if len(packed) <= len(blob) - len(blob) // 8 else blob


# Compressed blobs since checkpoint schema step 0003: this byte, a raw deflate stream with the
# preset dictionary of `_zdict`, then the Adler-32 of the plain bytes (4, big-endian). A zlib
# stream says the same in 10 bytes of header and trailer; 3 blobs a step, 15 bytes a step.
# No zlib header (its method nibble is 8) and no msgpack array starts with this byte, so a
# blob still says itself how to read it; the zlib blobs written before (with or without
# the dictionary) still read.
_DEFLATE_1 = b"\x01"


def _checksum(plain: bytes) -> bytes:
    return zlib.adler32(plain).to_bytes(4, "big")


def inflate(blob: bytes, limit: int) -> bytes:
    """Decompress a stored zlib blob, refusing to produce more than ``limit`` bytes.

    A crafted row of 1 MB can otherwise inflate to about 1 GB.
    """
    framed = blob[:1] == _DEFLATE_1
    inflater = zlib.decompressobj(-15, zdict=DICTIONARY) if framed else _inflater(blob)
    try:
        out = inflater.decompress(blob[1:] if framed else blob, limit + 1)
    except zlib.error as exc:
        raise DatabaseFileError(f"a stored compressed value is corrupt: {exc}") from exc
    if len(out) > limit:
        raise UnsafeDeserializationError(
            f"refusing to decompress a stored value beyond {limit} bytes "
            "(max_decompressed_bytes); if it is yours, open the saver with a higher "
            "SharedMemorySaver(..., max_decompressed_bytes=...)"
        )
    if not inflater.eof:
        raise DatabaseFileError("a stored compressed value is truncated")
    if framed and inflater.unused_data != _checksum(out):
        raise DatabaseFileError("a stored compressed value is corrupt: its checksum differs")
    return out


def _inflater(blob: bytes) -> Any:
    """A decompressor for a stored zlib stream, with the preset dictionary its header names."""
    if len(blob) >= 6 and blob[1] & _FDICT:
        if int.from_bytes(blob[2:6], "big") != DICTIONARY_ID:
            raise DatabaseFileError(
                "a stored compressed value needs a preset dictionary this version does not "
                "know (written by a newer langgraph-sharedmem, or damaged)"
            )
        return zlib.decompressobj(zdict=DICTIONARY)
    return zlib.decompressobj()


_FDICT = 0x20  # FLG bit of a zlib header: a preset dictionary's id follows (RFC 1950)
_MSGPACK_NIL = b"\xc0"


def join_msgpack(elements: Sequence[Element]) -> bytes | None:
    """One msgpack array holding these elements, or None if one is not plain msgpack.

    Decoding the list in one call is equivalent to decoding each element and far cheaper:
    the per-call overhead of a deserializer is larger than the work for a small message.
    """
    parts = []
    for type_, data in elements:
        if type_ == "msgpack":
            parts.append(data)
        elif type_ == "null":
            parts.append(_MSGPACK_NIL)
        else:
            return None
    n = len(parts)
    if n < 16:
        header = bytes((0x90 | n,))
    elif n < 1 << 16:
        header = b"\xdc" + n.to_bytes(2, "big")
    else:
        header = b"\xdd" + n.to_bytes(4, "big")
    return header + b"".join(parts)


def new_token() -> bytes:
    """A random tag for a new list row: a cached view of a row is trusted only if tags match."""
    return os.urandom(8)


@dataclass(frozen=True)
class StoredList:
    """What the saver remembers of the last list version it wrote or read for a channel.

    ``plain`` holds the elements as the unencrypted serializer writes them. When nothing
    encrypts (``is_stored_form``) they are also exactly what the rows hold, so a read of this
    version can skip its chain -- after checking the row's token, since another process may
    have deleted and rewritten it.
    """

    version: str | int | float
    token: bytes
    depth: int
    plain: tuple[Element, ...]
    is_stored_form: bool
    snapshots: tuple[Any, ...] = ()

    @functools.cached_property
    def size(self) -> int:
        """Bytes this entry weighs in the cache (asked on every put: computed once)."""
        raw = sum(len(data) for _, data in self.plain)
        return raw * 6 if self.snapshots else raw * 2  # copies and `joined` weigh too

    @functools.cached_property
    def joined(self) -> bytes | None:
        """`join_msgpack` of the elements, computed once for repeated reads of this version."""
        return join_msgpack(self.plain)


def serialize_reusing(
    value: Sequence[Any], previous: StoredList | None, serialize: Callable[[Any], Element]
) -> tuple[list[Element], list[Any]]:
    """Serialize a list's elements, reusing ``previous``'s bytes where an element is unchanged.

    Returns the serialized elements and deep copies to compare the next version against.
    """
    if previous is None or not previous.snapshots:
        return [serialize(item) for item in value], [copy.deepcopy(item) for item in value]
    snapshots = previous.snapshots
    # The unchanged prefix (usually all but the new messages) is reused in one slice each.
    shared, n = 0, min(len(value), len(snapshots))
    while shared < n and _unchanged(value[shared], snapshots[shared]):
        shared += 1
    elements: list[Element] = list(previous.plain[:shared])
    copies: list[Any] = list(snapshots[:shared])
    for i in range(shared, len(value)):
        item = value[i]
        # value[shared] was just found changed: only the ones after it may match again.
        if shared < i < len(snapshots) and _unchanged(item, snapshots[i]):
            elements.append(previous.plain[i])
            copies.append(snapshots[i])
        else:
            elements.append(serialize(item))
            copies.append(copy.deepcopy(item))
    return elements, copies


_PYDANTIC_EQ = pydantic.BaseModel.__eq__


def _unchanged(item: Any, snapshot: Any) -> bool:
    if type(item) is not type(snapshot):
        return False
    try:
        # What pydantic's own == checks first, without its generic-origin lookups: a third
        # of the time (this runs for every message of the list, every step).
        if (
            type(item).__eq__ is _PYDANTIC_EQ
            and item.__dict__ == snapshot.__dict__
            and item.__pydantic_extra__ == snapshot.__pydantic_extra__
            and item.__pydantic_private__ == snapshot.__pydantic_private__
        ):
            return True
        return bool(item == snapshot)
    except Exception:  # an element whose == is not a bool (arrays) is simply serialized again
        return False


@dataclass(frozen=True)
class SegmentPlan:
    """How to store a new list version: keep ``base_len`` elements of ``base``, append the rest."""

    base: StoredList | None
    base_len: int

    @property
    def depth(self) -> int:
        return 0 if self.base is None else self.base.depth + 1


ROOT = SegmentPlan(base=None, base_len=0)


def plan_segment(base: StoredList | None, elements: Sequence[Element]) -> SegmentPlan:
    """Choose the base a new list version extends, or `ROOT` to store it whole."""
    if base is None:
        return ROOT
    n = min(len(base.plain), len(elements))
    if base.plain[:n] == tuple(elements[:n]):  # the usual case, compared in C
        shared = n
    else:
        shared = 0
        for old, new in zip(base.plain, elements, strict=False):
            if old != new:
                break
            shared += 1
    if shared == 0 or base.depth + 1 > 2 * len(elements) + 16:
        return ROOT
    return SegmentPlan(base=base, base_len=shared)


class ListCache:
    """The last stored list version per (thread, namespace, channel), least recently used out.

    Bounded both in entries and in bytes of cached elements.
    """

    def __init__(
        self, max_entries: int = MAX_CACHED_LISTS, max_bytes: int = MAX_CACHED_BYTES
    ) -> None:
        self._entries: OrderedDict[ChainKey, StoredList] = OrderedDict()
        self._max = max_entries
        self._max_bytes = max_bytes
        self._bytes = 0
        self._with_snapshots: OrderedDict[ChainKey, None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: ChainKey) -> StoredList | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def set(self, key: ChainKey, entry: StoredList) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._with_snapshots.pop(key, None)
            if entry.size > self._max_bytes:
                return  # too big to remember; the next put reads its base from the database
            self._entries[key] = entry
            self._bytes += entry.size
            if entry.snapshots:
                self._with_snapshots[key] = None
                while len(self._with_snapshots) > MAX_LISTS_WITH_SNAPSHOTS:
                    stale, _ = self._with_snapshots.popitem(last=False)
                    self._drop_snapshots(stale)
            while len(self._entries) > self._max or self._bytes > self._max_bytes:
                evicted_key, evicted = self._entries.popitem(last=False)
                self._with_snapshots.pop(evicted_key, None)
                self._bytes -= evicted.size

    def _drop_snapshots(self, key: ChainKey) -> None:
        entry = self._entries.get(key)
        if entry is not None and entry.snapshots:
            slim = dataclasses.replace(entry, snapshots=())
            self._entries[key] = slim
            self._bytes += slim.size - entry.size

    def discard(self, key: ChainKey) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            self._with_snapshots.pop(key, None)
            if old is not None:
                self._bytes -= old.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._with_snapshots.clear()
            self._bytes = 0
