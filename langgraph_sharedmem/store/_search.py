"""Read operations: get, search (filtered, semantic, hybrid) and list_namespaces.

All of them run inside one read transaction of the caller, so a batch sees one snapshot.

Semantic search scores every candidate exactly from the stored embeddings (cosine, the best of
an item's vectors), by default from the process's `VectorCache`. When the candidates outnumber
``ann_threshold`` and this process may query Chroma, Chroma proposes the candidates instead
and the cache rescores them exactly, together with every vector changed since Chroma's applied
``seq``, so an item is findable before it is indexed and a deleted one is never returned.

Hybrid search (the default) adds keyword evidence by `langgraph_sharedmem._ranking`: the
query's rare tokens (ids, codes, names: few texts hold them, and an embedder blurs them) are
looked up in FTS5, and each text holding them scores ``cosine + bonus``. A query of common
words gets no bonus, so its order is the exact cosine order. Results are ordered by the score
they return (``SearchItem.score``), ties by (namespace, key), so order and score never disagree
and offset pages concatenate to the unpaginated order. With ``hybrid=False`` the score is the
cosine similarity.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

import numpy as np
from langgraph.store.base import Item, ListNamespacesOp, MatchCondition, SearchItem, SearchOp

from langgraph_sharedmem import _ranking
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.store import _schema
from langgraph_sharedmem.store._filters import Sql, compile_filter
from langgraph_sharedmem.store._index import ChromaIndex
from langgraph_sharedmem.store._values import (
    check_count,
    check_namespace,
    check_text,
    decode_value,
    from_text,
    prefix_range,
    prefix_to_ns,
)
from langgraph_sharedmem.store._vectors import ItemId, VectorCache
from langgraph_sharedmem.store.embedding import IndexSpec

_COUNT = "SELECT count(*) FROM (SELECT rowid FROM mem_fts WHERE mem_fts MATCH ? LIMIT ?)"
_TOP = "\U0010ffff"


class TermCounts:
    """How many texts contain a token, remembered per process so a query does not recount.

    Each change (one ``seq``) adds or removes at most one FTS row, so a count taken at
    ``seq = s`` is off by at most ``S - s`` at ``seq = S``; a remembered count is used while
    that bound still decides rare or common, and recounted after. Counting stops at
    ``2 * MAX_DOCS + 1`` matches (~0.1 ms for a common word, where fts5vocab would read its
    whole posting list). Used under the database lock, like `VectorCache`.
    """

    MAX_WORDS = 20_000

    def __init__(self, weights: _ranking.Weights = _ranking.DEFAULT_WEIGHTS) -> None:
        self.weights = weights
        self._cap = 2 * _ranking.MAX_DOCS + 1
        self._counts: dict[str, tuple[int, int]] = {}  # token -> (count up to cap, seq)

    def rare(self, conn: sqlite3.Connection, text: str, seq: int, texts: int) -> dict[str, int]:
        """The query's rare tokens at ``seq`` (see `_ranking.rare_limit`) and their counts."""
        out = {}
        for token in _ranking.tokens(text):
            limit = _ranking.rare_limit(token, texts, self.weights)
            count = self._count(conn, token, seq, limit)
            if 0 < count <= limit:
                out[token] = count
        return out

    def _count(self, conn: sqlite3.Connection, word: str, seq: int, limit: int) -> int:
        known = self._counts.get(word)
        if known is not None and known[1] <= seq:
            count, drift = known[0], seq - known[1]
            if drift == 0 or count - drift > limit:
                return count  # exact, or common then and still common
        if isinstance(conn, sqlite3.Connection):
            # A token is one \w+ run, so quoting makes it a valid FTS5 string.
            count = conn.execute(_COUNT, (f'"{word}"', self._cap)).fetchone()[0]
        else:
            count = _schema.sql_of(conn).count_token(conn, word, self._cap)
        if len(self._counts) >= self.MAX_WORDS:
            self._counts.clear()
        self._counts[word] = (count, seq)
        return count


@dataclass
class Semantic:
    """What a semantic search needs besides the connection, for one read transaction."""

    spec: IndexSpec
    cache: VectorCache  # already caught up to ``seq``
    terms: TermCounts
    chroma: ChromaIndex | None
    seq: int  # the snapshot's newest change
    any_expired: bool  # some item in the snapshot is past its TTL


