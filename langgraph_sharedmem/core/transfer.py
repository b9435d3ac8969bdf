"""Moving a whole memory between backends (SQLite ↔ PostgreSQL), verified by counts and hashes.

Each part owns its tables, so each part declares how they are copied (`CopyTable`: columns,
primary key, each column's `Kind`, the id counter to restore) and the CLI hands the parts'
declarations (`PartCopy`) to `copy_between`; this module imports no part.

What `copy_between` does, in order:

1. reads the source's tables, refusing before anything is written: a destination whose tables
   already hold data (rows a migration seeds, such as the grants version, do not count), a
   source whose tables lack a declared column (an older schema: open it once to upgrade it),
   and a source holding data of a part the destination does not run yet (named);
2. applies the destination's migrations of every part it runs;
3. copies every table in one snapshot read of the source and one write transaction on the
   destination, converting values by kind, and restores id counters (``setval`` on
   PostgreSQL, ``sqlite_sequence`` on SQLite) so new rows never reuse an id;
4. rebuilds derived data (`PartCopy.rebuild`) instead of copying it;
5. hashes every table again on the destination and compares: per table, the row count and a
   SHA-256 over the rows in primary-key order, values normalized by kind, so the same data
   hashes the same on both backends.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.errors import (
    InvalidConfigError,
    SchemaVersionError,
    UnsupportedBackendError,
)

__all__ = [
    "CopyReport",
    "CopyTable",
    "Kind",
    "PartCopy",
    "TableCheck",
    "copy_between",
    "table_digest",
]

# How a column's values are held on each backend, and so how they convert:
# text, integer, real, bytes — the same on both (a SQLite BLOB column holding text becomes
# its UTF-8 bytes on PostgreSQL); json_text — JSON as text in SQLite, text or jsonb in
# PostgreSQL (compared as canonical JSON: jsonb reorders keys); json_scalar — a raw SQLite
# value (int, float or text, such as a checkpoint channel's typeless version) held as jsonb
# in PostgreSQL.
Kind = Literal["text", "integer", "real", "bytes", "json_text", "json_scalar"]
_KINDS = frozenset(("text", "integer", "real", "bytes", "json_text", "json_scalar"))
_BATCH = 500


@dataclass(frozen=True)
class CopyTable:
    """How one table is copied.

    Args:
        name: The table (the same name on both backends).
        columns: ``(column, kind)`` pairs; SQLite's implicit ``rowid`` may be one (a
            PostgreSQL identity column of that name stands for it).
        key: The primary-key columns, which order the rows for the hash.
        counter: The column whose id counter is restored (AUTOINCREMENT's
            ``sqlite_sequence`` on SQLite, the identity sequence on PostgreSQL).
        seeded: The part's migration writes rows into it (a version, a horizon): the copy
            replaces them, and they do not make a destination count as holding data.
        where: Only the rows matching this SQL condition are copied and hashed (a store's
            own id stays the destination's).
        pg_counter: On PostgreSQL, the SQL reading and the SQL setting (``%s``) the id
            counter when it is not an identity sequence (a one-row counter table).
        carry: ``(name, sqlite_expr, pg_expr)``: source values that are not copied
            themselves but feed `derive` and `fill` (the text under a keyword index).
        derive: ``(dialect, row) -> {column: value}``: columns the destination keeps beside
            the copied ones, computed from each row (a ``jsonb`` copy, a token array).
        fill: ``(conn, dialect, rows)``: writes derived data held elsewhere on the
            destination for a batch of copied rows (an FTS table).
    """

    name: str
    columns: tuple[tuple[str, Kind], ...]
    key: tuple[str, ...]
    counter: str | None = None
    seeded: bool = False
    where: str | None = None
    pg_counter: tuple[str, str] | None = None
    carry: tuple[tuple[str, str, str], ...] = ()
    derive: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None
    fill: Callable[[Any, str, list[dict[str, Any]]], None] | None = None

    def __post_init__(self) -> None:
        names = [c for c, _ in self.columns]
        bad = [k for _, k in self.columns if k not in _KINDS]
        if bad or not self.key or not set(self.key) <= set(names):
            raise InvalidConfigError(f"bad copy spec for table {self.name!r}")


@dataclass(frozen=True)
class PartCopy:
    """One part's tables and what the copy needs to know about the part.

    Args:
        part: The part's name, as messages and the report show it.
        tables: Its tables, parents before the tables referencing them.
        sqlite_migrations / pg_migrations: Its migration sets per backend (a callable for
            PostgreSQL's, which import psycopg).
        runs_on_postgres: Whether the part has been ported to PostgreSQL.
        rebuild: Rebuilds the part's derived data (indexes) on the destination after the copy.
    """

    part: str
    tables: tuple[CopyTable, ...]
    sqlite_migrations: tuple[Any, ...] = ()
    pg_migrations: Callable[[], Sequence[Any]] = lambda: ()
    runs_on_postgres: bool = False
    rebuild: Callable[[Backend], None] | None = None

    def runs_on(self, dialect: str) -> bool:
        return dialect == "sqlite" or self.runs_on_postgres

    def migrations_for(self, dialect: str) -> Sequence[Any]:
        return self.sqlite_migrations if dialect == "sqlite" else self.pg_migrations()


@dataclass(frozen=True)
class TableCheck:
    """One table's verification: rows and hash on each side, and whether they agree."""

    part: str
    table: str
    source_rows: int
    source_hash: str
    dest_rows: int
    dest_hash: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.dest_rows and self.source_hash == self.dest_hash


@dataclass
class CopyReport:
    """What `copy_between` copied and what it verified (``ok``: every table agrees)."""

    source: str
    destination: str
    tables: list[TableCheck] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)


# -- values --------------------------------------------------------------------------------


def _portable(value: Any, kind: Kind, dialect: str) -> Any:
    """A value as read from ``dialect``, in the one form both sides convert from."""
    if value is None:
        return None
    if kind == "json_scalar" and dialect == "postgres":
        return json.loads(value)  # selected as ::text
    if kind == "bytes" and isinstance(value, memoryview):
        return bytes(value)
    return value


def _for_dest(value: Any, kind: Kind, dialect: str) -> Any:
    """A portable value as written to ``dialect``."""
    if value is None or dialect == "sqlite":
        return value
    if kind == "json_scalar":
        return json.dumps(value)
    if kind == "bytes" and isinstance(value, str):
        return value.encode("utf-8")
    if kind == "real" and isinstance(value, int):
        return float(value)
    return value


def _normal(value: Any, kind: Kind) -> Any:
    """A portable value as it is hashed: equal data, equal form, whichever backend held it."""
    if value is None:
        return None
    if kind == "real":
        return float(value)
    if kind == "integer":
        return int(value)
    if kind == "bytes":
        raw = value.encode("utf-8") if isinstance(value, str) else bytes(value)
        return raw.hex()
    if kind == "json_text":
        try:
            return json.dumps(
                json.loads(value), sort_keys=True, ensure_ascii=False, separators=(",", ":")
            )
        except (TypeError, ValueError):
            return value
    if kind == "json_scalar":
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return value


def _order(value: Any) -> tuple[Any, ...]:
    """A total order over key values: SQLite's (NULL, numbers, text by bytes, blobs)."""
    if value is None:
        return (0,)
    if isinstance(value, bool | int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value.encode("utf-8", "surrogatepass"))
    return (3, bytes(value))


class _Digest:
    """Rows hashed one by one, then combined in primary-key order (memory: a key and 32
    bytes per row, not the rows)."""

    def __init__(self, table: CopyTable) -> None:
        self.kinds = [k for _, k in table.columns]
        names = [c for c, _ in table.columns]
        self.key_at = [names.index(k) for k in table.key]
        self.rows: list[tuple[tuple[Any, ...], bytes]] = []

    def add(self, portable_row: Sequence[Any]) -> None:
        normal = [_normal(v, k) for v, k in zip(portable_row, self.kinds, strict=True)]
        text = json.dumps(normal, ensure_ascii=False, separators=(",", ":"))
        key = tuple(_order(portable_row[i]) for i in self.key_at)
        self.rows.append((key, hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()))

    def hexdigest(self) -> str:
        total = hashlib.sha256()
        for _, digest in sorted(self.rows):
            total.update(digest)
        return total.hexdigest()


# -- reading -------------------------------------------------------------------------------


def _tables_of(conn: Any, dialect: str) -> set[str]:
    if dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {name for (name,) in conn.execute(sql)}
    sql = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    return {name for (name,) in conn.execute(sql)}


def _columns_of(conn: Any, dialect: str, table: str) -> dict[str, str]:
    """Column name → declared type (lower case); SQLite's implicit ``rowid`` included."""
    if dialect == "sqlite":
        cols = {row[1]: str(row[2]).lower() for row in conn.execute(f"PRAGMA table_info({table})")}
        without_rowid = conn.execute(
            "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
        if without_rowid is not None and not without_rowid[0]:
            cols.setdefault("rowid", "integer")
        return cols
    rows = conn.execute(
        "SELECT column_name, udt_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s",
        (table,),
    )
    return {name: str(udt) for name, udt in rows}


def _select(table: CopyTable, dialect: str, *, carried: bool) -> str:
    cols = []
    for name, kind in table.columns:
        if dialect == "postgres" and kind in ("json_text", "json_scalar"):
            cols.append(f"{name}::text")  # jsonb as its text; a text column stays as it is
        else:
            cols.append(name)
    if carried:
        cols += [sqlite if dialect == "sqlite" else pg for _, sqlite, pg in table.carry]
    where = f" WHERE {table.where}" if table.where else ""
    return f"SELECT {', '.join(cols)} FROM {table.name}{where}"


def _rows(
    conn: Any, dialect: str, table: CopyTable, *, carried: bool = False
) -> Iterator[list[Any]]:
    """The table's rows in portable form (then the carried values, if asked), streamed."""
    kinds = [k for _, k in table.columns]
    width = len(kinds)
    sql = _select(table, dialect, carried=carried)
    if dialect == "sqlite":
        cursor = conn.execute(sql)
    else:  # a server-side cursor, so a large table is never held in memory at once
        cursor = conn.cursor(name=f"sharedmem_copy_{table.name}")
        cursor.itersize = 2000
        cursor.execute(sql)
    try:
        while batch := cursor.fetchmany(_BATCH):
            for row in batch:
                portable = [_portable(v, k, dialect) for v, k in zip(row, kinds, strict=False)]
                yield portable + list(row[width:])
    finally:
        cursor.close()


def _has_rows(conn: Any, table: CopyTable) -> bool:
    where = f" WHERE {table.where}" if table.where else ""
    return conn.execute(f"SELECT 1 FROM {table.name}{where} LIMIT 1").fetchone() is not None


def table_digest(conn: Any, dialect: str, table: CopyTable) -> tuple[int, str]:
    """``(rows, sha256)`` of one table on an open connection (its snapshot)."""
    digest = _Digest(table)
    for row in _rows(conn, dialect, table):
        digest.add(row)
    return len(digest.rows), digest.hexdigest()


def _counter(conn: Any, dialect: str, table: CopyTable) -> int:
    """The highest id handed out for ``table.counter`` (rows deleted since included)."""
    col = table.counter
    top = conn.execute(f"SELECT coalesce(max({col}), 0) FROM {table.name}").fetchone()[0]
    if dialect == "postgres" and table.pg_counter is not None:
        row = conn.execute(table.pg_counter[0]).fetchone()
        return int(max(top, row[0] if row and row[0] is not None else 0))
    if dialect == "sqlite":
        if "sqlite_sequence" in _tables_of(conn, dialect):
            seq = conn.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,)
            ).fetchone()
            if seq is not None:
                top = max(top, seq[0])
        return int(top)
    name = conn.execute("SELECT pg_get_serial_sequence(%s, %s)", (table.name, col)).fetchone()[0]
    if name is not None:
        last, called = conn.execute(f"SELECT last_value, is_called FROM {name}").fetchone()
        if called:
            top = max(top, last)
    return int(top)


