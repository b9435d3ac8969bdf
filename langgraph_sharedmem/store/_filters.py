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


class Dialect:
    """The SQL one backend emits for each step of the shared filter walk.

    The walk (`compile_filter`) validates the filter and decides what to test; a dialect only
    spells each test. Every method returns one condition, true, false or NULL (read as false).
    """

    TRUE = "1"
    FALSE = "0"

    def root(self, column: str, path: tuple[str | int, ...]) -> Any:
        """A node (with ``child(part)``) for the JSON at ``path`` inside ``column``."""
        raise NotImplementedError

    def negate(self, part: Sql) -> Sql:
        raise NotImplementedError

    def is_object(self, node: Any) -> list[Sql]:
        raise NotImplementedError

    def object_size(self, node: Any, size: int) -> list[Sql]:
        """An object with exactly ``size`` keys."""
        raise NotImplementedError

    def has_key(self, child: Any) -> Sql:
        raise NotImplementedError

    def array_size(self, node: Any, size: int) -> list[Sql]:
        """An array of exactly ``size`` elements."""
        raise NotImplementedError

    def eq_none(self, node: Any) -> Sql:
        """Missing or JSON null (both read as None)."""
        raise NotImplementedError

    def eq_text(self, node: Any, text: str) -> Sql:
        raise NotImplementedError

    def eq_number(self, node: Any, number: int | float) -> Sql:
        """Python ``==`` with a number (a bool counts as 0 or 1)."""
        raise NotImplementedError

    def one_of(
        self, node: Any, has_null: bool, texts: list[str], numbers: list[int | float]
    ) -> list[Sql]:
        """Terms, any of which holds when the node is None / one of ``texts`` / ``numbers``
        (finite numbers only)."""
        raise NotImplementedError

    def order_number(self, node: Any, sign: str, number: int | float) -> Sql:
        raise NotImplementedError

    def order_text(self, node: Any, sign: str, text: str) -> Sql:
        raise NotImplementedError

    def contains(self, node: Any, arg: str | int | float | None) -> Sql:
        """An array holding ``arg``, or (``arg`` a string) a string holding it."""
        raise NotImplementedError


class _Sqlite(Dialect):
    """SQLite's JSON1 functions on a TEXT column."""

    def root(self, column: str, path: tuple[str | int, ...]) -> _Node:
        return _Node(column, path)

    def negate(self, part: Sql) -> Sql:
        # Terms are 1, 0 or NULL (a missing path), and a WHERE clause reads NULL as false, so
        # no term wraps itself in coalesce(..., 0): that forced SQLite to evaluate both sides
        # of every AND as a value (~15% of a filtered search). NOT of a missing value holds.
        return f"(({part[0]}) IS NOT 1)", part[1]

    def is_object(self, node: _Node) -> list[Sql]:
        type_sql, type_params = node.type()
        return [(f"({type_sql} = 'object')", type_params)]

    def _size(self, node: _Node, kind: str, size: int) -> list[Sql]:
        type_sql, type_params = node.type()
        each_sql, each_params = node.each()
        return [
            (f"({type_sql} = '{kind}')", type_params),
            (f"((SELECT count(*) FROM {each_sql}) = ?)", [*each_params, size]),
        ]

    def object_size(self, node: _Node, size: int) -> list[Sql]:
        return self._size(node, "object", size)

    def array_size(self, node: _Node, size: int) -> list[Sql]:
        return self._size(node, "array", size)

    def has_key(self, child: _Node) -> Sql:
        child_type, child_params = child.type()
        return f"({child_type} IS NOT NULL)", child_params

    def eq_none(self, node: _Node) -> Sql:
        value_sql, value_params = node.value()
        return f"({value_sql} IS NULL)", value_params

    def eq_text(self, node: _Node, text: str) -> Sql:
        value_sql, value_params = node.value()
        type_sql, type_params = node.type()
        # The value comparison goes first: it rejects most rows, and SQLite skips the rest of
        # an AND once a term is false, so the type check runs only on rows that already match.
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

    def eq_number(self, node: _Node, number: int | float) -> Sql:
        value_sql, value_params = node.value()
        type_sql, type_params = node.type()
        return (
            f"({value_sql} = ? AND {type_sql} IN {_NUMERIC_TYPES})",
            [*value_params, _number(number), *type_params],
        )

    def one_of(
        self, node: _Node, has_null: bool, texts: list[str], numbers: list[int | float]
    ) -> list[Sql]:
        # Strings and numbers each travel as one JSON array parameter: ``x IN (SELECT value
        # FROM json_each(?))`` is built once per statement as an index, so any length works
        # (an OR per value hit SQLite's expression depth limit near 1000 values) and a row
        # costs one lookup.
        value_sql, value_params = node.value()
        type_sql, type_params = node.type()
        parts: list[Sql] = []
        if has_null:
            parts.append((f"({value_sql} IS NULL)", value_params))
        # Ints beyond a float's range read as infinities here, which no stored number is.
        finite = [n for n in map(_number, numbers) if math.isfinite(n)]
        for kinds, members in (("('text')", list[Any](texts)), (_NUMERIC_TYPES, finite)):
            if members:
                parts.append(
                    (
                        f"({value_sql} IN (SELECT value FROM json_each(?)) "
                        f"AND {type_sql} IN {kinds})",
                        [*value_params, json.dumps(members), *type_params],
                    )
                )
        return parts

    def _order(self, node: _Node, sign: str, kinds: str, param: Any) -> Sql:
        type_sql, type_params = node.type()
        value_sql, value_params = node.value()
        return (
            f"({value_sql} {sign} ? AND {type_sql} IN {kinds})",
            [*value_params, param, *type_params],
        )

    def order_number(self, node: _Node, sign: str, number: int | float) -> Sql:
        return self._order(node, sign, _NUMERIC_TYPES, _number(number))

    def order_text(self, node: _Node, sign: str, text: str) -> Sql:
        return self._order(node, sign, "('text')", text)

    def contains(self, node: _Node, arg: str | int | float | None) -> Sql:
        type_sql, type_params = node.type()
        each_sql, each_params = node.each()
        element_params: list[Any] = []
        if arg is None:
            element = "e.type = 'null'"
        elif isinstance(arg, str):
            element, element_params = "e.type = 'text' AND e.value = ?", [arg]
        else:
            element, element_params = (
                f"e.type IN {_NUMERIC_TYPES} AND e.value = ?",
                [_number(arg)],
            )
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