def _search_item(row: Any, score: float | None = None) -> SearchItem:
    prefix, key, value, created, updated = row[:5]
    return SearchItem(
        namespace=prefix_to_ns(prefix),
        key=key,
        value=decode_value(value),
        created_at=from_text(created),
        updated_at=from_text(updated),
        score=score,
    )


def get(conn: sqlite3.Connection, prefix: str, key: str, now: float) -> tuple[Item | None, bool]:
    """The live item and whether it has a TTL to refresh."""
    row = conn.execute(_schema.sql_of(conn).GET_ITEM, (prefix, key)).fetchone()
    if row is None or (row[3] is not None and row[3] <= now):
        return None, False
    value, created, updated, _, ttl = row
    item = Item(
        namespace=prefix_to_ns(prefix),
        key=key,
        value=decode_value(value),
        created_at=from_text(created),
        updated_at=from_text(updated),
    )
    return item, ttl is not None


def _scope(op: SearchOp, filter_sql: Sql, now: float, any_expired: bool, sql: Any = _schema) -> Sql:
    # Without an expired item the TTL test holds for every row; skipping it saves ~6% of a
    # filtered scan.
    parts = [sql.LIVE] if any_expired else []
    params: list[Any] = [now] if any_expired else []
    if op.namespace_prefix:
        exact, lo, hi = prefix_range(op.namespace_prefix)
        parts.append(sql.IN_PREFIX)
        params += [exact, lo, hi]
    parts.append(filter_sql[0])
    return " AND ".join(parts), [*params, *filter_sql[1]]


# What SQLite says when a statement outgrows its parser or limits; from a filter (nested
# keys no path can spell, each a subquery) that `compile_filter`'s own caps let through.
_TOO_COMPLEX = ("parser stack overflow", "expression tree is too large", "too many sql variables")


def check_search(op: SearchOp, dialect: str = "sqlite") -> Sql:
    """Refuse a search's odd arguments before any work (`InvalidConfigError` naming them);
    the filter's SQL for the store's backend, compiled once here for the search to use."""
    check_namespace(op.namespace_prefix)
    check_count("limit", op.limit)
    check_count("offset", op.offset)
    if op.query is not None:
        if not isinstance(op.query, str):
            raise InvalidConfigError(
                f"search query must be a string, got {type(op.query).__name__}"
            )
        check_text("search query", op.query)
    if dialect == "postgres":
        from langgraph_sharedmem.store._filters_pg import compile_filter_pg

        return compile_filter_pg(op.filter)
    return compile_filter(op.filter)


def check_list_namespaces(op: ListNamespacesOp) -> None:
    """Refuse `list_namespaces` arguments that are not counts or namespace paths."""
    check_count("limit", op.limit)
    check_count("offset", op.offset)
    check_count("max_depth", op.max_depth, allow_none=True)
    for c in op.match_conditions or ():
        if c.match_type not in ("prefix", "suffix"):
            raise InvalidConfigError(
                f"match_type must be 'prefix' or 'suffix', got {c.match_type!r}"
            )
        for label in c.path:
            if not isinstance(label, str):
                raise InvalidConfigError(
                    f"namespace {c.match_type} labels must be strings, got {label!r}"
                )
            check_text("namespace label", label)


def search(
    conn: sqlite3.Connection,
    op: SearchOp,
    filter_sql: Sql,
    now: float,
    *,
    query: np.ndarray | None,
    semantic: Semantic | None,
) -> tuple[list[SearchItem], list[ItemId]]:
    """Results and the (prefix, key) of those carrying a TTL."""
    try:
        return _search(conn, op, filter_sql, now, query, semantic)
    except sqlite3.OperationalError as exc:
        if op.filter and any(m in str(exc).lower() for m in _TOO_COMPLEX):
            raise InvalidConfigError(
                f"filter is too complex for SQLite ({exc}); nest fewer levels of keys that "
                "are not plain ASCII names"
            ) from exc
        raise


