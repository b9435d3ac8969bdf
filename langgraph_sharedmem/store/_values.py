"""Checking and encoding what callers hand the store: namespaces, keys and JSON values.

Values are stored as JSON text and must come back exactly as they went in, so anything JSON
cannot carry is refused with the path to the offending part, before anything is written:
NaN and infinities (``SqliteStore`` silently turns them into ``None``), non-string dict keys
(``json`` would turn ``{1: x}`` into ``{"1": x}``), tuples, sets and other objects. Lone
surrogates are fine: ``json`` with ``ensure_ascii`` writes them as ``\\udXXX`` escapes, which
read back as the same string.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from langgraph.store.base import InvalidNamespaceError

from langgraph_sharedmem.errors import InvalidConfigError

SEP = "."
# SQLite's JSON functions refuse nesting deeper than 1000; stay well inside that so every
# stored value can be filtered on. 16 MiB keeps one put from ballooning the WAL.
MAX_DEPTH = 200
MAX_VALUE_BYTES = 16 * 1024 * 1024


def ns_to_prefix(namespace: tuple[str, ...]) -> str:
    return SEP.join(namespace)


def prefix_to_ns(prefix: str) -> tuple[str, ...]:
    return tuple(prefix.split(SEP))


def prefix_range(namespace_prefix: tuple[str, ...]) -> tuple[str, str, str]:
    """``(exact, lo, hi)``: a namespace and its descendants are ``= exact`` or in ``[lo, hi)``."""
    exact = ns_to_prefix(namespace_prefix)
    # '/' is the character after '.', so [exact + '.', exact + '/') holds exactly the
    # prefixes that continue with another label.
    return exact, exact + SEP, exact + "/"


def check_text(what: str, text: str) -> str:
    """Refuse strings SQLite cannot store as text (lone surrogates) in names and keys."""
    if text.isascii():  # the common case, without encoding
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidConfigError(
            f"{what} {text!r} contains a lone surrogate ({exc.reason}); names and keys must "
            "be valid Unicode (values may contain lone surrogates)"
        ) from exc
    return text


def check_namespace(namespace: tuple[str, ...]) -> str:
    if not isinstance(namespace, tuple):
        raise InvalidNamespaceError(
            f"Namespace must be a tuple of strings, got {type(namespace).__name__}"
        )
    for label in namespace:
        check_text("namespace label", label)
    return ns_to_prefix(namespace)


# Counts beyond this are clamped: no store holds 2**40 items, and offset + limit, scaled by
# the search's over-fetch factors, must still fit SQLite's 64-bit integers.
MAX_COUNT = 2**40


def check_count(what: str, value: Any, *, allow_none: bool = False) -> int | None:
    """``limit``, ``offset`` or ``max_depth`` as a non-negative int (huge ones clamped)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidConfigError(
            f"{what} must be a non-negative int, got {type(value).__name__}: {value!r}"
        )
    if value < 0:
        raise InvalidConfigError(f"{what} must be a non-negative int, got {value}")
    return min(value, MAX_COUNT)


def check_key(key: Any) -> str:
    if not isinstance(key, str):
        raise InvalidConfigError(f"keys must be strings, got {type(key).__name__}: {key!r}")
    if "\x00" in key:
        # SQLite's JSON functions end text at a NUL, so a batch would not find such an item's
        # stored vectors again (LangGraph refuses NUL in namespace labels for the same kind
        # of reason).
        raise InvalidConfigError(f"keys cannot contain NUL characters ('\\x00'), got {key!r}")
    return check_text("key", key)


def _path(parts: list[Any]) -> str:
    text = "value"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f"[{part!r}]"
    return text


# For what orjson refuses among checked values (lone surrogates, ints beyond 64 bits). One
# encoder for every put: `json.dumps` with non-default options builds one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))


