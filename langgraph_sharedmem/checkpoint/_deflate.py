"""Raw deflate of a small blob with the preset dictionary, without releasing the GIL.

Python's `zlib` releases the GIL around every ``deflate`` call, twice per blob (``compress``,
then ``flush``). For a message-sized blob that is ~15 us of work, but giving the GIL up costs
far more in a busy process: LangGraph runs the saver on a background thread while its loop
runs the next node, and a thread that gave the GIL up waits for the holder to give it back,
up to the interpreter's switch interval (5 ms). Every put and put_writes compresses 1-2 such
blobs, and each checkpoint's put waits for the previous one: with another thread busy 70% of
the time, a put took 11% longer than with the GIL kept. Here libz is called through
`ctypes.PyDLL` (which keeps the GIL), on a stream per thread that is reset instead of set up
again for each blob.

`deflate` produces the very bytes `zlib.compressobj` does with the same settings (checked at
import on a sample). Where libz cannot be loaded this way or the check fails, `deflate` is
None and the caller uses `zlib`. Only blobs of at most 2 kB come here: a large one keeps the
GIL released while it is compressed.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import zlib
from collections.abc import Callable
from typing import Any

__all__ = ["deflate"]

_Z_OK, _Z_STREAM_END, _Z_FINISH, _Z_DEFLATED, _Z_DEFAULT_STRATEGY = 0, 1, 4, 8, 0
_LEVEL, _WBITS, _MEMLEVEL = 6, -12, 4  # as `_lists.compress` sets up a small blob's stream
_SLACK = 64


class _ZStream(ctypes.Structure):
    """zlib's ``z_stream`` (zlib.h): the same layout in every zlib release."""

    _fields_ = [
        ("next_in", ctypes.c_char_p),
        ("avail_in", ctypes.c_uint),
        ("total_in", ctypes.c_ulong),
        ("next_out", ctypes.c_void_p),
        ("avail_out", ctypes.c_uint),
        ("total_out", ctypes.c_ulong),
        ("msg", ctypes.c_char_p),
        ("state", ctypes.c_void_p),
        ("zalloc", ctypes.c_void_p),
        ("zfree", ctypes.c_void_p),
        ("opaque", ctypes.c_void_p),
        ("data_type", ctypes.c_int),
        ("adler", ctypes.c_ulong),
        ("reserved", ctypes.c_ulong),
    ]


def _load() -> Any:
    names = {"linux": ("libz.so.1",), "darwin": ("libz.1.dylib", "libz.dylib")}
    for name in names.get(sys.platform, ()):
        try:
            lib = ctypes.PyDLL(name)  # PyDLL: calls keep the GIL
        except OSError:
            continue
        stream = ctypes.POINTER(_ZStream)
        lib.zlibVersion.restype = ctypes.c_char_p
        lib.zlibVersion.argtypes = []
        lib.deflateInit2_.argtypes = [stream, *[ctypes.c_int] * 5, ctypes.c_char_p, ctypes.c_int]
        lib.deflateSetDictionary.argtypes = [stream, ctypes.c_char_p, ctypes.c_uint]
        lib.deflateReset.argtypes = [stream]
        lib.deflate.argtypes = [stream, ctypes.c_int]
        lib.deflateEnd.argtypes = [stream]
        for fn in (lib.deflateInit2_, lib.deflateSetDictionary, lib.deflateReset, lib.deflate):
            fn.restype = ctypes.c_int
        return lib
    return None


class _Stream:
    """One thread's deflate stream; ended when the thread's locals go."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.z = _ZStream()
        self.ref = ctypes.byref(self.z)
        status = lib.deflateInit2_(
            self.ref,
            _LEVEL,
            _Z_DEFLATED,
            _WBITS,
            _MEMLEVEL,
            _Z_DEFAULT_STRATEGY,
            lib.zlibVersion(),
            ctypes.sizeof(_ZStream),
        )
        self.ok = status == _Z_OK
        if not self.ok:  # a libz this layout does not fit: it refused, nothing was set up
            raise MemoryError(f"deflateInit2 failed ({status})")

    def __del__(self) -> None:
        # Only what the instance holds: at interpreter exit this module's globals are gone.
        if getattr(self, "ok", False):
            try:  # noqa: SIM105 - no contextlib then either
                self.lib.deflateEnd(self.ref)
            except Exception:
                pass


def _make_deflate(lib: Any) -> Callable[[bytes, bytes, int], bytes | None]:
    local = threading.local()
    reset, set_dictionary, run = lib.deflateReset, lib.deflateSetDictionary, lib.deflate

    def deflate(blob: bytes, dictionary: bytes, most: int) -> bytes | None:
        """``blob`` as a raw deflate stream primed with ``dictionary``, or None if that
        stream would be longer than ``most`` bytes."""
        if most <= 0:
            return None
        stream = getattr(local, "stream", None)
        if stream is None:
            stream = local.stream = _Stream(lib)
        # Some room beyond ``most``: a stream that just fits may need it to say it ended.
        room = most + _SLACK
        out = ctypes.create_string_buffer(room)
        z, ref = stream.z, stream.ref
        if reset(ref) != _Z_OK or set_dictionary(ref, dictionary, len(dictionary)) != _Z_OK:
            raise MemoryError("deflate stream reset failed")
        z.next_in, z.avail_in = blob, len(blob)
        z.next_out, z.avail_out = ctypes.addressof(out), room
        status = run(ref, _Z_FINISH)
        z.next_in = None  # no reference to the caller's bytes kept
        written = room - z.avail_out
        if status != _Z_STREAM_END or written > most:
            return None  # longer than ``most``
        return out.raw[:written]

    return deflate


def _checked(lib: Any) -> Callable[[bytes, bytes, int], bytes | None] | None:
    """`deflate` on ``lib`` if it writes what `zlib` writes, else None (then `zlib` is used)."""
    try:
        deflate = _make_deflate(lib)
        sample, dictionary = b"a checkpoint, a message: " * 8, b"a message"
        reference = zlib.compressobj(
            _LEVEL, zlib.DEFLATED, _WBITS, _MEMLEVEL, zlib.Z_DEFAULT_STRATEGY, dictionary
        )
        expected = reference.compress(sample) + reference.flush()
        if deflate(sample, dictionary, len(sample)) != expected:
            return None
        if deflate(sample, dictionary, len(expected) - 1) is not None:
            return None
    except Exception:
        return None
    return deflate


_lib = _load()
deflate: Callable[[bytes, bytes, int], bytes | None] | None = (
    None if _lib is None else _checked(_lib)
)
