"""Reading what callers pass in: configs, metadata, list filters, allowlists.

Everything here is pure: it validates, converts and builds ``(sql, params)`` pieces, and
raises `InvalidConfigError` naming what is wrong. Keys and values reach SQL only as
parameters.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from types import ModuleType
from typing import Any, cast
from uuid import UUID

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from langgraph_sharedmem._filter_keys import filter_path, lookup
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
    ns = str(configurable.get("checkpoint_ns") or "")
    checkpoint_id = configurable.get("checkpoint_id") or None
    if checkpoint_id is not None:
        checkpoint_id = _bindable("checkpoint_id", str(checkpoint_id))
    return Target(
        _bindable("thread_id", str(thread_id)), _bindable("checkpoint_ns", ns), checkpoint_id
    )


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


_COMPACT = (",", ":")  # stored JSON without spaces: a few bytes a checkpoint


def dump_metadata(metadata: Mapping[str, Any]) -> str:
    try:
        return json.dumps(metadata, default=_json_default, allow_nan=False, separators=_COMPACT)
    except (TypeError, ValueError) as exc:
        raise InvalidConfigError(
            f"checkpoint metadata must be JSON-serializable (no NaN/inf): {exc}"
        ) from exc


def metadata_matches(metadata_json: str, filter: Mapping[str, Any] | None) -> bool:
    """Exact check of a metadata filter: each key a dotted path (as `SqliteSaver`), each
    value compared with Python ``==`` (the SQL prefilter cannot say all of that)."""
    if not filter:
        return True
    metadata = json.loads(metadata_json)
    return all(lookup(metadata, filter_path(k)) == v for k, v in filter.items())


def check_limit(limit: Any) -> None:
    """`list`'s ``limit``: None or an int (zero or less lists nothing, as `InMemorySaver`)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise InvalidConfigError(
            f"list limit must be an int or None, got {type(limit).__name__}: {limit!r}"
        )


def _config_mapping(config: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(config, Mapping) or not isinstance(config.get("configurable", {}), Mapping):
        raise InvalidConfigError(
            f"{what} must be a config dict like {{'configurable': {{'thread_id': ...}}}}, "
            f"got {config!r}"
        )
    return config


def _bindable(what: str, value: Any) -> Any:
    """``value``, if SQLite can take it as a parameter (a lone surrogate cannot be UTF-8)."""
    if isinstance(value, str) and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise InvalidConfigError(
                f"{what} {value!r} contains a lone surrogate ({exc.reason})"
            ) from exc
    return value


def list_where(
    config: RunnableConfig | None,
    filter: dict[str, Any] | None,
    before: RunnableConfig | None,
    sql: ModuleType,
) -> tuple[list[str], list[Any], bool]:
    """SQL conditions for `list` in the dialect of ``sql`` (`_schema` or `_schema_pg`);
    ``exact`` is False when Python must re-check the filter.

    Filter keys follow `SqliteSaver`: letters, digits, ``_``, ``-``, ``.``, a dot separating
    nested keys (``{"user.access-level": "admin"}``); other keys raise `InvalidConfigError`
    (a ``ValueError``) naming them. Keys and values reach SQL only as parameters.
    """
    where: list[str] = []
    params: list[Any] = []
    if config is not None:
        checked = _config_mapping(config, "list config")
        target = parse_target(cast(RunnableConfig, checked), what="list")
        p = sql.PARAM
        where.append(f"thread_id = {p}")
        params.append(_bindable("thread_id", target.thread_id))
        if config["configurable"].get("checkpoint_ns") is not None:
            where.append(f"checkpoint_ns = {p}")
            params.append(_bindable("checkpoint_ns", target.checkpoint_ns))
        if target.checkpoint_id:
            where.append(f"checkpoint_id = {p}")
            params.append(_bindable("checkpoint_id", target.checkpoint_id))
    before_id = None
    if before is not None:
        before_id = _config_mapping(before, "before").get("configurable", {}).get("checkpoint_id")
    if before_id:
        if not isinstance(before_id, str):
            raise InvalidConfigError(
                f"before's checkpoint_id must be a string, got {type(before_id).__name__}"
            )
        where.append(f"checkpoint_id < {sql.PARAM}")
        params.append(_bindable("before's checkpoint_id", before_id))
    if filter is not None and not isinstance(filter, Mapping):
        raise InvalidConfigError(f"list filter must be a dict, got {type(filter).__name__}")
    exact = True
    for key, value in (filter or {}).items():
        term = sql.metadata_term(filter_path(key), value)
        if term is None:
            exact = False
        else:
            where.append(term[0])
            params.extend(term[1])
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
