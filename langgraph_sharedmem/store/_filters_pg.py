"""Compile a search filter to a PostgreSQL condition on ``mem_items.doc`` (jsonb).

The twin of `_filters` (read its docstring for the filter language): same operators, same
checks and errors (the key rule of `SqliteStore`, depth and size limits, NUL and lone
surrogates refused), same answers -- the differential tests run both against `InMemoryStore`.
Nothing from the filter enters SQL text: a node is ``doc -> %s -> %s ...`` with its path's
parts as parameters, values are parameters.

How SQLite's semantics map onto jsonb:

* a missing key and JSON null both read as None (``#>`` gives SQL NULL for a missing path,
  jsonb ``null`` for a JSON null);
* Python equality across number types: a node's number (`_num`) is its ``numeric`` value,
  or 0 / 1 for a boolean, or NULL for anything else; a string (`_str`) its text or NULL;
  comparisons of NULL are false, so ``{"n": {"$gt": 1}}`` never matches a string;
* strings order by code point (``COLLATE "C"`` on UTF-8), as SQLite's BINARY and Python do;
* ``jsonb_array_elements`` / ``jsonb_object_keys`` raise on other types, so they sit behind
  a ``CASE`` on the node's type, which PostgreSQL evaluates first.

Differences, all at the edges: integers beyond 64 bits compare exactly here (SQLite reads
them as floats), and a string holding NUL or a lone surrogate is filtered with those
characters as U+FFFD (`_schema_pg.doc_text`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from langgraph_sharedmem._filter_keys import filter_path
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.store._filters import (
    _CHUNK,
    _FIELD_OPS,
    MAX_FILTER_PARAMS,
    _deeper,
    _label,
    _text,
)

__all__ = ["compile_filter_pg"]

_ORDER = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}

Sql = tuple[str, list[Any]]


class _Node:
    """SQL expressions for the jsonb node at a path inside the document column."""

    def __init__(self, column: str, path: tuple[str | int, ...]) -> None:
        self.column = column
        self.path = path

    def json(self) -> Sql:
        # ``->`` per part (a key as text, a list position as int, which only an array
        # answers, as SQLite's ``[0]``): cheaper than ``#>`` with an array parameter.
        sql = self.column
        for part in self.path:
            sql += " -> %s::int" if isinstance(part, int) else " -> %s::text"
        return (f"({sql})" if self.path else sql), list(self.path)

    def type(self) -> Sql:
        sql, params = self.json()
        return f"jsonb_typeof({sql})", params

    def num(self) -> Sql:
        """The node as ``numeric`` (booleans as 0 and 1, as Python compares them), else NULL."""
        j, p = self.json()
        return (
            f"(CASE jsonb_typeof({j}) WHEN 'number' THEN ({j})::numeric "
            f"WHEN 'boolean' THEN CASE WHEN ({j})::boolean THEN 1 ELSE 0 END END)",
            [*p, *p, *p],
        )

    def text(self) -> Sql:
        """The node's text if it is a string, else NULL (ordered by code point)."""
        j, p = self.json()
        return (
            f"(CASE WHEN jsonb_typeof({j}) = 'string' THEN ({j} #>> '{{}}') END) COLLATE \"C\"",
            [*p, *p],
        )

    def is_none(self) -> Sql:
        j, p = self.json()
        return f"({j} IS NULL OR jsonb_typeof({j}) = 'null')", [*p, *p]

    def length(self, kind: str) -> Sql:
        """Elements of an array or keys of an object (``kind``); NULL for other types."""
        j, p = self.json()
        count = (
            f"jsonb_array_length({j})"
            if kind == "array"
            else f"(SELECT count(*) FROM jsonb_object_keys({j}))"
        )
        return f"(CASE WHEN jsonb_typeof({j}) = '{kind}' THEN {count} END)", [*p, *p]

    def child(self, part: str | int) -> _Node:
        return _Node(self.column, (*self.path, part))


def compile_filter_pg(filter: Mapping[str, Any] | None, column: str = "i.doc") -> Sql:
    """``(sql, params)`` true for rows whose jsonb ``column`` matches ``filter``."""
    if not filter:
        return "true", []
    if not isinstance(filter, Mapping):
        raise InvalidConfigError(f"filter must be a dict, got {type(filter).__name__}")
    sql, params = _all(_top(filter, column, 0))
    if len(params) > MAX_FILTER_PARAMS:
        raise InvalidConfigError(
            f"filter is too large: it needs {len(params)} SQL parameters, over "
            f"{MAX_FILTER_PARAMS}; use $in with a list instead of many $or terms"
        )
    return sql, params