def _encode(value: Mapping[str, Any]) -> str:
    """JSON text of a value `_plain` accepted: orjson (~0.4 us for a small dict, ~4 for
    `json`), whose floats read back exactly, or `json` where orjson refuses."""
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return _ENCODER.encode(value)


def _plain(value: Any) -> bool:
    """Whether ``value`` is a dict of exactly JSON's types, finite and within `MAX_DEPTH`.

    The common case, checked by exact type only (about 1 us for a small dict); anything else,
    including subclasses and errors, returns False and `encode_value` takes the full walk,
    which accepts or refuses it with a message.
    """
    if type(value) is not dict:
        return False
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        obj, depth = stack.pop()
        if type(obj) is dict:
            for k in obj:
                if type(k) is not str:
                    return False
            children: Any = obj.values()
        else:
            children = obj
        for v in children:
            t = type(v)
            if t is str or t is int or t is bool or v is None:
                continue
            if t is float:
                if not math.isfinite(v):
                    return False
            elif t is dict or t is list:
                if depth + 1 >= MAX_DEPTH:
                    return False
                stack.append((v, depth + 1))
            else:
                return False
    return True


def put_where(namespace: Any, key: str) -> str:
    """How error messages name a put (built only when one is raised: the reprs cost ~2 us)."""
    return f"put({namespace!r}, {key!r})"


def encode_value(value: Mapping[str, Any], namespace: Any, key: str) -> str:
    """JSON text of ``value``, or `InvalidConfigError` naming the first part JSON cannot carry."""
    if _plain(value):
        text = _encode(value)
        if len(text) > MAX_VALUE_BYTES:
            raise _too_big(put_where(namespace, key), text)
        return text
    where = put_where(namespace, key)
    if not isinstance(value, Mapping):
        raise InvalidConfigError(f"{where}: value must be a dict, got {type(value).__name__}")
    # One iterative walk checks types, keys, floats and depth; `json.dumps` then does the
    # encoding in C. Recursion would hit Python's limit on the deep values we must refuse.
    stack: list[tuple[Any, list[Any]]] = [(value, [])]
    while stack:
        obj, parts = stack.pop()
        if len(parts) > MAX_DEPTH:
            raise InvalidConfigError(
                f"{where}: value is nested more than {MAX_DEPTH} levels deep at "
                f"{_path(parts[:5])}...; flatten it"
            )
        if isinstance(obj, str) or obj is None or isinstance(obj, bool):
            continue
        if isinstance(obj, int):
            continue
        if isinstance(obj, float):
            if not math.isfinite(obj):
                raise InvalidConfigError(
                    f"{where}: {_path(parts)} is {obj!r}; JSON has no NaN or infinity and "
                    "storing it would lose it. Store None or a string instead"
                )
            continue
        if isinstance(obj, Mapping):
            for k, v in obj.items():
                if not isinstance(k, str):
                    raise InvalidConfigError(
                        f"{where}: {_path(parts)} has a key of type {type(k).__name__} "
                        f"({k!r}); JSON object keys must be strings"
                    )
                stack.append((v, [*parts, k]))
            continue
        if isinstance(obj, list):
            for i, v in enumerate(obj):
                stack.append((v, [*parts, i]))
            continue
        raise InvalidConfigError(
            f"{where}: {_path(parts)} is a {type(obj).__name__}, which is not JSON "
            "(allowed: dict with str keys, list, str, int, float, bool, None)"
        )
    text = _ENCODER.encode(value)
    if len(text) > MAX_VALUE_BYTES:
        raise _too_big(where, text)
    return text


def _too_big(where: str, text: str) -> InvalidConfigError:
    return InvalidConfigError(
        f"{where}: value is {len(text)} bytes as JSON, over the {MAX_VALUE_BYTES}-byte "
        "limit; store large blobs elsewhere and keep a reference here"
    )


def decode_value(text: str) -> dict[str, Any]:
    return json.loads(text)


def now() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    return moment.isoformat()


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)
