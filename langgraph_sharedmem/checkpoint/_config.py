"""Reading what callers pass in: configs, metadata, list filters, allowlists.

Everything here is pure: it validates, converts and builds ``(sql, params)`` pieces, and
raises `InvalidConfigError` naming what is wrong. Keys and values reach SQL only as
parameters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import get_checkpoint_id
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_sharedmem.errors import InvalidConfigError


@dataclass(frozen=True)
class Target:
    thread_id: str
    checkpoint_ns: str
    checkpoint_id: str | None


def parse_target(config: RunnableConfig | None, *, what: str) -> Target:
    configurable = (config or {}).get("configurable") or {}
    thread_id = configurable.get("thread_id")
    if thread_id is None or thread_id == "":
        raise InvalidConfigError(
            f"{what} needs config['configurable']['thread_id'], e.g. "
            "{'configurable': {'thread_id': 'my-thread'}}; got "
            f"configurable={dict(configurable)!r}"
        )
    if not isinstance(thread_id, (str, int, UUID)):
        raise InvalidConfigError(
            f"thread_id must be a string, int or UUID, got {type(thread_id).__name__}"
        )
    ns = configurable.get("checkpoint_ns") or ""
    checkpoint_id = configurable.get("checkpoint_id") or None
    return Target(str(thread_id), str(ns), None if checkpoint_id is None else str(checkpoint_id))


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"values of type {type(value).__name__} are not JSON-serializable")


def dump_metadata(metadata: Mapping[str, Any]) -> str:
    try:
        return json.dumps(metadata, default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidConfigError(
            f"checkpoint metadata must be JSON-serializable (no NaN/inf): {exc}"
        ) from exc


def _is_plain_key(key: str) -> bool:
    return key.isidentifier()


def metadata_matches(metadata_json: str, filter: Mapping[str, Any] | None) -> bool:
    """Exact re-check of a metadata filter (the SQL prefilter covers only simple keys)."""
    if not filter:
        return True
    metadata = json.loads(metadata_json)
    return all(metadata.get(k) == v for k, v in filter.items())


def list_where(
    config: RunnableConfig | None,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
) -> tuple[list[str], list[Any], bool]:
    """SQL conditions for `list`; ``exact`` is False when Python must re-check the filter."""
    where: list[str] = []
    params: list[Any] = []
    if config is not None:
        target = parse_target(config, what="list")
        where.append("thread_id = ?")
        params.append(target.thread_id)
        if config["configurable"].get("checkpoint_ns") is not None:
            where.append("checkpoint_ns = ?")
            params.append(target.checkpoint_ns)
        if target.checkpoint_id:
            where.append("checkpoint_id = ?")
            params.append(target.checkpoint_id)
    if before is not None and (before_id := get_checkpoint_id(before)):
        where.append("checkpoint_id < ?")
        params.append(before_id)
    exact = True
    for key, value in (filter or {}).items():
        if not isinstance(key, str):
            raise InvalidConfigError(f"metadata filter keys must be strings, got {key!r}")
        # Keys and values are parameters, never SQL text; odd keys or structured values
        # are matched in Python after the SQL prefilter.
        if (
            _is_plain_key(key)
            and isinstance(value, (str, int, float))
            and not (isinstance(value, float) and not math.isfinite(value))
        ):
            where.append("json_extract(metadata, ?) = ?")
            params.extend((f"$.{key}", value))
        elif _is_plain_key(key) and value is None:
            where.append("json_type(metadata, ?) = 'null'")
            params.append(f"$.{key}")
            exact = False
        else:
            exact = False
    return where, params, exact


def with_allowlist(
    serde: SerializerProtocol, allowlist: Sequence[tuple[str, ...] | type]
) -> SerializerProtocol:
    keys = [(t.__module__, t.__name__) if isinstance(t, type) else t for t in allowlist]
    if isinstance(serde, JsonPlusSerializer):
        return serde.with_msgpack_allowlist(keys)
    if isinstance(serde, EncryptedSerializer) and isinstance(serde.serde, JsonPlusSerializer):
        return EncryptedSerializer(serde.cipher, serde.serde.with_msgpack_allowlist(keys))
    raise InvalidConfigError(
        f"allowlist= needs a JsonPlusSerializer-based serde; {type(serde).__name__} has none. "
        "Configure the allowlist on your serializer instead."
    )
