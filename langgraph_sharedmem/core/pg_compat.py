"""Run a part written for SQLite on PostgreSQL with SQLite's write semantics.

Some parts (the facts ledger) hold dozens of statements, many built at run time, written in
the small SQLite dialect this package uses. Rather than fork their logic, `SerializedDatabase`
gives them what they assume from SQLite, on a `PostgresDatabase`:

* **Serialized writers.** Every ``write()`` first takes the part's transaction-level advisory
  lock, as ``BEGIN IMMEDIATE`` takes SQLite's write lock: a read-check-write (a
  compare-and-set, a policy decision) sees every earlier writer's commit (READ COMMITTED
  reads the newest committed rows once the lock is held) and no other writer of the part runs
  until it commits. Readers never wait. Other parts are not held up.
* **Or writers of one key at a time** (`SerializedDatabase.write_keyed`): a write that
  changes one key's rows (one fact) holds the part's lock shared and locks its key
  (`CompatConnection.lock_key`) before reading what it changes: the same read-check-write
  guarantee for that key, while writers of other keys run in parallel; a ``write()`` still
  waits for all of them. These transactions run in pipeline mode.
* **Statements translated, mechanically and visibly** (`translate`): ``?`` → ``%s``,
  ``:name`` → ``%(name)s``, ``%`` → ``%%``, ``INSERT OR IGNORE`` → ``ON CONFLICT DO NOTHING``,
  ``WHERE 1``/``AND 0`` → ``TRUE``/``FALSE``, ``json_each``/``json_extract`` of a JSON
  array or a ``'$.key'`` path → their ``jsonb`` equivalents, and ``RETURNING id`` added to inserts
  into tables with an id (read back as ``cursor.lastrowid``). Whatever needs more (an
  index-friendly id list, scalar ``max``) is written by hand in the part's ``_schema_pg``
  module, whose ``OVERRIDES`` map the SQLite text to the PostgreSQL text.

The part's logic stays one; its PostgreSQL schema (DDL) and hand-written statements live in
its ``_schema_pg`` module.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from langgraph_sharedmem.core.postgres import Unpipelined, advisory_key

__all__ = ["CompatConnection", "SerializedDatabase", "translate"]

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_INSERT_INTO = re.compile(r"^\s*INSERT\s+(?:OR\s+IGNORE\s+)?INTO\s+(\w+)", re.IGNORECASE)
_OR_IGNORE = re.compile(r"INSERT\s+OR\s+IGNORE\s+INTO", re.IGNORECASE)
_CONSTANT = re.compile(r"\b(WHERE|AND) ([01])\b(?![\d.])")
# ``x IN (SELECT value FROM json_each(?))``: compared as JSON, so numbers and text both match.
_IN_JSON = re.compile(r"([\w.]+) IN \(SELECT value FROM json_each\(\?\)\)")
_JSON_EACH_PARAM = re.compile(r"SELECT value FROM json_each\(\?\)")
_JSON_EACH_PATH = re.compile(r"json_each\((\w+), '\$\.(\w+)'\)")
_JSON_EXTRACT = re.compile(r"json_extract\((\w+), '\$\.(\w+)'\)")


def _generic(sql: str) -> str:
    pg = _IN_JSON.sub(r"to_jsonb(\1) IN (SELECT jsonb_array_elements(?::jsonb))", sql)
    pg = _JSON_EACH_PARAM.sub("SELECT jsonb_array_elements_text(?::jsonb)", pg)
    pg = _JSON_EACH_PATH.sub(r"jsonb_array_elements_text(\1::jsonb -> '\2') AS je(value)", pg)
    pg = _JSON_EXTRACT.sub(r"(\1::jsonb ->> '\2')", pg)
    pg = pg.replace("%", "%%").replace("?", "%s")
    pg = _NAMED.sub(r"%(\1)s", pg)
    pg = _CONSTANT.sub(lambda m: f"{m.group(1)} {'TRUE' if m.group(2) == '1' else 'FALSE'}", pg)
    if _OR_IGNORE.search(pg):
        pg = _OR_IGNORE.sub("INSERT INTO", pg).rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
    return pg


def translate(
    sql: str, id_tables: frozenset[str] = frozenset(), overrides: Mapping[str, str] | None = None
) -> tuple[str, bool]:
    """The PostgreSQL text of a SQLite statement, and whether it returns the new row's id.

    ``overrides`` (SQLite text → PostgreSQL text, already in PostgreSQL's placeholders) win,
    for a whole statement or for a fragment of a statement built around it; ``id_tables``
    are the tables whose inserts return ``id``.
    """
    fragments: list[str] = []
    if overrides and sql in overrides:
        pg = overrides[sql]
    else:
        for sqlite_text, pg_text in (overrides or {}).items():
            if sqlite_text in sql:  # kept out of the generic rules, put back after them
                sql = sql.replace(sqlite_text, f"\x00{len(fragments)}\x00")
                fragments.append(pg_text)
        pg = _generic(sql)
        for i, pg_text in enumerate(fragments):
            pg = pg.replace(f"\x00{i}\x00", pg_text)
    match = _INSERT_INTO.match(pg)
    returns_id = bool(match and match.group(1) in id_tables)
    # An override may return a key not named ``id`` (``RETURNING seq``): read back the same.
    if returns_id and "RETURNING" not in pg.upper():
        pg = pg.rstrip().rstrip(";") + " RETURNING id"
    return pg, returns_id


class CompatCursor:
    """A psycopg cursor that also answers ``lastrowid`` for a translated insert."""

    def __init__(self, cursor: Any, returns_id: bool) -> None:
        self._cursor = cursor
        self.lastrowid: int | None = None
        if returns_id:
            row = cursor.fetchone()
            self.lastrowid = None if row is None else int(row[0])

    @property
    def rowcount(self) -> int:
        conn = self._cursor.connection
        if conn.pgconn.pipeline_status:  # in pipeline mode the count comes with the result
            with conn.pipeline() as pipeline:
                pipeline.sync()
        return int(self._cursor.rowcount)

    @property
    def description(self) -> Any:
        return self._cursor.description

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class CompatConnection:
    """A psycopg connection taking the part's SQLite statements (see `translate`).

    ``raw`` is the psycopg connection itself, for code written for PostgreSQL (the change
    log's `record` uses it). ``keyed``: the transaction holds its part's lock shared only
    (`SerializedDatabase.write_keyed`) and must lock the keys it writes (`lock_key`).
    """

    def __init__(
        self,
        raw: Any,
        id_tables: frozenset[str],
        overrides: Mapping[str, str],
        keyed: bool = False,
    ) -> None:
        self.raw = raw
        self.keyed = keyed
        frozen = overrides if isinstance(overrides, _Frozen) else _Frozen(overrides)
        self._translate = functools.partial(
            _cached_translate, id_tables=id_tables, overrides=frozen
        )

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> CompatCursor:
        pg, returns_id = self._translate(sql)
        # Always with params, so the escaped "%%" is read back as "%".
        return CompatCursor(self.raw.execute(pg, params), returns_id)

    def lock_key(self, *parts: str) -> None:
        """In a `SerializedDatabase.write_keyed` transaction, wait for and hold the lock of
        the key ``parts`` (say a fact's scope, subject and attribute) until commit: writers
        of one key run one at a time, writers of different keys in parallel. A no-op in a
        ``write()``, which already holds the whole part."""
        if self.keyed:
            self.raw.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(*parts),))

    def executemany(self, sql: str, rows: Sequence[Any]) -> CompatCursor:
        pg, returns_id = self._translate(sql)
        if returns_id:
            pg = re.sub(r"\s+RETURNING\s+\w+\s*$", "", pg, flags=re.IGNORECASE)
        cursor = self.raw.cursor()
        cursor.executemany(pg, rows)
        return CompatCursor(cursor, False)


class _Frozen(dict[str, str]):
    """A mapping that can key `functools.lru_cache` (by identity: each part has one)."""

    def __hash__(self) -> int:  # type: ignore[override]
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


@functools.lru_cache(maxsize=2048)
def _cached_translate(
    sql: str, *, id_tables: frozenset[str], overrides: _Frozen
) -> tuple[str, bool]:
    return translate(sql, id_tables, overrides)


class SerializedDatabase(Unpipelined):
    """A `PostgresDatabase` seen by one part as SQLite sees it (see the module docstring);
    unless ``pipeline``, its transactions run outside pipeline mode, so every statement
    waits for its result, as on SQLite.

    Args:
        db: The shared PostgreSQL backend (closing this view closes it: a part closes it
            only if it opened it).
        lock_key: The part's advisory lock, taken by every ``write()`` (None: writes are
            single atomic statements and need none).
        id_tables: Tables whose inserts report ``lastrowid``.
        overrides: Hand-written PostgreSQL statements by their SQLite text.
        pipeline: Run ``read()`` and ``write()`` in pipeline mode too (``write_keyed``
            always does): for logic that reads results only where it needs them
            (``rowcount`` then costs a round trip of its own).
    """

    def __init__(
        self,
        db: Any,
        lock_key: int | None,
        id_tables: frozenset[str],
        overrides: Mapping[str, str],
        *,
        pipeline: bool = False,
    ) -> None:
        super().__init__(db)
        self.lock_key = lock_key
        self._pipeline = pipeline
        self._id_tables = id_tables
        self._overrides = _Frozen(overrides)

    def wrap(self, conn: Any, keyed: bool = False) -> CompatConnection:
        """``conn`` (psycopg's, or another part's `CompatConnection` in its transaction)
        taking this part's statements: a part reading inside another's transaction (the
        change feed resolving an agent's rights) translates with its own overrides."""
        raw = getattr(conn, "raw", conn)
        return CompatConnection(raw, self._id_tables, self._overrides, keyed)

    @contextmanager
    def read(self) -> Iterator[CompatConnection]:  # type: ignore[override]
        with self.inner.read(pipeline=self._pipeline) as conn:
            yield self.wrap(conn)

    @contextmanager
    def write(self) -> Iterator[CompatConnection]:  # type: ignore[override]
        with self.inner.write(pipeline=self._pipeline) as conn:
            if self.lock_key is not None:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
            yield self.wrap(conn)

    @contextmanager
    def write_keyed(self) -> Iterator[CompatConnection]:
        """A write of one key's rows (one fact), for logic that locks that key
        (`CompatConnection.lock_key`) before it reads what it will change.

        It holds the part's lock *shared*, so keyed writers of different keys run in
        parallel while a ``write()`` (which holds it exclusively: several keys, the part's
        own tables) still runs alone; and it runs in pipeline mode: a statement whose
        result the logic does not read costs no round trip of its own (reading ``rowcount``
        costs one). Nested in an open transaction it is a ``write()``: the outer block chose.
        """
        if getattr(self.inner._local, "conn", None) is not None:
            with self.write() as conn:
                yield conn
            return
        with self.inner.write(pipeline=True) as conn:
            if self.lock_key is not None:
                conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (self.lock_key,))
            yield self.wrap(conn, keyed=True)
