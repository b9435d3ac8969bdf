"""Turning what the parts return (messages, dataclasses, datetimes, ...) into plain JSON data.

The inspector prints the same data as tables or as ``--json``; both start from these plain
values. Nothing here rebuilds or calls user types: it only reads attributes of objects the
strict serializer already agreed to load.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from enum import Enum
from typing import Any
from uuid import UUID

from langchain_core.messages import BaseMessage
from pydantic import BaseModel

__all__ = ["jsonable", "message_dict"]

_MESSAGE_EXTRAS = ("name", "id", "tool_calls", "tool_call_id", "status")


def message_dict(message: BaseMessage) -> dict[str, Any]:
    """A message as ``{"type", "content"}`` plus whichever of name, id, tool calls it has."""
    out: dict[str, Any] = {"type": message.type, "content": jsonable(message.content)}
    for field in _MESSAGE_EXTRAS:
        value = getattr(message, field, None)
        if value:
            out[field] = jsonable(value)
    return out


def jsonable(value: Any, *, _depth: int = 0) -> Any:
    """``value`` as JSON-compatible data (dict keys become strings, unknown objects repr)."""
    if _depth > 100:
        return "..."
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    nested = _depth + 1
    if isinstance(value, BaseMessage):
        return message_dict(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, _depth=nested) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, _depth=nested) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v, _depth=nested) for v in value), key=repr)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return jsonable(value.value, _depth=nested)
    if isinstance(value, (bytes, bytearray)):
        return {"base64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(mode="json"), _depth=nested)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: jsonable(getattr(value, f.name), _depth=nested)
            for f in dataclasses.fields(value)
        }
    return repr(value)