# -- writing -------------------------------------------------------------------------------


_CASTS = {"jsonb": "::jsonb", "json": "::json", "_text": "::text[]"}


def _insert(conn: Any, dialect: str, table: CopyTable, extra: Sequence[str] = ()) -> str:
    names = [c for c, _ in table.columns] + list(extra)
    if dialect == "sqlite":
        marks = ", ".join("?" for _ in names)
        return f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    types = _columns_of(conn, dialect, table.name)
    marks = ", ".join(f"%s{_CASTS.get(types.get(c, ''), '')}" for c in names)
    always = conn.execute(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s AND identity_generation = 'ALWAYS'",
        (table.name,),
    ).fetchone()
    overriding = " OVERRIDING SYSTEM VALUE" if always else ""
    return f"INSERT INTO {table.name} ({', '.join(names)}){overriding} VALUES ({marks})"


def _write_rows(conn: Any, dialect: str, sql: str, rows: list[list[Any]]) -> None:
    if dialect == "sqlite":
        conn.executemany(sql, rows)
    else:
        with conn.cursor() as cur:
            cur.executemany(sql, rows)


def _restore_counter(conn: Any, dialect: str, table: CopyTable, top: int) -> None:
    if top <= 0 or table.counter is None:
        return
    if dialect == "postgres" and table.pg_counter is not None:
        conn.execute(table.pg_counter[1], (top,))
        return
    if dialect == "postgres":
        name = conn.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", (table.name, table.counter)
        ).fetchone()[0]
        if name is not None:
            conn.execute("SELECT setval(%s, %s)", (name, top))
        return
    autoincrement = conn.execute(
        "SELECT sql LIKE '%AUTOINCREMENT%' FROM sqlite_master WHERE type = 'table' AND name = ?",
        (table.name,),
    ).fetchone()
    if not (autoincrement and autoincrement[0]):
        return  # a rowid table hands out max(id) + 1: nothing to restore
    updated = conn.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (top, table.name)
    )
    if updated.rowcount == 0:
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table.name, top))