def _search(
    conn: sqlite3.Connection,
    op: SearchOp,
    filter_sql: Sql,
    now: float,
    query: np.ndarray | None,
    semantic: Semantic | None,
) -> tuple[list[SearchItem], list[ItemId]]:
    limit, offset = check_count("limit", op.limit), check_count("offset", op.offset)
    assert limit is not None and offset is not None
    sql = _schema.sql_of(conn)
    any_expired = (
        semantic.any_expired
        if semantic is not None
        else conn.execute(sql.ANY_EXPIRED, (now,)).fetchone() is not None
    )
    where, params = _scope(op, filter_sql, now, any_expired, sql)
    if query is None or semantic is None:
        rows = conn.execute(
            sql.SEARCH_ITEMS.format(where=where), [*params, limit, offset]
        ).fetchall()
        return [_search_item(r) for r in rows], _with_ttl(rows)

    need = offset + limit
    rare = (
        semantic.terms.rare(conn, op.query, semantic.seq, semantic.cache.live)
        if semantic.spec.hybrid and op.query
        else {}
    )
    ranked = _vector_ranking(conn, op, where, params, query, need, semantic)
    if rare:
        ranked = _with_keywords(conn, rare, where, params, ranked, query, semantic)
    else:
        ranked = _ranking.rank(ranked, {}, {})
    page = ranked[offset:need]
    by_item = _fetch(conn, [item for item, _ in page])
    results = [_search_item(by_item[item], score) for item, score in page if item in by_item]
    found = [by_item[item] for item, _ in page if item in by_item]
    if len(results) < limit and len(ranked) < need:
        # Items without vectors (index=False, or no text at the fields) come after every
        # scored one, as in InMemoryStore.
        skip = max(0, offset - len(ranked))
        rest = conn.execute(
            sql.SEARCH_UNVECTORED.format(where=where), [*params, limit - len(results), skip]
        ).fetchall()
        results += [_search_item(r) for r in rest]
        found += rest
    return results, _with_ttl(found)


def _with_ttl(rows: list[Any]) -> list[ItemId]:
    return [(r[0], r[1]) for r in rows if r[5] is not None]


def _vector_ranking(
    conn: sqlite3.Connection,
    op: SearchOp,
    where: str,
    params: list[Any],
    query: np.ndarray,
    need: int,
    semantic: Semantic,
) -> list[tuple[ItemId, float]]:
    cache = semantic.cache
    allowed: set[ItemId] | None = None
    rows: np.ndarray | None = None
    if op.filter or semantic.any_expired:
        allowed = {
            (p, k)
            for p, k in conn.execute(_schema.sql_of(conn).SCOPE_ITEMS.format(where=where), params)
        }
        rows = cache.rows_of(allowed)
    elif op.namespace_prefix:
        rows = cache.rows_in(*prefix_range(op.namespace_prefix))
    candidates = cache.live if rows is None else len(rows)
    chroma = semantic.chroma
    if chroma is not None and candidates > semantic.spec.ann_threshold:
        ranked = _ann(conn, op, query, need, cache, chroma, allowed)
        if ranked is not None:
            return ranked
    sims = cache.scores(query, rows)
    depth = need + 1
    while True:
        ranked = cache.best_items(rows, sims, depth)
        # Items tied with the last one of the page may lie beyond it: take them all, so the
        # tie is broken by id (`_ranking.rank`) and offset pages agree.
        if len(ranked) < depth or need == 0 or ranked[-1][1] < ranked[need - 1][1]:
            return ranked
        depth *= 2


def _ann(
    conn: sqlite3.Connection,
    op: SearchOp,
    query: np.ndarray,
    need: int,
    cache: VectorCache,
    chroma: ChromaIndex,
    allowed: set[ItemId] | None,
) -> list[tuple[ItemId, float]] | None:
    ids = chroma.query(query, min(max(4 * need + 16, 100), max(cache.n, 1)))
    if ids is None:
        return None
    applied = conn.execute(_schema.sql_of(conn).INDEX_STATE, ("chroma",)).fetchone()[0]
    n = cache.n
    fresh = np.flatnonzero((cache.seqs[:n] > applied) & cache.alive[:n])
    rows = np.union1d(np.asarray(cache.vector_rows(ids), dtype=np.int64), fresh)
    if allowed is not None:
        rows = rows[[cache.item_of_row[r] in allowed for r in rows.tolist()]]
    elif op.namespace_prefix:
        exact, lo, hi = prefix_range(op.namespace_prefix)
        keep = [(p := cache.item_of_row[r][0]) == exact or lo <= p < hi for r in rows.tolist()]
        rows = rows[keep]
    ranked = cache.best_items(rows, cache.scores(query, rows), need)
    # Too few survived the scope: let the exact scan answer rather than return a short page.
    return ranked if len(ranked) >= need else None