SQLITE: Dialect = _Sqlite()


def compile_filter(
    filter: Mapping[str, Any] | None, column: str = "i.value", dialect: Dialect = SQLITE
) -> Sql:
    """``(sql, params)`` true for rows whose JSON ``column`` matches ``filter``."""
    if not filter:
        return dialect.TRUE, []
    if not isinstance(filter, Mapping):
        raise InvalidConfigError(f"filter must be a dict, got {type(filter).__name__}")
    sql, params = _all(dialect, _top(dialect, filter, column, 0))
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


def _top(d: Dialect, filter: Mapping[str, Any], column: str, depth: int) -> list[Sql]:
    depth = _deeper(depth)
    parts: list[Sql] = []
    for key, wanted in filter.items():
        if key in ("$and", "$or"):
            if not isinstance(wanted, (list, tuple)) or not all(
                isinstance(f, Mapping) for f in wanted
            ):
                raise InvalidConfigError(f"filter {key!r} takes a list of filter dicts")
            subs = [_all(d, _top(d, f, column, depth)) for f in wanted]
            parts.append(_all(d, subs) if key == "$and" else _any(d, subs))
        elif key == "$not":
            if not isinstance(wanted, Mapping):
                raise InvalidConfigError("filter '$not' takes a filter dict")
            parts.append(d.negate(_all(d, _top(d, wanted, column, depth))))
        elif isinstance(key, str) and key.startswith("$"):
            raise InvalidConfigError(
                f"unknown filter operator {key!r} at the top level; use $and, $or or $not, "
                "or a field name"
            )
        else:
            parts += _match(d, d.root(column, filter_path(key)), wanted, depth)
    return parts


def _match(d: Dialect, node: Any, wanted: Any, depth: int) -> list[Sql]:
    """``InMemoryStore._compare_values``: nested dicts match by key, lists by position.
    A list of conditions, all of which must hold (kept flat: nesting costs parser depth)."""
    depth = _deeper(depth)
    if isinstance(wanted, Mapping):
        if any(isinstance(k, str) and k.startswith("$") for k in wanted):
            return [_operator(d, node, op, arg, depth) for op, arg in wanted.items()]
        parts = d.is_object(node)
        for k, v in wanted.items():
            parts += _match(d, node.child(_label(k)), v, depth)
        return parts
    if isinstance(wanted, (list, tuple)):
        return _sequence(d, node, wanted, _match, depth)
    return [_scalar_eq(d, node, wanted)]


def _label(key: Any) -> str:
    if not isinstance(key, str):
        raise InvalidConfigError(f"filter keys must be strings, got {key!r}")
    return _text(key, "filter key")