# -- the copy ------------------------------------------------------------------------------


def _unpipelined(db: Any) -> Any:
    unpipelined = getattr(db, "unpipelined", None)
    return unpipelined() if callable(unpipelined) else db


def _dialect(db: Backend) -> str:
    return str(db.dialect)


def _path(db: Any) -> str:
    return str(getattr(db, "path", repr(db)))


def _check_source(
    conn: Any, dialect: str, parts: Sequence[PartCopy], dest_dialect: str
) -> list[tuple[PartCopy, CopyTable]]:
    """The source's tables to copy; refuses unported parts holding data and tables lacking
    a declared column."""
    present = _tables_of(conn, dialect)
    todo: list[tuple[PartCopy, CopyTable]] = []
    for part in parts:
        tables = [t for t in part.tables if t.name in present]
        holding = [t.name for t in tables if not t.seeded and _has_rows(conn, t)]
        if holding and not part.runs_on(dest_dialect):
            raise UnsupportedBackendError(
                f"the source holds data of the {part.part} part (tables {', '.join(holding)}),"
                f" which does not run on PostgreSQL yet: keep this memory on SQLite. "
                "Nothing was written"
            )
        if not part.runs_on(dest_dialect):
            continue
        for table in tables:
            have = _columns_of(conn, dialect, table.name)
            missing = [c for c, _ in table.columns if c not in have]
            if missing:
                raise SchemaVersionError(
                    f"the source's table {table.name} lacks columns {missing}: it was written "
                    "by an older langgraph-sharedmem; open it once with this version (it is "
                    "upgraded on open) and copy again. Nothing was written"
                )
            todo.append((part, table))
    return todo


