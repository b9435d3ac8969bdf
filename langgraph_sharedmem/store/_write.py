"""Write operations: an item, its vectors, their FTS rows and outbox rows in one transaction.

A put happens in three steps so the write lock is held only for the writing:

1. `plan_puts` (no I/O): check and encode values, pick the texts to embed, hash them;
2. `known_vectors` (a read): the stored vectors of these items, so text whose hash is already
   stored is not embedded again; the caller embeds the rest outside any transaction;
3. `write_puts` (inside ``BEGIN IMMEDIATE``): re-read the hashes if another process may have
   written meanwhile (the newest ``seq`` moved), and write whatever differs. Every vector
   change gets the next ``seq`` in the same transaction: a written vector carries it in its
   row, a deleted one in an outbox row.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson
from langgraph.store.base import PutOp

from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.store import _schema
from langgraph_sharedmem.store._values import check_key, check_namespace, encode_value, put_where
from langgraph_sharedmem.store.embedding import IndexSpec, text_hash, texts_to_embed

VectorId = tuple[str, str, str]


@dataclass(slots=True)  # a thousand per batch put: no __dict__ each for the GC to walk
class PutPlan:
    prefix: str
    key: str
    value: str | None  # JSON text; None deletes
    ttl: float | None
    texts: list[tuple[str, str, bytes]] = field(default_factory=list)  # field, text, hash


@dataclass
class Known:
    """What `known_vectors` read before the write lock: the stored vectors of a batch's
    items as of ``seq``, or nothing (``rows is None``) when no text needed embedding."""

    seq: int = -1
    rows: list[tuple[int, str, str, str, bytes]] | None = None  # id, prefix, key, field, hash
    embeddings: dict[bytes, bytes] = field(default_factory=dict)  # by text hash


# Beyond this many minutes (1.9 million years) a ttl means "never expires" or, negative,
# "expired at once": kept finite, an expiry time and its refresh stay numbers on both backends
# (PostgreSQL refuses float overflow where SQLite stores an infinity; JSON has none).
MAX_TTL_MINUTES = 1e12


def check_ttl(ttl: Any, where: str) -> float | None:
    """Minutes to live, as a float; None for no expiry (also for infinite or beyond
    `MAX_TTL_MINUTES`), at least ``-MAX_TTL_MINUTES`` (expired at once)."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise InvalidConfigError(f"{where}: ttl must be minutes as a number or None, got {ttl!r}")
    try:
        minutes = float(ttl)
    except OverflowError:
        minutes = math.inf if ttl > 0 else -math.inf
    if math.isnan(minutes):
        raise InvalidConfigError(f"{where}: ttl must be minutes as a number or None, got NaN")
    if minutes > MAX_TTL_MINUTES:
        return None
    return max(minutes, -MAX_TTL_MINUTES)


def plan_puts(ops: list[PutOp], spec: IndexSpec | None) -> list[PutPlan]:
    """One plan per (namespace, key), the last op winning, as `InMemoryStore` does."""
    plans: dict[tuple[str, str], PutPlan] = {}
    prefixes: dict[tuple[str, ...], str] = {}  # each namespace checked once per batch
    for op in ops:
        namespace = op.namespace
        prefix = prefixes.get(namespace) if type(namespace) is tuple else None
        if prefix is None:
            prefix = check_namespace(namespace)
            if type(namespace) is tuple:
                prefixes[namespace] = prefix
        key = check_key(op.key)
        item = (prefix, key)
        if item in plans:
            del plans[item]  # keep the order of the last write
        if op.value is None:
            plans[item] = PutPlan(prefix, key, None, None)
            continue
        text = encode_value(op.value, namespace, key)
        ttl = check_ttl(op.ttl, put_where(namespace, key))
        texts = (
            [(f, t, text_hash(t)) for f, t in texts_to_embed(spec, op.value, op.index)]
            if spec is not None
            else []
        )
        plans[item] = PutPlan(prefix, key, text, ttl, texts)
    return list(plans.values())


def _pairs(plans: list[PutPlan]) -> str:
    return json.dumps([[p.prefix, p.key] for p in plans], ensure_ascii=True)