def _top(filter: Mapping[str, Any], column: str, depth: int) -> list[Sql]:
    depth = _deeper(depth)
    parts: list[Sql] = []
    for key, wanted in filter.items():
        if key in ("$and", "$or"):
            if not isinstance(wanted, (list, tuple)) or not all(
                isinstance(f, Mapping) for f in wanted
            ):
                raise InvalidConfigError(f"filter {key!r} takes a list of filter dicts")
            subs = [_all(_top(f, column, depth)) for f in wanted]
            parts.append(_all(subs) if key == "$and" else _any(subs))
        elif key == "$not":
            if not isinstance(wanted, Mapping):
                raise InvalidConfigError("filter '$not' takes a filter dict")
            parts.append(_negate(_all(_top(wanted, column, depth))))
        elif isinstance(key, str) and key.startswith("$"):
            raise InvalidConfigError(
                f"unknown filter operator {key!r} at the top level; use $and, $or or $not, "
                "or a field name"
            )
        else:
            parts += _match(_Node(column, filter_path(key)), wanted, depth)
    return parts


def _match(node: _Node, wanted: Any, depth: int) -> list[Sql]:
    depth = _deeper(depth)
    if isinstance(wanted, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in wanted):
            return [_operator(node, op, arg, depth) for op, arg in wanted.items()]
        type_sql, type_params = node.type()
        parts = [(f"coalesce({type_sql} = 'object', false)", type_params)]
        for k, v in wanted.items():
            parts += _match(node.child(_label(k)), v, depth)
        return parts
    if isinstance(wanted, (list, tuple)):
        return _sequence(node, wanted, _match, depth)
    return [_scalar_eq(node, wanted)]


def _operator(node: _Node, op: Any, arg: Any, depth: int) -> Sql:
    if op not in _FIELD_OPS:
        raise InvalidConfigError(
            f"unknown filter operator {op!r}; supported: {', '.join(sorted(_FIELD_OPS))}"
        )
    if op == "$eq":
        return _all(_equal(node, arg, depth))
    if op == "$ne":
        return _negate(_all(_equal(node, arg, depth)))
    if op in ("$in", "$nin"):
        if not isinstance(arg, (list, tuple)):
            raise InvalidConfigError(f"filter operator {op!r} takes a list, got {arg!r}")
        found = _one_of(node, arg, depth)
        return found if op == "$in" else _negate(found)
    if op == "$contains":
        return _contains(node, arg)
    return _order(node, _ORDER[op], op, arg)


def _numeric_text(value: Any) -> str:
    """A number as ``numeric`` input text (exact for ints of any size; floats as Python
    writes them, which numeric reads back to the same decimal)."""
    n = int(value) if isinstance(value, bool) else value
    if isinstance(n, float):
        if math.isnan(n):
            raise InvalidConfigError("filter numbers cannot be NaN")
        if math.isinf(n):
            return "Infinity" if n > 0 else "-Infinity"
        return repr(n)
    if isinstance(n, int):
        return str(n)
    raise InvalidConfigError(f"expected a number in the filter, got {value!r}")


def _one_of(node: _Node, values: Any, depth: int) -> Sql:
    texts: list[str] = []
    numbers: list[str] = []
    has_null = False
    parts: list[Sql] = []
    for v in values:
        if isinstance(v, (Mapping, list, tuple)):
            parts.append(_all(_equal(node, v, depth)))
        elif v is None:
            has_null = True
        elif isinstance(v, str):
            texts.append(_text(v))
        elif isinstance(v, (int, float)):
            if isinstance(v, float) and not math.isfinite(v):
                continue  # no stored number is NaN or infinite
            numbers.append(_numeric_text(v))
        else:
            raise InvalidConfigError(
                f"filter values must be JSON (str, number, bool, None, list, dict), got "
                f"{type(v).__name__}"
            )
    if has_null:
        parts.append(node.is_none())
    if texts:
        sql, params = node.text()
        parts.append((f"coalesce({sql} = ANY(%s::text[]), false)", [*params, texts]))
    if numbers:
        sql, params = node.num()
        parts.append((f"coalesce({sql} = ANY(%s::numeric[]), false)", [*params, numbers]))
    return _any(parts)