def _check_destination(conn: Any, dialect: str, parts: Sequence[PartCopy], where: str) -> None:
    present = _tables_of(conn, dialect)
    holding = [
        t.name
        for part in parts
        for t in part.tables
        if t.name in present and not t.seeded and _has_rows(conn, t)
    ]
    if holding:
        shown = ", ".join(sorted(set(holding))[:6]) + (", ..." if len(set(holding)) > 6 else "")
        raise InvalidConfigError(
            f"the destination {where} already holds data (tables {shown}); copy into a new "
            "file or an empty database. Nothing was written"
        )


def _unique_tables(parts: Iterable[PartCopy]) -> list[PartCopy]:
    """The parts with each table once (the first part declaring it owns it)."""
    seen: set[str] = set()
    out = []
    for part in parts:
        tables = tuple(t for t in part.tables if t.name not in seen)
        seen.update(t.name for t in tables)
        out.append(dataclasses.replace(part, tables=tables))
    return out


def _copy_table(
    src: Any, src_dialect: str, dst: Any, dst_dialect: str, table: CopyTable
) -> _Digest:
    """Copy one table's rows in batches; the digest of what was read."""
    digest = _Digest(table)
    names = [c for c, _ in table.columns] + [name for name, _, _ in table.carry]
    kinds = [k for _, k in table.columns]
    width = len(kinds)
    sql: str | None = None
    extra: list[str] = []

    def flush(batch: list[list[Any]]) -> None:
        nonlocal sql, extra
        rows = [dict(zip(names, r, strict=True)) for r in batch]
        values = [
            [_for_dest(v, k, dst_dialect) for v, k in zip(r[:width], kinds, strict=True)]
            for r in batch
        ]
        if table.derive is not None:
            derived = [table.derive(dst_dialect, row) for row in rows]
            if sql is None:
                extra = sorted(derived[0])
            values = [v + [d[c] for c in extra] for v, d in zip(values, derived, strict=True)]
        if sql is None:
            sql = _insert(dst, dst_dialect, table, extra)
        _write_rows(dst, dst_dialect, sql, values)
        if table.fill is not None:
            table.fill(dst, dst_dialect, rows)

    batch: list[list[Any]] = []
    for row in _rows(src, src_dialect, table, carried=True):
        digest.add(row[:width])
        batch.append(row)
        if len(batch) >= _BATCH:
            flush(batch)
            batch = []
    if batch:
        flush(batch)
    return digest