def known_vectors(conn: sqlite3.Connection, plans: list[PutPlan]) -> Known:
    """The stored vectors of these items, in one read transaction of the caller."""
    if not any(p.texts for p in plans):
        return Known()
    sql = _schema.sql_of(conn)
    seq = conn.execute(sql.CURRENT_SEQ).fetchone()[0]
    found = conn.execute(sql.SELECT_VECTORS_BY_PAIRS, (_pairs(plans),)).fetchall()
    return Known(
        seq=seq,
        rows=[(vid, p, k, f, h) for vid, p, k, f, h, _ in found],
        embeddings={row[4]: row[5] for row in found},
    )


def to_embed(plans: list[PutPlan], known: dict[bytes, bytes]) -> dict[bytes, str]:
    """Texts that have no stored embedding yet, by hash (each embedded once per batch)."""
    out: dict[bytes, str] = {}
    for plan in plans:
        for _, text, h in plan.texts:
            if h not in known:
                out.setdefault(h, text)
    return out


def write_puts(
    conn: sqlite3.Connection,
    plans: list[PutPlan],
    embeddings: dict[bytes, bytes],
    *,
    stamp: str,
    now: float,
    known: Known | None = None,
) -> bool:
    """Write the plans; ``embeddings`` maps every text hash to float32 bytes. True if any
    vector changed (the index has something to apply). ``known`` is reused instead of
    reading the vectors again when no change has committed since it was read."""
    sql = _schema.sql_of(conn)
    if sql.DIALECT == "postgres":
        _write_items_pg(conn, plans, stamp, now)
    else:
        upserts, deletes = [], []
        for p in plans:
            if p.value is None:
                deletes.append((p.prefix, p.key))
            else:
                expires = None if p.ttl is None else now + p.ttl * 60.0
                upserts.append((p.prefix, p.key, p.value, stamp, stamp, expires, p.ttl))
        changelog.item_changes(conn, [(p.prefix, p.key, p.value) for p in plans], now)
        if deletes:
            conn.executemany(_schema.DELETE_ITEM, deletes)
        if upserts:
            conn.executemany(_schema.UPSERT_ITEM, upserts)

    seq = conn.execute(sql.CURRENT_SEQ).fetchone()[0]
    # Every vector change takes a new seq, so an unchanged seq means the vectors read before
    # the lock are still the stored ones: no need to read them again under it.
    stored = (
        known.rows
        if known is not None and known.rows is not None and known.seq == seq
        else conn.execute(sql.SELECT_VECTOR_HASHES_BY_PAIRS, (_pairs(plans),)).fetchall()
    )
    current: dict[VectorId, tuple[int, bytes]] = {(p, k, f): (vid, h) for vid, p, k, f, h in stored}
    by_item: dict[tuple[str, str], list[VectorId]] = {}
    for vid in current:
        by_item.setdefault((vid[0], vid[1]), []).append(vid)
    next_id = conn.execute(sql.MAX_VECTOR_ID).fetchone()[0]
    vec_rows: list[tuple[int, str, str, str, bytes, bytes, int]] = []
    fts_deletes: list[tuple[int]] = []
    fts_inserts: list[tuple[int, str]] = []
    gone_ids: list[tuple[int]] = []
    outbox: list[tuple[int, str, str, str, str]] = []
    for p in plans:
        wanted = {f: (t, h) for f, t, h in p.texts}
        for vid in by_item.get((p.prefix, p.key), ()):
            if vid[2] not in wanted:
                gone_ids.append((current[vid][0],))
                seq += 1
                outbox.append((seq, "delete", *vid))
        for f, (text, h) in wanted.items():
            old = current.get((p.prefix, p.key, f))
            if old is not None and old[1] == h:
                continue  # same text, same vector: nothing to write or re-index
            if old is not None:
                row_id = old[0]
                fts_deletes.append((row_id,))
            else:
                next_id += 1
                row_id = next_id
            seq += 1
            vec_rows.append((row_id, p.prefix, p.key, f, h, embeddings[h], seq))
            fts_inserts.append((row_id, text.encode("utf-8", "replace").decode("utf-8")))
    if sql.DIALECT == "postgres":
        # No FTS5 table: a vector row carries its text's tokens (see `_schema_pg`).
        if gone_ids:
            conn.cursor().executemany(sql.DELETE_VECTOR, gone_ids)
        if vec_rows:
            texts = dict(fts_inserts)
            conn.cursor().executemany(
                sql.UPSERT_VECTOR, [(*r, sql.fts_tokens(texts[r[0]])) for r in vec_rows]
            )
        if outbox:
            conn.cursor().executemany(sql.INSERT_OUTBOX, outbox)
        if vec_rows or outbox:
            conn.execute(sql.BUMP_SEQ, (seq,))
        return bool(outbox or vec_rows)
    if gone_ids:
        conn.executemany(_schema.DELETE_VECTOR, gone_ids)
        conn.executemany(_schema.DELETE_FTS, gone_ids)
    if vec_rows:
        conn.executemany(_schema.UPSERT_VECTOR, vec_rows)
        conn.executemany(_schema.DELETE_FTS, fts_deletes)
        conn.executemany(_schema.INSERT_FTS, fts_inserts)
    if outbox:
        conn.executemany(_schema.INSERT_OUTBOX, outbox)
    if vec_rows and not conn.execute(_schema.BUMP_SEQ, (seq,)).rowcount:
        conn.execute(_schema.START_SEQ, (seq,))
    return bool(outbox or vec_rows)