def _text(value: str, what: str = "filter value") -> str:
    """``value``, if SQLite can take it as text (lone surrogates cannot be UTF-8) and both
    backends' JSON can compare it: SQLite's JSON functions cut decoded text at a NUL, and
    PostgreSQL's jsonb cannot hold one (its documents keep U+FFFD there)."""
    if "\x00" in value:
        # Refused on both backends alike, so the message names both reasons.
        raise InvalidConfigError(
            f"{what} {value!r} contains a NUL character, which stored JSON cannot be compared "
            "with exactly (SQLite's JSON functions cut text at NUL; PostgreSQL's jsonb cannot "
            "hold it), so the filter could not be answered correctly"
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


def _operator(d: Dialect, node: Any, op: Any, arg: Any, depth: int) -> Sql:
    if op not in _FIELD_OPS:
        raise InvalidConfigError(
            f"unknown filter operator {op!r}; supported: {', '.join(sorted(_FIELD_OPS))}"
        )
    if op == "$eq":
        return _all(d, _equal(d, node, arg, depth))
    if op == "$ne":
        return d.negate(_all(d, _equal(d, node, arg, depth)))
    if op in ("$in", "$nin"):
        if not isinstance(arg, (list, tuple)):
            raise InvalidConfigError(f"filter operator {op!r} takes a list, got {arg!r}")
        found = _one_of(d, node, arg, depth)
        return found if op == "$in" else d.negate(found)
    if op == "$contains":
        if isinstance(arg, (Mapping, list, tuple)):
            raise InvalidConfigError("filter operator '$contains' takes a string, number or bool")
        return d.contains(node, _scalar(arg))
    return _order(d, node, _ORDER[op], op, arg)


def _scalar(value: Any) -> str | int | float | None:
    """A JSON scalar of the filter, checked (text as `_text`), else `InvalidConfigError`."""
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return _text(value)
    raise InvalidConfigError(
        f"filter values must be JSON (str, number, bool, None, list, dict), got "
        f"{type(value).__name__}"
    )


def _one_of(d: Dialect, node: Any, values: Any, depth: int) -> Sql:
    """Equal to one of ``values``: containers compare one by one, scalars as sets."""
    texts: list[str] = []
    numbers: list[int | float] = []
    has_null = False
    parts: list[Sql] = []
    for v in values:
        if isinstance(v, (Mapping, list, tuple)):
            parts.append(_all(d, _equal(d, node, v, depth)))
            continue
        v = _scalar(v)
        if v is None:
            has_null = True
        elif isinstance(v, str):
            texts.append(v)
        elif not isinstance(v, float) or math.isfinite(v):  # no stored number is NaN or inf
            numbers.append(v)
    return _any(d, parts + d.one_of(node, has_null, texts, numbers))


def _order(d: Dialect, node: Any, sign: str, op: str, arg: Any) -> Sql:
    if isinstance(arg, (int, float)):  # bool included, as float(True) in InMemoryStore
        return d.order_number(node, sign, arg)
    if isinstance(arg, str):
        return d.order_text(node, sign, _text(arg))
    raise InvalidConfigError(
        f"filter operator {op!r} compares numbers or strings, got {type(arg).__name__}"
    )


def _equal(d: Dialect, node: Any, wanted: Any, depth: int) -> list[Sql]:
    """Python ``==``: dicts need the same keys, lists the same length, recursively."""
    depth = _deeper(depth)
    if isinstance(wanted, Mapping):
        parts = d.object_size(node, len(wanted))
        for k, v in wanted.items():
            child = node.child(_label(k))
            parts.append(d.has_key(child))
            parts += _equal(d, child, v, depth)
        return parts
    if isinstance(wanted, (list, tuple)):
        return _sequence(d, node, wanted, _equal, depth)
    return [_scalar_eq(d, node, wanted)]


def _sequence(d: Dialect, node: Any, wanted: Any, each: Any, depth: int) -> list[Sql]:
    parts = d.array_size(node, len(wanted))
    for i, v in enumerate(wanted):
        parts += each(d, node.child(i), v, depth)
    return parts


def _scalar_eq(d: Dialect, node: Any, wanted: Any) -> Sql:
    v = _scalar(wanted)
    if v is None:  # missing and JSON null both read as None
        return d.eq_none(node)
    if isinstance(v, str):
        return d.eq_text(node, v)
    return d.eq_number(node, v)


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
    # Chunks of _CHUNK keep the expression tree shallow for any number of terms.
    while len(parts) > _CHUNK:
        parts = [_join(parts[i : i + _CHUNK], op) for i in range(0, len(parts), _CHUNK)]
    return "(" + f" {op} ".join(p[0] for p in parts) + ")", [x for p in parts for x in p[1]]


def _all(d: Dialect, parts: list[Sql]) -> Sql:
    return _join(parts, "AND") if parts else (d.TRUE, [])


def _any(d: Dialect, parts: list[Sql]) -> Sql:
    return _join(parts, "OR") if parts else (d.FALSE, [])
