"""Compile a search filter to a SQL condition and its parameters.

Nothing from the filter is pasted into SQL text: keys become JSON-path *parameters* (or, for
a key holding a double quote, which SQLite's path syntax cannot express, a ``json_each`` lookup
whose key is a parameter), and values are parameters. The SQL text is built only from the
fixed fragments below, so a key like ``x') OR 1=1 --`` is just a key that matches nothing
(CVE-2025-8709 was a filter key pasted into a path string).

Keys follow `SqliteStore`'s rule (`filter_path`): letters, digits, ``_``, ``-`` and ``.``, a
dot separating nested keys (``{"user.access-level": "admin"}``); any other key raises
`InvalidConfigError`, a ``ValueError``, naming it. Values follow `InMemoryStore`'s semantics,
checked by the differential tests against both:

* ``{"k": v}`` -- ``value.get("k") == v`` (Python equality: ``1 == 1.0 == True``; a missing key
  equals ``None``); a dict ``v`` without operators matches nested keys, a list ``v`` matches a
  list of the same length element by element.
* ``{"k": {"$eq" | "$ne" | "$gt" | "$gte" | "$lt" | "$lte": v}}`` -- comparisons; the four
  orderings compare numbers (booleans count as 0 and 1) or, when ``v`` is a string, strings.
  `InMemoryStore` calls ``float()`` on both sides, so it raises on text; we match nothing.

Beyond LangGraph, as Mem0 users expect: ``$in`` / ``$nin`` (a list of values), ``$contains``
(an element of a list, or a substring of a string), and top-level ``$and`` / ``$or`` (lists of
filters) and ``$not`` (a filter). Anything else is refused with `InvalidConfigError`.

Odd input gets that error too, never a raw one: nesting deeper than `MAX_FILTER_DEPTH`, lone
surrogates, filters needing more than `MAX_FILTER_PARAMS` parameters. Integers beyond 64 bits
compare as floats (as SQLite reads them; beyond a float's range, as infinities), and a ``$in``
list of any length costs two parameters (its strings and its numbers, as JSON arrays).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from langgraph_sharedmem._filter_keys import filter_path
from langgraph_sharedmem.errors import InvalidConfigError

_ORDER = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_FIELD_OPS = frozenset({"$eq", "$ne", "$in", "$nin", "$contains", *_ORDER})
_NUMERIC_TYPES = "('integer', 'real', 'true', 'false')"
_INT64 = (-(2**63), 2**63 - 1)
# SQLite's parser stack (~100 entries) overflows at about 30 nested parenthesised levels;
# each level of a filter adds one or two, so 20 leaves room (tests/adversarial hold it).
MAX_FILTER_DEPTH = 20
MAX_FILTER_PARAMS = 30_000  # SQLite builds allow 32766 at least
_CHUNK = 64  # terms per flat AND/OR: a flat list of n is an expression tree n deep (max 1000)
_PLAIN = re.compile(r"[ !#-\[\]-~]*")  # printable ASCII except '"' and '\\'

Sql = tuple[str, list[Any]]


class _Node:
    """SQL expressions for the JSON node at a path inside the value column."""

    _aliases = itertools.count()

    def __init__(self, column: str, path: tuple[str | int, ...]) -> None:
        self.column = column
        self.path = path
        # SQLite matches a path label against the key's raw JSON text, which we write with
        # escapes for anything outside printable ASCII, and its path syntax cannot escape '"'.
        # Such keys are looked up with json_each, which compares decoded keys.
        self.by_path = all(not isinstance(p, str) or _PLAIN.fullmatch(p) for p in path)

    def _path_text(self) -> str:
        text = "$"
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else f'."{part}"'
        return text

    def _lookup(self, column: str) -> Sql:
        """``SELECT j.<column>`` of the node by walking ``json_each`` with keys as parameters."""
        container: Sql = (self.column, [])
        sql, params = "", []
        for depth, part in enumerate(self.path):
            a = f"j{next(self._aliases)}"
            last = depth == len(self.path) - 1
            pick = (
                f"{a}.{column}"
                if last
                else (f"CASE WHEN {a}.type IN ('object', 'array') THEN {a}.value END")
            )
            sql = f"(SELECT {pick} FROM json_each({container[0]}) AS {a} WHERE {a}.key = ?)"
            params = [*container[1], part]
            container = (sql, params)
        return sql, params

    def value(self) -> Sql:
        if not self.path:
            return self.column, []
        if self.by_path:
            return f"json_extract({self.column}, ?)", [self._path_text()]
        return self._lookup("value")

    def type(self) -> Sql:
        if not self.path:
            return f"json_type({self.column})", []
        if self.by_path:
            return f"json_type({self.column}, ?)", [self._path_text()]
        return self._lookup("type")

    def each(self) -> Sql:
        """A ``json_each`` table-valued call over the node (for arrays and objects)."""
        if not self.path:
            return f"json_each({self.column})", []
        if self.by_path:
            return f"json_each({self.column}, ?)", [self._path_text()]
        sql, params = self._lookup("value")
        return f"json_each({sql})", params

    def child(self, part: str | int) -> _Node:
        return _Node(self.column, (*self.path, part))


def compile_filter(filter: Mapping[str, Any] | None, column: str = "i.value") -> Sql:
    """``(sql, params)`` true for rows whose JSON ``column`` matches ``filter``."""
    if not filter:
        return "1", []
    if not isinstance(filter, Mapping):
        raise InvalidConfigError(f"filter must be a dict, got {type(filter).__name__}")
    sql, params = _all(_top(filter, column, 0))
    if len(params) > MAX_FILTER_PARAMS:
        raise InvalidConfigError(
            f"filter is too large: it needs {len(params)} SQL parameters, over "
            f"{MAX_FILTER_PARAMS}; use $in with a list instead of many $or terms"
        )
    return sql, params


def _deeper(depth: int) -> int:
    if depth >= MAX_FILTER_DEPTH:
        raise InvalidConfigError(
            f"filter is nested more than {MAX_FILTER_DEPTH} levels deep ($and/$or/$not, "
            "operators, nested dicts and lists); flatten it"
        )
    return depth + 1


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
    """``InMemoryStore._compare_values``: nested dicts match by key, lists by position.
    A list of conditions, all of which must hold (kept flat: nesting costs parser depth)."""
    depth = _deeper(depth)
    if isinstance(wanted, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in wanted):
            return [_operator(node, op, arg, depth) for op, arg in wanted.items()]
        type_sql, type_params = node.type()
        parts = [(f"({type_sql} = 'object')", type_params)]
        for k, v in wanted.items():
            parts += _match(node.child(_label(k)), v, depth)
        return parts
    if isinstance(wanted, (list, tuple)):
        return _sequence(node, wanted, _match, depth)
    return [_scalar_eq(node, wanted)]


def _label(key: Any) -> str:
    if not isinstance(key, str):
        raise InvalidConfigError(f"filter keys must be strings, got {key!r}")
    return _text(key, "filter key")


def _text(value: str, what: str = "filter value") -> str:
    """``value``, if SQLite can take it as text (lone surrogates cannot be UTF-8) and its
    JSON functions can compare it (they cut decoded text at a NUL)."""
    if "\x00" in value:
        raise InvalidConfigError(
            f"{what} {value!r} contains a NUL character, which SQLite's JSON functions "
            "cut text at, so the filter could not be answered correctly"
        )
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidConfigError(
            f"{what} {value!r} contains a lone surrogate ({exc.reason}); filters must be "
            "valid Unicode"
        ) from exc
    return value


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


def _one_of(node: _Node, values: Any, depth: int) -> Sql:
    """Equal to one of ``values``. Strings and numbers each travel as one JSON array
    parameter: ``x IN (SELECT value FROM json_each(?))`` is built once per statement as an
    index, so any length works (an OR per value hit SQLite's expression depth limit near
    1000 values) and a row costs one lookup."""
    texts: list[str] = []
    numbers: list[int | float] = []
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
            n = _number(v)
            if math.isfinite(n):  # no stored number is NaN or infinite
                numbers.append(n)
        else:
            raise InvalidConfigError(
                f"filter values must be JSON (str, number, bool, None, list, dict), got "
                f"{type(v).__name__}"
            )
    value_sql, value_params = node.value()
    type_sql, type_params = node.type()
    if has_null:  # missing and JSON null both read as None
        parts.append((f"({value_sql} IS NULL)", value_params))
    for kinds, members in (("('text')", texts), (_NUMERIC_TYPES, numbers)):
        if members:
            parts.append(
                (
                    f"({value_sql} IN (SELECT value FROM json_each(?)) AND {type_sql} IN {kinds})",
                    [*value_params, json.dumps(members), *type_params],
                )
            )
    return _any(parts)


def _order(node: _Node, sign: str, op: str, arg: Any) -> Sql:
    type_sql, type_params = node.type()
    value_sql, value_params = node.value()
    param: float | str
    if isinstance(arg, (int, float)):  # bool included, as float(True) in InMemoryStore
        kinds, param = _NUMERIC_TYPES, _number(arg)
    elif isinstance(arg, str):
        kinds, param = "('text')", _text(arg)
    else:
        raise InvalidConfigError(
            f"filter operator {op!r} compares numbers or strings, got {type(arg).__name__}"
        )
    return (
        f"({value_sql} {sign} ? AND {type_sql} IN {kinds})",
        [*value_params, param, *type_params],
    )


def _contains(node: _Node, arg: Any) -> Sql:
    if isinstance(arg, (Mapping, list, tuple)):
        raise InvalidConfigError("filter operator '$contains' takes a string, number or bool")
    type_sql, type_params = node.type()
    each_sql, each_params = node.each()
    element, element_params = _element_eq("e", arg)
    in_array = (
        f"EXISTS (SELECT 1 FROM {each_sql} AS e WHERE {element})",
        [*each_params, *element_params],
    )
    if isinstance(arg, str):
        value_sql, value_params = node.value()
        return (
            f"(CASE {type_sql} WHEN 'array' THEN {in_array[0]} "
            f"WHEN 'text' THEN instr({value_sql}, ?) > 0 ELSE 0 END)",
            [*type_params, *in_array[1], *value_params, arg],
        )
    return (
        f"(CASE {type_sql} WHEN 'array' THEN {in_array[0]} ELSE 0 END)",
        [*type_params, *in_array[1]],
    )


def _element_eq(alias: str, arg: Any) -> Sql:
    if arg is None:
        return f"{alias}.type = 'null'", []
    if isinstance(arg, str):
        return f"{alias}.type = 'text' AND {alias}.value = ?", [_text(arg)]
    return f"{alias}.type IN {_NUMERIC_TYPES} AND {alias}.value = ?", [_number(arg)]


def _equal(node: _Node, wanted: Any, depth: int) -> list[Sql]:
    """Python ``==``: dicts need the same keys, lists the same length, recursively."""
    depth = _deeper(depth)
    if isinstance(wanted, Mapping):
        type_sql, type_params = node.type()
        each_sql, each_params = node.each()
        parts: list[Sql] = [
            (f"({type_sql} = 'object')", type_params),
            (f"((SELECT count(*) FROM {each_sql}) = ?)", [*each_params, len(wanted)]),
        ]
        for k, v in wanted.items():
            child = node.child(_label(k))
            child_type, child_params = child.type()
            parts.append((f"({child_type} IS NOT NULL)", child_params))
            parts += _equal(child, v, depth)
        return parts
    if isinstance(wanted, (list, tuple)):
        return _sequence(node, wanted, _equal, depth)
    return [_scalar_eq(node, wanted)]


def _sequence(node: _Node, wanted: Any, each: Any, depth: int) -> list[Sql]:
    type_sql, type_params = node.type()
    each_sql, each_params = node.each()
    parts: list[Sql] = [
        (f"({type_sql} = 'array')", type_params),
        (f"((SELECT count(*) FROM {each_sql}) = ?)", [*each_params, len(wanted)]),
    ]
    for i, v in enumerate(wanted):
        parts += each(node.child(i), v, depth)
    return parts


def _scalar_eq(node: _Node, wanted: Any) -> Sql:
    value_sql, value_params = node.value()
    if wanted is None:  # missing and JSON null both read as None
        return f"({value_sql} IS NULL)", value_params
    type_sql, type_params = node.type()
    # The value comparison goes first: it rejects most rows, and SQLite skips the rest of
    # an AND once a term is false, so the type check runs only on rows that already match.
    if isinstance(wanted, str):
        text = _text(wanted)
        sql, params = (
            f"{value_sql} = ? AND {type_sql} = 'text'",
            [*value_params, text, *type_params],
        )
        if _PLAIN.fullmatch(text):
            # Values are stored as JSON written with ensure_ascii, which spells such a string
            # literally between quotes. A substring test rejects most rows before SQLite
            # parses their JSON: ~20% off a filtered scan.
            return f"(instr({node.column}, ?) AND {sql})", [f'"{text}"', *params]
        return f"({sql})", params
    if isinstance(wanted, (int, float)):
        return (
            f"({value_sql} = ? AND {type_sql} IN {_NUMERIC_TYPES})",
            [*value_params, _number(wanted), *type_params],
        )
    raise InvalidConfigError(
        f"filter values must be JSON (str, number, bool, None, list, dict), got "
        f"{type(wanted).__name__}"
    )


def _number(value: Any) -> int | float:
    """A number SQLite can bind: ints beyond 64 bits as floats, beyond a float as +-inf."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    if not isinstance(value, (int, float)):
        raise InvalidConfigError(f"expected a number in the filter, got {value!r}")
    return value


def _join(parts: list[Sql], op: str) -> Sql:
    if len(parts) == 1:
        return parts[0]
    # Chunks of _CHUNK keep SQLite's expression tree shallow for any number of terms.
    while len(parts) > _CHUNK:
        parts = [_join(parts[i : i + _CHUNK], op) for i in range(0, len(parts), _CHUNK)]
    return "(" + f" {op} ".join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]


def _all(parts: list[Sql]) -> Sql:
    return _join(parts, "AND") if parts else ("1", [])


def _any(parts: list[Sql]) -> Sql:
    return _join(parts, "OR") if parts else ("0", [])


def _negate(part: Sql) -> Sql:
    # Terms are 1, 0 or NULL (a missing path), and a WHERE clause reads NULL as false, so no
    # term wraps itself in coalesce(..., 0): that forced SQLite to evaluate both sides of
    # every AND as a value (~15% of a filtered search). NOT of a missing value must hold.
    return f"(({part[0]}) IS NOT 1)", part[1]
