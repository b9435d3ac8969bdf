"""A strict serializer: stored blobs rebuild only types on an allowlist, or fail loudly.

LangGraph's `JsonPlusSerializer` (langgraph-checkpoint 4.3) revives any type a msgpack blob
names unless ``LANGGRAPH_STRICT_MSGPACK=true`` is set, and even in strict mode a blocked type
silently comes back as its raw payload. Anyone who can write one row of the database can then
run code in every process that loads it. `StrictSerializer` starts from LangGraph's safe set
(messages, documents, LangGraph's own types, datetimes, ...), adds what the caller allows, and
raises `UnsafeDeserializationError` naming the type when a blob asks for anything else.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.serde.event_hooks import SerdeEvent, register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_sharedmem.errors import UnsafeDeserializationError

__all__ = ["StrictSerializer"]

_BLOCKED_KINDS = frozenset({"msgpack_blocked", "msgpack_method_blocked"})
_capture = threading.local()


def _on_serde_event(event: SerdeEvent) -> None:
    blocked: list[str] | None = getattr(_capture, "blocked", None)
    if blocked is not None and event["kind"] in _BLOCKED_KINDS:
        name = f"{event['module']}.{event['name']}"
        if "method" in event:
            name += f".{event['method']}"
        blocked.append(name)


register_serde_event_listener(_on_serde_event)


@contextmanager
def _capture_blocked() -> Iterator[list[str]]:
    outer = getattr(_capture, "blocked", None)
    blocked: list[str] = []
    _capture.blocked = blocked
    try:
        yield blocked
    finally:
        _capture.blocked = outer


def _as_key(item: tuple[str, ...] | type) -> tuple[str, ...]:
    if isinstance(item, type):
        return (item.__module__, item.__name__)
    if isinstance(item, tuple) and len(item) >= 2 and all(isinstance(p, str) for p in item):
        return item
    raise TypeError(
        f"allowlist entries must be classes or (module, name) tuples of strings, got {item!r}"
    )


class StrictSerializer(JsonPlusSerializer):
    """LangGraph's serializer with deserialization limited to an allowlist.

    Args:
        allowlist: Extra types that stored blobs may rebuild, as classes or
            ``(module, name)`` tuples. LangGraph's safe types are always allowed.

    Example:
        >>> from datetime import date
        >>> serde = StrictSerializer()
        >>> serde.loads_typed(serde.dumps_typed({"when": date(2026, 1, 2)}))
        {'when': datetime.date(2026, 1, 2)}
    """

    def __init__(self, allowlist: Iterable[tuple[str, ...] | type] = ()) -> None:
        keys = tuple(_as_key(item) for item in allowlist)
        super().__init__(allowed_msgpack_modules=keys or None, pickle_fallback=False)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Deserialize ``(type, bytes)``; raise instead of rebuilding a type not allowed."""
        type_ = data[0]
        if type_ == "pickle":
            raise UnsafeDeserializationError(
                "refusing to load a pickle blob: pickle can run arbitrary code on load"
            )
        with _capture_blocked() as blocked:
            value = super().loads_typed(data)
        if blocked:
            names = ", ".join(sorted(set(blocked)))
            raise UnsafeDeserializationError(
                f"stored data names {names}, which is not on the deserialization allowlist. "
                "If you trust it, allow it with SharedMemorySaver(..., allowlist=[YourType]) or "
                "saver.with_allowlist([(module, name)])."
            )
        return value
