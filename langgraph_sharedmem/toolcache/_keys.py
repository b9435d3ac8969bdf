"""Call keys and stored results: pure functions, no I/O.

Key rules (``docs/tool_cache.md``): the key is the sha256 of the canonical JSON of
``{"args": ..., "run": ..., "scope": ..., "tool": ..., "user": ...}`` (the boundary from
`_scope.where`: a run-scoped key names its user and run, a user-scoped one its user), where
canonical means sorted keys, no spaces, ASCII escapes. Only exact JSON types are accepted
(``dict`` with ``str`` keys, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``);
everything else is refused with `InvalidConfigError` naming its path, never coerced, because
coercion is how two different argument sets end up sharing a key:

* ``1``, ``1.0`` and ``True`` are three keys (JSON keeps ``1``, ``1.0`` and ``true`` apart);
* tuples, sets, bytes, subclasses (enums, ``str`` subclasses), dataclasses, models: refused.
  ``(1, 2)`` and ``[1, 2]`` would both become ``[1, 2]``, and a tool may treat them
  differently. Pass a list, or give the decorator a ``key=`` function mapping the arguments
  to JSON yourself;
* NaN and infinities: refused (JSON has none; ``json.dumps`` would write a non-JSON token);
* more than `MAX_ARGS_BYTES` of JSON or `MAX_DEPTH` levels: refused.

Canonical JSON is injective on these values (``json.loads`` gives the same value back), so two
different argument sets never share a key except by a sha256 collision.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Final

from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.toolcache._scope import Where

MAX_ARGS_BYTES: Final = 1024 * 1024
MAX_RESULT_BYTES: Final = 16 * 1024 * 1024
MAX_DEPTH: Final = 100
JSON_TYPE: Final = "json"
_SCALARS: Final = (str, int, float, bool, type(None))


def json_problem(value: Any, path: str) -> str | None:
    """Why ``value`` is not plain JSON data, naming the first offending part; None if it is."""
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:  # iterative: deep values are refused, not a RecursionError
        obj, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"{where} is nested more than {MAX_DEPTH} levels deep"
        kind = type(obj)
        if kind is float:
            if not math.isfinite(obj):
                return f"{where} is {obj!r}; JSON has no NaN or infinity"
        elif kind in _SCALARS:
            continue
        elif kind is dict:
            for k, v in obj.items():
                if type(k) is not str:
                    return (
                        f"{where} has a key of type {type(k).__name__} ({k!r}); JSON object "
                        "keys must be str"
                    )
                stack.append((v, f"{where}[{k!r}]", depth + 1))
        elif kind is list:
            stack.extend((v, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj))
        else:
            hint = " (a tuple would be merged with the equal list; pass a list)" * (kind is tuple)
            return (
                f"{where} is a {kind.__name__}, not plain JSON data{hint}; use dict, list, str, "
                "int, float, bool and None, or give the cache a key= function"
            )
    return None


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def check_tool(tool: Any) -> None:
    if not isinstance(tool, str) or not tool:
        raise InvalidConfigError(f"a tool name must be a non-empty string, got {tool!r}")


def scope_label(where: Where) -> str:
    """What the ``scope`` column shows of a key's boundary (for people; keys use the hash)."""
    scope, user, run = where
    return dumps({"run": run, "scope": scope, "user": user})


def call_key(tool: str, args: Any, where: Where) -> tuple[str, str]:
    """``(key, args_json)`` of one call of the checked tool name ``tool`` within ``where``,
    or `InvalidConfigError` for arguments without a canonical form."""
    problem = json_problem(args, f"arguments of {tool!r}")
    if problem:
        raise InvalidConfigError(f"cannot cache this call: {problem}")
    args_json = dumps(args)
    if len(args_json) > MAX_ARGS_BYTES:
        raise InvalidConfigError(
            f"cannot cache this call: arguments of {tool!r} are {len(args_json)} bytes as "
            f"JSON; the limit is {MAX_ARGS_BYTES} (give the cache a key= function that "
            "maps them to something smaller, such as a content hash)"
        )
    # The canonical JSON of {"args", "run", "scope", "tool", "user"} (keys already in sorted
    # order), built from args_json rather than encoding the arguments a second time.
    scope, user, run = where
    text = (
        f'{{"args":{args_json},"run":{dumps(run)},"scope":{dumps(scope)},'
        f'"tool":{dumps(tool)},"user":{dumps(user)}}}'
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest(), args_json


def encode_result(value: Any, serde: SerializerProtocol) -> tuple[str, bytes | str] | None:
    """How a result is stored: JSON text when it is plain JSON data (it comes back equal),
    else the serializer's typed blob if that round-trips; None when it cannot be stored."""
    if json_problem(value, "result") is None:
        text = dumps(value)
        return (JSON_TYPE, text) if len(text) <= MAX_RESULT_BYTES else None
    try:
        type_tag, blob = serde.dumps_typed(value)
        if len(blob) > MAX_RESULT_BYTES:
            return None
        serde.loads_typed((type_tag, blob))  # refuse now what a later hit could not rebuild
    except Exception:
        return None
    return type_tag, blob


def decode_result(type_tag: str, data: bytes | str, serde: SerializerProtocol) -> Any:
    if type_tag == JSON_TYPE:
        return json.loads(data)
    blob = data if isinstance(data, bytes) else data.encode("utf-8")
    return serde.loads_typed((type_tag, blob))