def copy_between(source: Backend, dest: Backend, parts: Sequence[PartCopy]) -> CopyReport:
    """Copy every part's tables from ``source`` to the empty ``dest`` and verify them.

    Raises `InvalidConfigError` before writing anything when ``dest`` holds data or the
    source holds data of a part ``dest`` cannot hold (see the module docstring). Returns
    the per-table verification; the caller decides what a mismatch means (the CLI exits 1).
    """
    parts = _unique_tables(parts)
    # Server-side cursors (streaming a large table) do not run in psycopg's pipeline mode.
    source, dest = _unpipelined(source), _unpipelined(dest)
    src_dialect, dst_dialect = _dialect(source), _dialect(dest)
    report = CopyReport(_path(source), _path(dest))
    with source.read() as src:
        todo = _check_source(src, src_dialect, parts, dst_dialect)
        with dest.read() as conn:
            _check_destination(conn, dst_dialect, parts, report.destination)
        applied: list[Any] = []
        for part in parts:
            if part.runs_on(dst_dialect):
                for m in part.migrations_for(dst_dialect):
                    if all(m is not s for s in applied):
                        dest.migrate(m)
                        applied.append(m)
        source_digests: dict[str, tuple[int, str]] = {}
        with dest.write() as dst:
            # Rows a migration seeded are replaced, after the other tables (their triggers
            # may have changed them meanwhile: the grants version).
            ordered = [x for x in todo if not x[1].seeded] + [x for x in todo if x[1].seeded]
            for _, table in ordered:
                if table.seeded:
                    where = f" WHERE {table.where}" if table.where else ""
                    dst.execute(f"DELETE FROM {table.name}{where}")
                digest = _copy_table(src, src_dialect, dst, dst_dialect, table)
                source_digests[table.name] = (len(digest.rows), digest.hexdigest())
                if table.counter is not None:
                    _restore_counter(dst, dst_dialect, table, _counter(src, src_dialect, table))
    for part in parts:
        if part.rebuild is not None and any(p is part for p, _ in todo):
            part.rebuild(dest)
    with dest.read() as dst:
        for part, table in todo:
            rows, sha = source_digests[table.name]
            dest_rows, dest_sha = table_digest(dst, dst_dialect, table)
            report.tables.append(TableCheck(part.part, table.name, rows, sha, dest_rows, dest_sha))
    return report
