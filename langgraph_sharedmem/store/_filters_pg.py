"""Compile a search filter to a PostgreSQL condition on ``mem_items.doc`` (jsonb).

The PostgreSQL dialect of `_filters` (read its docstring for the filter language): that
module's one walker validates the filter and raises its errors (the key rule of `SqliteStore`,
depth and size limits, NUL and lone surrogates refused) for both backends; this one spells its
tests in jsonb, with the same answers -- the differential tests run both against
`InMemoryStore`. Nothing from the filter enters SQL text: a node is ``doc -> %s -> %s ...``
with its path's parts as parameters, values are parameters.

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

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.store._filters import Dialect, Sql, compile_filter

__all__ = ["compile_filter_pg"]


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


class _Postgres(Dialect):
    """jsonb operators on a jsonb column; every term is coalesced to true or false except
    where NULL already reads as false."""

    TRUE = "true"
    FALSE = "false"

    def root(self, column: str, path: tuple[str | int, ...]) -> _Node:
        return _Node(column, path)

    def negate(self, part: Sql) -> Sql:
        # Terms are true, false or NULL; NOT of an unknown must hold, as on SQLite.
        return f"(({part[0]}) IS NOT TRUE)", part[1]

    def is_object(self, node: _Node) -> list[Sql]:
        type_sql, type_params = node.type()
        return [(f"coalesce({type_sql} = 'object', false)", type_params)]

    def _size(self, node: _Node, kind: str, size: int) -> list[Sql]:
        count_sql, count_params = node.length(kind)
        return [(f"coalesce({count_sql} = %s, false)", [*count_params, size])]

    def object_size(self, node: _Node, size: int) -> list[Sql]:
        return self._size(node, "object", size)

    def array_size(self, node: _Node, size: int) -> list[Sql]:
        return self._size(node, "array", size)

    def has_key(self, child: _Node) -> Sql:
        j, p = child.json()
        return f"({j} IS NOT NULL)", p

    def eq_none(self, node: _Node) -> Sql:
        return node.is_none()

    def eq_text(self, node: _Node, text: str) -> Sql:
        # jsonb equality of two strings is byte equality: the typed comparison, one lookup.
        j, params = node.json()
        return f"coalesce({j} = %s::jsonb, false)", [*params, json.dumps(text)]

    def eq_number(self, node: _Node, number: int | float) -> Sql:
        if isinstance(number, float) and not math.isfinite(number):
            return "false", []
        sql, params = node.num()
        return f"coalesce({sql} = %s::numeric, false)", [*params, _numeric_text(number)]

    def one_of(
        self, node: _Node, has_null: bool, texts: list[str], numbers: list[int | float]
    ) -> list[Sql]:
        parts: list[Sql] = []
        if has_null:
            parts.append(node.is_none())
        if texts:
            sql, params = node.text()
            parts.append((f"coalesce({sql} = ANY(%s::text[]), false)", [*params, texts]))
        if numbers:
            sql, params = node.num()
            members = [_numeric_text(n) for n in numbers]
            parts.append((f"coalesce({sql} = ANY(%s::numeric[]), false)", [*params, members]))
        return parts

    def order_number(self, node: _Node, sign: str, number: int | float) -> Sql:
        sql, params = node.num()
        return f"coalesce({sql} {sign} %s::numeric, false)", [*params, _numeric_text(number)]

    def order_text(self, node: _Node, sign: str, text: str) -> Sql:
        sql, params = node.text()
        return f"coalesce({sql} {sign} %s, false)", [*params, text]

    def contains(self, node: _Node, arg: str | int | float | None) -> Sql:
        j, p = node.json()
        e = _Node("e.value", ())
        if arg is None:
            ej, ep = e.json()
            element, element_params = f"jsonb_typeof({ej}) = 'null'", ep
        elif isinstance(arg, str):
            element, element_params = self.eq_text(e, arg)
        else:
            element, element_params = self.eq_number(e, arg)
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


POSTGRES: Dialect = _Postgres()


def compile_filter_pg(filter: Mapping[str, Any] | None, column: str = "i.doc") -> Sql:
    """``(sql, params)`` true for rows whose jsonb ``column`` matches ``filter``."""
    return compile_filter(filter, column, POSTGRES)