def _with_keywords(
    conn: sqlite3.Connection,
    rare: dict[str, int],
    where: str,
    params: list[Any],
    ranked: list[tuple[ItemId, float]],
    query: np.ndarray,
    semantic: Semantic,
) -> list[tuple[ItemId, float]]:
    # Only rare tokens go to FTS5: the embedding already covers common words, and reading
    # the thousands of rows a common word matches costs more than the whole vector search.
    matches: dict[str, list[ItemId]] = {}
    for token in rare:
        if not isinstance(conn, sqlite3.Connection):
            matches[token] = _schema.sql_of(conn).token_items(conn, token, where, params)
            continue
        matches[token] = [
            (p, k)
            for p, k in conn.execute(
                "SELECT DISTINCT v.prefix, v.key FROM mem_fts"
                " JOIN mem_vectors AS v ON v.id = mem_fts.rowid"
                " JOIN mem_items AS i ON i.prefix = v.prefix AND i.key = v.key"
                f" WHERE mem_fts MATCH ? AND {where}",
                [f'"{token}"', *params],
            )
        ]
    cache = semantic.cache
    bonus = _ranking.bonuses(matches, rare, cache.live, semantic.terms.weights)
    known = dict(ranked)
    cosine_of = {}
    for item in bonus:
        if item not in known:
            score = cache.item_score(query, item)
            if score is not None:
                cosine_of[item] = score
    return _ranking.rank(ranked, bonus, cosine_of)


def _fetch(conn: sqlite3.Connection, items: list[ItemId]) -> dict[ItemId, Any]:
    if not items:
        return {}
    rows = conn.execute(
        _schema.sql_of(conn).SELECT_ITEMS_BY_PAIRS, (json.dumps(items, ensure_ascii=True),)
    ).fetchall()
    return {(r[0], r[1]): r for r in rows}


# -- list_namespaces -----------------------------------------------------------------------


def _matches(condition: MatchCondition, ns: tuple[str, ...]) -> bool:
    path = tuple(condition.path)
    if len(ns) < len(path):
        return False
    if condition.match_type == "prefix":
        pairs = zip(ns, path, strict=False)
    elif condition.match_type == "suffix":
        pairs = zip(reversed(ns), reversed(path), strict=False)
    else:
        raise ValueError(f"Unsupported match type: {condition.match_type}")
    return all(p == "*" or label == p for label, p in pairs)


def list_namespaces(
    conn: sqlite3.Connection, op: ListNamespacesOp, now: float
) -> list[tuple[str, ...]]:
    conditions = tuple(op.match_conditions or ())
    lo, hi = "", _TOP
    for c in conditions:
        if c.match_type == "prefix":
            literal: list[str] = []
            for label in c.path:
                if label == "*":
                    break
                literal.append(label)
            if literal:
                exact = ".".join(literal)
                lo, hi = exact, exact + "/"
            break
    sql = _schema.sql_of(conn)
    prefixes = [p for (p,) in conn.execute(sql.SELECT_PREFIXES, {"lo": lo, "hi": hi})]
    if conn.execute(sql.ANY_EXPIRED, (now,)).fetchone():
        prefixes = [
            p for p in prefixes if conn.execute(sql.PREFIX_HAS_LIVE_ITEM, (p, now)).fetchone()
        ]
    namespaces = [prefix_to_ns(p) for p in prefixes]
    namespaces = [ns for ns in namespaces if all(_matches(c, ns) for c in conditions)]
    if op.max_depth is not None:
        namespaces = sorted({ns[: op.max_depth] for ns in namespaces})
    else:
        namespaces = sorted(namespaces)
    offset, limit = check_count("offset", op.offset), check_count("limit", op.limit)
    assert offset is not None and limit is not None
    return namespaces[offset : offset + limit]