def refresh_ttls(conn: sqlite3.Connection, items: list[tuple[str, str]], now: float) -> None:
    if items:
        # A cursor's executemany: psycopg's connections have none.
        conn.cursor().executemany(_schema.sql_of(conn).REFRESH_TTL, [(now, p, k) for p, k in items])


def sweep(conn: sqlite3.Connection, now: float, limit: int = 10_000) -> int:
    """Delete up to ``limit`` expired items with their vectors, logging the vector deletes."""
    sql = _schema.sql_of(conn)
    if sql.DIALECT == "postgres":
        # Chosen under the store's write lock, as SQLite's sweep is under its write lock:
        # two sweepers never pick the same items.
        conn.execute(sql.TAKE_WRITE_LOCK, (sql.WRITE_LOCK,))
    expired = conn.execute(sql.SELECT_EXPIRED, (now, limit)).fetchall()
    if not expired:
        return 0
    plans = [PutPlan(p, k, None, None) for p, k in expired]
    write_puts(conn, plans, {}, stamp="", now=now)
    return len(expired)


def _write_items_pg(conn: Any, plans: list[PutPlan], stamp: str, now: float) -> None:
    """PostgreSQL: take the store's write lock (seq numbers in commit order, see
    `_schema_pg`), log the changes, and write the items in one statement each way."""
    from langgraph_sharedmem.store import _schema_pg

    conn.execute(_schema_pg.TAKE_WRITE_LOCK, (_schema_pg.WRITE_LOCK,))
    changelog.item_changes(conn, [(p.prefix, p.key, p.value) for p in plans], now)
    gone = [[p.prefix, p.key] for p in plans if p.value is None]
    kept = [
        [
            p.prefix,
            p.key,
            p.value,
            _schema_pg.doc_text(p.value),
            stamp,
            None if p.ttl is None else now + p.ttl * 60.0,
            p.ttl,
        ]
        for p in plans
        if p.value is not None
    ]
    if gone:
        conn.execute(_schema_pg.DELETE_ITEMS, (orjson.dumps(gone).decode(),))
    if kept:
        conn.execute(_schema_pg.UPSERT_ITEMS, (_rows_json(kept),))


def _rows_json(rows: list[list[Any]]) -> str:
    """JSON of rows holding checked strings (orjson refuses lone surrogates; the stored JSON
    text of a value holds none, but a ttl may be -inf, which JSON spells as null)."""
    try:
        return orjson.dumps(rows).decode()
    except (orjson.JSONEncodeError, TypeError):
        return json.dumps(rows, ensure_ascii=True)
