"""`SharedMemoryStore`: LangGraph's `BaseStore` on one SQLite file or PostgreSQL, with a Chroma
index.

A drop-in for `InMemoryStore`, `SqliteStore` and `PostgresStore`, sync and async::

    from langgraph_sharedmem import SharedMemoryStore

    with SharedMemoryStore.from_conn_string("agents.db", index={"dims": 256}) as store:
        graph = builder.compile(store=store)

Without ``embed`` the index uses the offline WordLlama model; nothing touches the network.
SQLite holds the items, their embeddings and a change log (outbox); Chroma is an index derived
from them, applied when writes pause and replayed on open (see `_index`). On PostgreSQL
(a ``postgresql://`` URL) the same logic runs with the SQL of `_schema_pg` and `_filters_pg`
(docs/scaling.md). How the parts fit: ``docs/store.md``.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
    TTLConfig,
    _validate_namespace_labels,
    validate_op_namespace,
)

from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.core.part import DatabasePart
from langgraph_sharedmem.core.sqlite import Database, Synchronous
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.store import _schema, _search, _write
from langgraph_sharedmem.store._index import ChromaIndex, IndexReport
from langgraph_sharedmem.store._values import (
    check_key,
    check_namespace,
    now,
    to_text,
)
from langgraph_sharedmem.store._values import (
    ns_to_prefix as ns_to_prefix,  # agent views address items by it
)
from langgraph_sharedmem.store._vectors import VectorCache
from langgraph_sharedmem.store.embedding import (
    IndexSpec,
    WordLlamaEmbeddings,
    aembed_texts,
    embed_texts,
    embedded_ahead,
    embedding_ahead,
    index_spec,
    texts_to_embed,
)

__all__ = ["IndexReport", "SharedMemoryStore", "WordLlamaEmbeddings"]

logger = logging.getLogger("langgraph_sharedmem.store")

_TTL_KEYS = frozenset({"refresh_on_read", "default_ttl", "sweep_interval_minutes", "omit_expired"})


def _sweep_interval(minutes: Any) -> float:
    """A sweep interval: a positive, finite number of minutes (NaN made the sweeper spin)."""
    if isinstance(minutes, bool) or not isinstance(minutes, (int, float)):
        raise InvalidConfigError(f"sweep_interval_minutes must be a number, got {minutes!r}")
    try:
        value = float(minutes)
    except OverflowError:
        value = math.inf
    if not 0 < value < math.inf:
        raise InvalidConfigError(
            f"sweep_interval_minutes must be positive and finite, got {minutes!r}"
        )
    return value


def _seen(namespace: Any, checked: set[tuple[str, ...]]) -> bool:
    """Whether a put's namespace was already checked in this batch (an unchecked one may
    not even be hashable: ``("a", ["b"])``)."""
    try:
        return type(namespace) is tuple and namespace in checked
    except TypeError:
        return False


@dataclass
class _Work:
    """One batch between its steps: what to read, what to write, what to embed."""

    ops: list[Op]
    puts: list[_write.PutPlan] = field(default_factory=list)
    queries: dict[str, np.ndarray | None] = field(default_factory=dict)
    filters: dict[int, _search.Sql] = field(default_factory=dict)  # op index -> its SQL
    known: _write.Known = field(default_factory=_write.Known)
    missing: dict[bytes, str] = field(default_factory=dict)


class SharedMemoryStore(DatabasePart, BaseStore):
    """LangGraph store on a SQLite file that many agent processes share, or on PostgreSQL
    that processes on many hosts share.

    Args:
        conn: A file path, ``sqlite:///`` URL, ``":memory:"``, a ``postgresql://`` URL, or
            an open backend (shared with the other parts of a `SharedMemory`; then it is
            not closed here).
        index: LangGraph's `IndexConfig` (``dims``, ``embed``, ``fields``) to enable semantic
            search; ``embed`` may be omitted for the offline WordLlama embedder. Extra keys:
            ``hybrid`` (default True: the query's rare ids, codes and names add a bonus to
            the cosine, see `langgraph_sharedmem._ranking`) and ``ann_threshold``
            (candidates above which Chroma proposes them instead of an exact scan; 200k).
        ttl: LangGraph's `TTLConfig`. Expired items are never returned, even before a sweep.
        chroma: ``"embedded"`` (default: a persistent directory ``<db path>.chroma``; on
            PostgreSQL, none: exact search), a directory path, a ``chromadb`` client such as
            ``chromadb.HttpClient(...)`` (what several hosts share), or ``None`` for no
            Chroma (exact search only).
        busy_timeout: Seconds to wait for another process's write lock.
        synchronous: SQLite ``synchronous`` pragma.
        pool_size: PostgreSQL only: connections in the pool (and async worker threads).

    Example:
        >>> with SharedMemoryStore.from_conn_string(":memory:") as store:
        ...     store.put(("users", "u1"), "likes", {"food": "pizza"})
        ...     store.get(("users", "u1"), "likes").value
        {'food': 'pizza'}
    """

    supports_ttl = True

    migrations = _schema.MIGRATIONS
    copy_tables = _schema.COPY_TABLES
    requires = (changelog.MIGRATIONS,)
    pg_schemas = ("langgraph_sharedmem.core.changelog_pg", "langgraph_sharedmem.store._schema_pg")
    db: Any  # SQLite's `Database` or a `PostgresDatabase`

    def __init__(
        self,
        conn: str | os.PathLike[str] | Database | Backend,
        *,
        index: IndexConfig | None = None,
        ttl: TTLConfig | None = None,
        chroma: Any = "embedded",
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "NORMAL",
        pool_size: int = 8,
    ) -> None:
        if ttl is not None:
            unknown = set(ttl) - _TTL_KEYS
            if unknown:
                raise InvalidConfigError(f"unknown ttl config keys {sorted(unknown)}")
            _write.check_ttl(ttl.get("default_ttl"), "ttl config default_ttl")
            if ttl.get("sweep_interval_minutes") is not None:
                _sweep_interval(ttl["sweep_interval_minutes"])
        self._spec: IndexSpec | None = index_spec(index)
        self.index_config = index
        # LangGraph's stores expose their embedder (None without an index) as ``embeddings``.
        self.embeddings = self._spec.embeddings if self._spec else None
        self.ttl_config = ttl
        self._open_database(
            conn, busy_timeout=busy_timeout, synchronous=synchronous, pool_size=pool_size
        )
        # The SQL of this backend's dialect; the logic is the same on both.
        self._sql = _schema.for_dialect(self.db.dialect)
        self._chroma_option = chroma
        self._cache = VectorCache(self._spec.dims) if self._spec else None
        self._terms = _search.TermCounts()
        self._index: ChromaIndex | None = None
        self._sweeper: threading.Thread | None = None
        self._sweeper_stop = threading.Event()
        self._sweeper_done: concurrent.futures.Future[None] | None = None

    @classmethod
    def from_conn_string(
        cls, conn_string: str | os.PathLike[str], **kwargs: Any
    ) -> SharedMemoryStore:
        """Open a store on a path, ``sqlite:///`` or ``postgresql://`` URL, or libpq connection
        string (``"host=... dbname=..."``); a sync and async context manager."""
        return cls(conn_string, **kwargs)

    from_path = from_conn_string

    # -- lifecycle -------------------------------------------------------------------------

    def setup(self) -> None:
        """Create or upgrade the tables and replay the index outbox. Idempotent."""
        if self.is_setup:
            return
        super().setup()
        interval = (self.ttl_config or {}).get("sweep_interval_minutes")
        if interval:
            self.start_ttl_sweeper(interval)

    def _set_up(self) -> None:
        """Check the index's dimensions against the file and start the index."""
        with self.db.write() as conn:
            store_id = conn.execute(self._sql.GET_META, ("store_id",)).fetchone()[0]
            if self._spec is not None:
                row = conn.execute(self._sql.GET_META, ("dims",)).fetchone()
                if row is None:
                    conn.execute(self._sql.SET_META, ("dims", str(self._spec.dims)))
                elif int(row[0]) != self._spec.dims:
                    raise InvalidConfigError(
                        f"database {self.db.path!r} holds {row[0]}-dimension embeddings; "
                        f"the index config says dims={self._spec.dims}"
                    )
        self._index = self._make_index(store_id)
        if self._index is not None:
            self._index.start()

    def _make_index(self, store_id: str) -> ChromaIndex | None:
        option = self._chroma_option
        if self._spec is None or option is None:
            return None
        if isinstance(option, (str, os.PathLike)):
            if option == "embedded":
                if self.db.is_memory or self.db.dialect == "postgres":
                    # Nothing to persist beside (a server is no directory): exact search.
                    return None
                path = f"{self.db.path}.chroma"
            else:
                path = os.fspath(option)
            return ChromaIndex(
                self.db, store_id=store_id, dims=self._spec.dims, client=None, path=path
            )
        if not hasattr(option, "get_or_create_collection"):
            raise InvalidConfigError(
                f"chroma must be 'embedded', a directory, a chromadb client or None; got {option!r}"
            )
        return ChromaIndex(
            self.db, store_id=store_id, dims=self._spec.dims, client=option, path=None
        )

    async def asetup(self) -> None:
        """Async `setup`."""
        await self.db.run(self.setup)

    def _release(self) -> None:
        """Stop background work and release the index lease (`close` then closes the
        database if this store opened it)."""
        self.stop_ttl_sweeper()
        if self._index is not None:
            self._index.close()
            self._index = None

    # -- the batch core --------------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        """Run ``ops``; reads see the state before this batch's puts, as in `InMemoryStore`."""
        ops = list(ops)
        index = self._index
        if index is None or not any(isinstance(op, PutOp) for op in ops):
            return self._execute(*self._prepare(ops))
        with index.writing():  # the applier keeps off the cores meanwhile
            return self._execute(*self._prepare(ops))

    def prepare(self, ops: Iterable[Op]) -> Callable[[], list[Result]]:
        """`batch` in two halves: check ``ops`` and embed their new texts now; the returned
        call does the rest. Called inside a `Database.write` block, it joins that
        transaction, so a caller can write items atomically with its own rows without
        holding the write lock while the embedder runs (a remote one makes network calls).
        What commits meanwhile is re-read when the call runs."""
        return functools.partial(self._execute, *self._prepare(ops))

    @property
    def index_spec(self) -> IndexSpec | None:
        """The index config as parsed (dims, fields, the embedder); None without an index.
        Other parts that embed (facts, registry) use the same embedder through it."""
        return self._spec

    def embedding_ahead(
        self, values: Iterable[tuple[Mapping[str, Any], Any]] = (), queries: Iterable[str] = ()
    ) -> AbstractAsyncContextManager[None]:
        """For async twins of parts that put or search through this store on the database's
        worker: embeds now, with the embedder's async methods, the texts of ``values``
        (``(value, index)`` pairs as a put would index them) and the ``queries``, so the sync
        code run inside the block makes no call to the embedder. A no-op for the offline one.
        """
        spec = self._spec
        if spec is None or isinstance(spec.embeddings, WordLlamaEmbeddings):
            return embedding_ahead(None)
        texts = [text for value, index in values for _, text in texts_to_embed(spec, value, index)]
        return embedding_ahead(spec.embeddings, texts, queries=queries)

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        """One item, or None: `BaseStore.get` without the batch machinery (the hot path of
        agent views and of nodes reading memories; ~30% less time than one `GetOp`)."""
        _validate_namespace_labels(namespace)
        prefix = check_namespace(namespace)
        if refresh_ttl is None:
            refresh_ttl = (self.ttl_config or {}).get("refresh_on_read", True)
        return self.get_at(prefix, check_key(str(key)), refresh_ttl)

    def get_at(
        self, prefix: str, key: str, refresh_ttl: bool, moment: float | None = None
    ) -> Item | None:
        """`get` of a namespace already checked and joined (``_values.ns_to_prefix``), as of
        ``moment`` (epoch seconds, default now). For callers that validated once, like views."""
        if not self.is_setup:
            self.setup()
        if moment is None:
            moment = time.time()
        with self.db.read() as conn:
            item, has_ttl = _search.get(conn, prefix, key, moment)
        if item is not None and has_ttl and refresh_ttl:
            with self.db.write() as conn:
                _write.refresh_ttls(conn, [(prefix, key)], moment)
        return item

    def get_first_at(
        self, prefixes: list[str], key: str, refresh_ttl: bool, moment: float | None = None
    ) -> tuple[int, Item] | None:
        """The first of ``prefixes`` (checked, joined) holding ``key``: its index and the
        item, read in one snapshot; None if none does."""
        if not self.is_setup:
            self.setup()
        if moment is None:
            moment = time.time()
        found: tuple[int, Item] | None = None
        with self.db.read() as conn:
            for i, prefix in enumerate(prefixes):
                item, has_ttl = _search.get(conn, prefix, key, moment)
                if item is not None:
                    found = (i, item)
                    break
        if found is not None and has_ttl and refresh_ttl:
            with self.db.write() as conn:
                _write.refresh_ttls(conn, [(prefixes[found[0]], key)], moment)
        return found

    def _prepare(self, ops: Iterable[Op]) -> tuple[_Work, np.ndarray | None]:
        """Everything of a batch before its transactions: checks, and the embedding of new
        texts and of queries (so no lock is held while the embedder runs)."""
        work = self._plan(ops)
        self.setup()
        if work.puts:
            with self.db.read() as conn:
                work.known = _write.known_vectors(conn, work.puts)
            work.missing = _write.to_embed(work.puts, work.known.embeddings)
        spec = self._spec
        fresh = (
            embed_texts(spec.embeddings, list(work.missing.values()), spec.dims)
            if spec and work.missing
            else None
        )
        for text in work.queries:
            assert spec is not None
            if isinstance(spec.embeddings, WordLlamaEmbeddings):
                raw: Any = spec.embeddings.embed_one(text)
            elif (ahead := embedded_ahead(spec.embeddings, [text], query=True)) is not None:
                raw = ahead[0]  # an async caller awaited the embedder already
            else:
                raw = spec.embeddings.embed_query(text)
            work.queries[text] = self._query_vector(raw)
        return work, fresh

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        """Async `batch`: SQLite on the database worker thread, async embedders awaited."""
        work = self._plan(ops)
        await self.asetup()
        if work.puts and self._index is not None:
            with self._index.writing():
                return await self._abatch(work)
        return await self._abatch(work)

    async def _abatch(self, work: _Work) -> list[Result]:
        if work.puts:
            work.known = await self.db.run(self._known, work.puts)
            work.missing = _write.to_embed(work.puts, work.known.embeddings)
        spec = self._spec
        fresh = None
        if spec and work.missing:
            if isinstance(spec.embeddings, WordLlamaEmbeddings):  # CPU-bound: off the loop
                fresh = await self.db.run(
                    embed_texts, spec.embeddings, list(work.missing.values()), spec.dims
                )
            else:
                fresh = await aembed_texts(spec.embeddings, list(work.missing.values()), spec.dims)
        for text in work.queries:
            assert spec is not None
            raw: Any
            if isinstance(spec.embeddings, WordLlamaEmbeddings):
                raw = await self.db.run(spec.embeddings.embed_one, text)
            else:
                raw = await spec.embeddings.aembed_query(text)
            work.queries[text] = self._query_vector(raw)
        return await self.db.run(self._execute, work, fresh)

    def _known(self, puts: list[_write.PutPlan]) -> _write.Known:
        with self.db.read() as conn:
            return _write.known_vectors(conn, puts)

    def _query_vector(self, raw: Any) -> np.ndarray:
        assert self._spec is not None
        vector = np.asarray(raw, dtype=np.float32).ravel()
        if vector.shape[0] != self._spec.dims or not np.isfinite(vector).all():
            raise InvalidConfigError(
                f"the embedder returned a query vector of {vector.shape[0]} dimensions (or "
                f"NaN); the index config says dims={self._spec.dims}"
            )
        norm = float(np.sqrt(vector @ vector))
        return vector / norm if norm else vector

    def _plan(self, ops: Iterable[Op]) -> _Work:
        work = _Work(ops=list(ops))
        puts: list[PutOp] = []
        checked: set[tuple[str, ...]] = set()  # a batch's puts share few namespaces
        for n, op in enumerate(work.ops):
            if type(op) is PutOp and op.value is not None and _seen(op.namespace, checked):
                puts.append(op)
                continue
            if isinstance(op, SearchOp) and isinstance(op.namespace_prefix, list):
                # SqliteStore searches a list prefix as the tuple it spells.
                op = work.ops[n] = op._replace(namespace_prefix=tuple(op.namespace_prefix))
            validate_op_namespace(op)
            if isinstance(op, PutOp):
                if op.value is not None:
                    # LangGraph reserves the root label "langgraph" in put/aput only (its own
                    # parts write there through batch), so the batch checks the rest.
                    if not op.namespace:
                        raise InvalidNamespaceError("Namespace cannot be empty.")
                    _validate_namespace_labels(op.namespace)
                    if type(op.namespace) is tuple:  # others are refused by plan_puts
                        checked.add(op.namespace)
                puts.append(op)
            elif isinstance(op, GetOp):
                check_namespace(op.namespace)
                check_key(op.key)
            elif isinstance(op, SearchOp):
                work.filters[n] = _search.check_search(op, self.db.dialect)
                if op.query and self._spec is not None:
                    work.queries[op.query] = None
            elif isinstance(op, ListNamespacesOp):
                _search.check_list_namespaces(op)
            else:
                raise ValueError(f"Unknown operation type: {type(op)}")
        work.puts = _write.plan_puts(puts, self._spec)
        return work

    def _execute(self, work: _Work, fresh: np.ndarray | None) -> list[Result]:
        results: list[Result] = [None] * len(work.ops)
        moment = time.time()
        refresh: list[tuple[str, str]] = []
        reads = [(i, op) for i, op in enumerate(work.ops) if not isinstance(op, PutOp)]
        if reads:
            with self.db.read() as conn:
                semantic = (
                    self._semantic(conn, moment)
                    if any(isinstance(op, SearchOp) and op.query for _, op in reads)
                    else None
                )
                for i, op in reads:
                    results[i] = self._read(conn, i, op, moment, work, refresh, semantic)
        if work.puts or refresh:
            embeddings = dict(work.known.embeddings)
            if fresh is not None:
                embeddings.update(zip(work.missing, (row.tobytes() for row in fresh), strict=True))
            with self.db.write() as conn:
                _write.refresh_ttls(conn, refresh, moment)
                changed = _write.write_puts(
                    conn, work.puts, embeddings, stamp=to_text(now()), now=moment, known=work.known
                )
            if changed and self._index is not None:
                self._index.notify()
        return results

    def _semantic(self, conn: Any, moment: float) -> _search.Semantic | None:
        """Catch the vector cache up to this read transaction's snapshot (one query when
        nothing changed since the last search)."""
        if self._spec is None or self._cache is None:
            return None
        seq, floor, expired = conn.execute(self._sql.SNAPSHOT, (moment,)).fetchone()
        self._cache.refresh(conn, seq, int(floor))
        return _search.Semantic(
            spec=self._spec,
            cache=self._cache,
            terms=self._terms,
            chroma=self._index,
            seq=seq,
            any_expired=bool(expired),
        )

    def _read(
        self,
        conn: Any,
        index: int,
        op: Op,
        moment: float,
        work: _Work,
        refresh: list[tuple[str, str]],
        semantic: _search.Semantic | None,
    ) -> Result:
        if isinstance(op, GetOp):
            prefix = check_namespace(op.namespace)
            item, has_ttl = _search.get(conn, prefix, op.key, moment)
            if item is not None and has_ttl and op.refresh_ttl:
                refresh.append((prefix, op.key))
            return item
        if isinstance(op, SearchOp):
            query = work.queries.get(op.query) if op.query else None
            items, with_ttl = _search.search(
                conn, op, work.filters[index], moment, query=query, semantic=semantic
            )
            if op.refresh_ttl:
                refresh.extend(with_ttl)
            return items
        assert isinstance(op, ListNamespacesOp)
        return _search.list_namespaces(conn, op, moment)

    # -- the index -------------------------------------------------------------------------

    def verify_index(self) -> IndexReport:
        """Apply pending changes, then compare Chroma with the vectors in SQLite."""
        self.setup()
        if self._index is None:
            return IndexReport(error="no Chroma index is configured for this store")
        return self._index.verify()

    def rebuild_index(self) -> int:
        """Rebuild the Chroma collection from stored embeddings; the number of vectors."""
        self.setup()
        if self._index is None:
            raise InvalidConfigError("no Chroma index is configured for this store")
        return self._index.rebuild()

    def flush_index(self) -> int:
        """Apply pending outbox rows to Chroma now; the number applied."""
        self.setup()
        return 0 if self._index is None else self._index.apply_pending()

    async def averify_index(self) -> IndexReport:
        return await self.db.run(self.verify_index)

    async def arebuild_index(self) -> int:
        return await self.db.run(self.rebuild_index)

    # -- TTL -------------------------------------------------------------------------------

    def sweep_ttl(self) -> int:
        """Delete expired items (and their vectors); the number deleted."""
        self.setup()
        total = 0
        while True:
            with self.db.write() as conn:
                n = _write.sweep(conn, time.time())
            total += n
            if n == 0:
                break
        if total and self._index is not None:
            self._index.notify()
        return total

    async def asweep_ttl(self) -> int:
        return await self.db.run(self.sweep_ttl)

    def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> concurrent.futures.Future[None]:
        """Sweep expired items every ``sweep_interval_minutes`` on a daemon thread."""
        if self._sweeper is not None and self._sweeper.is_alive():
            assert self._sweeper_done is not None
            return self._sweeper_done
        interval = _sweep_interval(
            sweep_interval_minutes or (self.ttl_config or {}).get("sweep_interval_minutes") or 5
        )
        self._sweeper_stop.clear()
        done: concurrent.futures.Future[None] = concurrent.futures.Future()

        def loop() -> None:
            try:
                while not self._sweeper_stop.wait(float(interval) * 60.0):
                    try:
                        self.sweep_ttl()
                    except Exception:  # the next sweep retries; items stay hidden once expired
                        logger.exception("TTL sweep failed")
            finally:
                done.set_result(None)

        self._sweeper = threading.Thread(target=loop, name="langgraph-sharedmem-ttl", daemon=True)
        self._sweeper_done = done
        self._sweeper.start()
        return done

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        """Stop the sweeper thread; True if it is not running afterwards."""
        if self._sweeper is None:
            return True
        self._sweeper_stop.set()
        self._sweeper.join(timeout)
        stopped = not self._sweeper.is_alive()
        if stopped:
            self._sweeper = None
        return stopped