def _order(node: _Node, sign: str, op: str, arg: Any) -> Sql:
    if isinstance(arg, (int, float)):  # bool included, as float(True) in InMemoryStore
        sql, params = node.num()
        return f"coalesce({sql} {sign} %s::numeric, false)", [*params, _numeric_text(arg)]
    if isinstance(arg, str):
        sql, params = node.text()
        return f"coalesce({sql} {sign} %s, false)", [*params, _text(arg)]
    raise InvalidConfigError(
        f"filter operator {op!r} compares numbers or strings, got {type(arg).__name__}"
    )


def _contains(node: _Node, arg: Any) -> Sql:
    if isinstance(arg, (Mapping, list, tuple)):
        raise InvalidConfigError("filter operator '$contains' takes a string, number or bool")
    j, p = node.json()
    element, element_params = _element_eq(_Node("e.value", ()), arg)
    in_array = (
        f"CASE WHEN jsonb_typeof({j}) = 'array' THEN EXISTS "
        f"(SELECT 1 FROM jsonb_array_elements({j}) AS e WHERE {element})"
    )
    params = [*p, *p, *element_params]
    if isinstance(arg, str):
        s, sp = node.text()
        return (
            f"coalesce({in_array} WHEN strpos({s}, %s) > 0 THEN true ELSE false END, false)",
            [*params, *sp, arg],
        )
    return f"coalesce({in_array} ELSE false END, false)", params


def _element_eq(node: _Node, arg: Any) -> Sql:
    if arg is None:
        j, p = node.json()
        return f"jsonb_typeof({j}) = 'null'", p
    return _scalar_eq(node, arg)


def _equal(node: _Node, wanted: Any, depth: int) -> list[Sql]:
    depth = _deeper(depth)
    if isinstance(wanted, Mapping):
        count_sql, count_params = node.length("object")
        parts: list[Sql] = [(f"coalesce({count_sql} = %s, false)", [*count_params, len(wanted)])]
        for k, v in wanted.items():
            child = node.child(_label(k))
            j, p = child.json()
            parts.append((f"({j} IS NOT NULL)", p))
            parts += _equal(child, v, depth)
        return parts
    if isinstance(wanted, (list, tuple)):
        return _sequence(node, wanted, _equal, depth)
    return [_scalar_eq(node, wanted)]


def _sequence(node: _Node, wanted: Any, each: Any, depth: int) -> list[Sql]:
    count_sql, count_params = node.length("array")
    parts: list[Sql] = [(f"coalesce({count_sql} = %s, false)", [*count_params, len(wanted)])]
    for i, v in enumerate(wanted):
        parts += each(node.child(i), v, depth)
    return parts


def _scalar_eq(node: _Node, wanted: Any) -> Sql:
    if wanted is None:  # missing and JSON null both read as None
        return node.is_none()
    if isinstance(wanted, str):
        # jsonb equality of two strings is byte equality: the typed comparison, one lookup.
        j, params = node.json()
        return f"coalesce({j} = %s::jsonb, false)", [*params, json.dumps(_text(wanted))]
    if isinstance(wanted, (int, float)):
        if isinstance(wanted, float) and not math.isfinite(wanted):
            return "false", []
        sql, params = node.num()
        return f"coalesce({sql} = %s::numeric, false)", [*params, _numeric_text(wanted)]
    raise InvalidConfigError(
        f"filter values must be JSON (str, number, bool, None, list, dict), got "
        f"{type(wanted).__name__}"
    )


def _join(parts: list[Sql], op: str) -> Sql:
    if len(parts) == 1:
        return parts[0]
    while len(parts) > _CHUNK:
        parts = [_join(parts[i : i + _CHUNK], op) for i in range(0, len(parts), _CHUNK)]
    return "(" + f" {op} ".join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]


def _all(parts: list[Sql]) -> Sql:
    return _join(parts, "AND") if parts else ("true", [])


def _any(parts: list[Sql]) -> Sql:
    return _join(parts, "OR") if parts else ("false", [])


def _negate(part: Sql) -> Sql:
    # Terms are true, false or NULL; NOT of an unknown must hold, as on SQLite.
    return f"(({part[0]}) IS NOT TRUE)", part[1]
