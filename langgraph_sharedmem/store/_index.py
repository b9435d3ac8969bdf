"""The Chroma vector index: applying the outbox, the writer lease, verify and rebuild.

SQLite is the source of truth; Chroma is derived from ``mem_vectors`` and may lag. Applying is
*syncing*: for every (prefix, key, field) named in the outbox since the applied ``seq``, make
Chroma hold what ``mem_vectors`` holds now (upsert it, or delete it when gone), then record the
new applied ``seq``. Doing that twice changes nothing, so a crash anywhere in between only
means the same rows are synced again by whoever applies next (on open, or after the next put).

Chroma documents itself as thread-safe but not process-safe: several processes writing one
persistent directory can lose updates, and a process's loaded HNSW segment does not follow
another's writes (chroma-core/chroma#421, #961, #3769, #3792; cookbook "System constraints").
So an embedded directory has one writer at a time: the process holding the lease row in
``mem_index_state``. Only that process opens the directory at all, and it asks Chroma nothing
unless its lease is current; every other process searches exactly (see `_vectors`). A Chroma
server (``chromadb.HttpClient``) is one process by construction, so every process may query
it, and writes still go through the lease so the outbox is applied in order.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.store import _schema

logger = logging.getLogger("langgraph_sharedmem.store")

STATE_NAME = "chroma"
LEASE_SECONDS = 30.0
RENEW_EVERY = 5.0
# Seconds in which no process committed a change before applying. Batch puts of 1000 items
# commit every 0.15-0.3 s on 2 loaded cores, and a shorter wait took those gaps for lulls.
APPLY_IDLE = 1.0
BATCH = 2000  # outbox rows per Chroma call: ~1 s of upserts, well inside a lease
IDLE_BATCH = 500  # per chunk in lulls: a burst of writes that starts waits ~0.3 s at most
# Unapplied changes above which the applier works even while writes go on. Until then it
# only works in lulls: Chroma's upserts took a whole core from a 2-core writer (batch puts
# of 50k items fell from ~6k/s to 1.9k/s). Searches never wait for it (see `_search`).
BACKLOG_LIMIT = 100_000
OUTBOX_RETAIN = 50_000  # applied rows kept so other processes' caches catch up, not reload

SELECT_CURRENT_VECTORS = """
SELECT v.prefix, v.key, v.field, v.text_hash, v.embedding, v.seq FROM json_each(?) AS j
JOIN mem_vectors AS v
  ON v.prefix = j.value ->> 0 AND v.key = j.value ->> 1 AND v.field = j.value ->> 2
"""
SELECT_ALL_VECTOR_ROWS = "SELECT prefix, key, field, text_hash, embedding, seq FROM mem_vectors"
SELECT_VECTOR_HASHES = "SELECT prefix, key, field, text_hash, seq FROM mem_vectors"


def _dead_local(holder: str) -> bool:
    """Whether ``holder`` names a process of this machine that no longer exists."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def chroma_id(prefix: str, key: str, field: str) -> str:
    return json.dumps([prefix, key, field], ensure_ascii=True, separators=(",", ":"))


def parse_chroma_id(text: str) -> tuple[str, str, str]:
    prefix, key, field = json.loads(text)
    return prefix, key, field


@dataclass
class IndexReport:
    """What `SharedMemoryStore.verify_index` found; ``ok`` when Chroma agrees with SQLite."""

    checked: int = 0
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    stale: list[tuple[str, str, str]] = field(default_factory=list)
    extra: list[tuple[str, str, str]] = field(default_factory=list)
    pending: int = 0
    applied_seq: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.missing or self.stale or self.extra or self.error)


class ChromaIndex:
    """One Chroma collection mirroring ``mem_vectors``, written under the lease."""

    def __init__(
        self, db: Database | Any, *, store_id: str, dims: int, client: Any, path: str | None
    ) -> None:
        if (client is None) == (path is None):
            raise ValueError("ChromaIndex takes either a client or an embedded directory path")
        self.db = db
        self._sql = _schema.for_dialect(db.dialect)  # SQL of the backend's dialect
        # This module's own statements, or their PostgreSQL twins in `_schema_pg`.
        self._vec_sql = self._sql if db.dialect == "postgres" else sys.modules[__name__]
        self.dims = dims
        self.collection_name = f"lgsm_{store_id}"
        self.embedded = client is None
        self.path = path
        self._client = client
        self._collection: Any = None
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._leased_until = 0.0
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._writers = 0  # writes of this process in progress (see `writing`)
        self._writers_lock = threading.Lock()
        self.last_error: str | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start applying in the background, beginning with what is pending (the replay).

        Opening does not wait for the replay (29 s for 50k vectors here): searches read
        SQLite and the vector cache, and `_search` scans exactly whatever Chroma has not
        applied yet; `flush_index` / `verify_index` apply synchronously when asked."""
        with self.db.write() as conn:
            conn.execute(self._sql.ENSURE_INDEX_STATE, (STATE_NAME,))
        with self._lock:  # the first process to open stays the writer, as before
            self._take_lease()
        self._wake.set()
        self._thread = threading.Thread(
            target=self._loop, name="langgraph-sharedmem-index", daemon=True
        )
        self._thread.start()

    def notify(self) -> None:
        """A write committed: wake the applier."""
        self._wake.set()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Mark a write of this process in progress, embedding included. On a loaded
        machine one batch of puts can take longer than `APPLY_IDLE`, which the applier
        took for a lull: it then loaded Chroma and upserted beside the writer, and batch
        puts ran at half speed (2.6k/s against 4.9k/s)."""
        with self._writers_lock:
            self._writers += 1
        try:
            yield
        finally:
            with self._writers_lock:
                self._writers -= 1
            self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            if self._leased_until:
                try:
                    with self.db.write() as conn:
                        conn.execute(self._sql.RELEASE_LEASE, (STATE_NAME, self.holder))
                except Exception:  # closing anyway; the lease simply expires
                    logger.warning("could not release the index lease", exc_info=True)
            self._drop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(RENEW_EVERY)
            # One chunk at a time, each after a lull, so that a burst of writes that starts
            # while Chroma catches up gets the cores back within one chunk. A chunk during
            # which nobody committed counts as the lull for the next one.
            quiet = False
            while self._lull_or_backlog(quiet):
                before = self._positions()[0]
                if not self._apply_logged(max_batches=1, batch=IDLE_BATCH):
                    break
                quiet = self._positions()[0] == before and not self._wake.is_set()

    def _lull_or_backlog(self, quiet: bool = False) -> bool:
        """Wait until no process has committed a change for `APPLY_IDLE` seconds (at once
        when ``quiet``), or the backlog passes `BACKLOG_LIMIT`; False when closing."""
        if quiet and not self._writers:
            return not self._stop.is_set()
        while True:
            before = self._positions()[0]
            self._wake.clear()
            if self._stop.wait(APPLY_IDLE):
                return False
            current, applied = self._positions()
            if current - applied > BACKLOG_LIMIT:
                return True
            if current == before and not self._wake.is_set() and not self._writers:
                return True

    def _positions(self) -> tuple[int, int]:
        """The newest ``seq`` and the applied one."""
        with self.db.read() as conn:
            current = conn.execute(self._sql.CURRENT_SEQ).fetchone()[0]
            row = conn.execute(self._sql.INDEX_STATE, (STATE_NAME,)).fetchone()
        return current, row[0] if row else 0

    def _apply_logged(self, max_batches: int | None = None, batch: int = BATCH) -> int:
        # The write that fed the outbox has committed and returned; the index is derived data
        # that the next apply (or the next open) replays, so a failure here is recorded for
        # `verify_index` and logged rather than raised into an unrelated caller.
        try:
            done = self.apply_pending(max_batches, batch)
            self.last_error = None
            return done
        except Exception as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.exception("applying the store outbox to Chroma failed; will retry")
            return 0

    # -- the lease -------------------------------------------------------------------------

    def _take_lease(self) -> bool:
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute(self._sql.INDEX_STATE, (STATE_NAME,)).fetchone()
            if row and row[1] and row[1] != self.holder and _dead_local(row[1]):
                # The holder crashed on this machine: no need to wait for its lease to lapse.
                conn.execute(self._sql.RELEASE_LEASE, (STATE_NAME, row[1]))
            until = now + LEASE_SECONDS
            lease = {"me": self.holder, "until": until, "name": STATE_NAME, "now": now}
            got = self._changed(conn.execute(self._sql.TAKE_LEASE, lease))
        if got:
            self._leased_until = now + LEASE_SECONDS
        else:
            self._lost()
        return bool(got)

    def _changed(self, cursor: Any) -> bool:
        """Whether an UPDATE changed a row (PostgreSQL's statements say so by RETURNING:
        in pipeline mode a rowcount is unknown until a result is read)."""
        if self.db.dialect == "postgres":
            return cursor.fetchone() is not None
        return bool(cursor.rowcount)

    def _lost(self) -> None:
        if self._leased_until:
            logger.info("index lease held by another process; searching exactly here")
        self._leased_until = 0.0
        if self.embedded:
            self._drop()

    def _drop(self) -> None:
        """Forget the embedded client, so a later lease reloads the directory from disk."""
        if self.embedded and self._client is not None:
            self._collection = None
            self._client = None
            from chromadb.api.shared_system_client import SharedSystemClient

            SharedSystemClient.clear_system_cache()

    def has_lease(self) -> bool:
        return time.time() < self._leased_until - 1.0

    def can_query(self) -> bool:
        return not self.embedded or self.has_lease()

    def collection(self) -> Any:
        if self._collection is None:
            import chromadb

            if self._client is None:
                assert self.path is not None  # __init__: no client means an embedded directory
                self._client = chromadb.PersistentClient(
                    path=self.path, settings=chromadb.Settings(anonymized_telemetry=False)
                )
            self._collection = self._client.get_or_create_collection(
                self.collection_name,
                embedding_function=None,  # Chroma must never embed: its default downloads
                configuration={"hnsw": {"space": "cosine"}},
            )
        return self._collection

    # -- applying --------------------------------------------------------------------------

    def apply_pending(self, max_batches: int | None = None, batch: int = BATCH) -> int:
        """Sync the outbox changes since the applied ``seq`` to Chroma, all of them or
        ``max_batches`` chunks of ``batch``; the number synced."""
        done = batches = 0
        with self._lock:
            if time.time() > self._leased_until - LEASE_SECONDS / 2 and not self._take_lease():
                return 0
            col = None  # opened only once there is something to apply: loading Chroma costs
            # ~1 s and slowed this process's puts by ~15% even while it sat idle
            while not (self._stop.is_set() and done) and batches != max_batches:
                batches += 1
                with self.db.read() as conn:
                    applied = conn.execute(self._sql.INDEX_STATE, (STATE_NAME,)).fetchone()[0]
                    current = conn.execute(self._sql.CURRENT_SEQ).fetchone()[0]
                    if applied >= current:
                        break
                    upto = min(current, applied + batch)
                    keys = conn.execute(
                        self._sql.PENDING_KEYS, {"lo": applied, "hi": upto}
                    ).fetchall()
                    rows = conn.execute(
                        self._vec_sql.SELECT_CURRENT_VECTORS, (json.dumps(keys, ensure_ascii=True),)
                    ).fetchall()
                if time.time() > self._leased_until - LEASE_SECONDS / 2 and not self._take_lease():
                    return done
                if col is None:
                    col = self.collection()
                self._sync(col, keys, rows)
                with self.db.write() as conn:
                    if not self._changed(
                        conn.execute(self._sql.SET_APPLIED, (upto, STATE_NAME, self.holder))
                    ):
                        self._lost()
                        return done
                done += len(keys)
            self._prune()
        return done

    def _sync(self, col: Any, keys: list[Any], rows: list[Any]) -> None:
        present = {(r[0], r[1], r[2]) for r in rows}
        gone = [chroma_id(*k) for k in keys if tuple(k) not in present]
        if gone:
            col.delete(ids=gone)
        if rows:
            vectors = np.frombuffer(b"".join(r[4] for r in rows), dtype=np.float32)
            col.upsert(
                ids=[chroma_id(r[0], r[1], r[2]) for r in rows],
                embeddings=vectors.reshape(len(rows), self.dims),
                metadatas=[{"h": r[3].hex(), "seq": r[5]} for r in rows],
            )

    def _prune(self) -> None:
        with self.db.write() as conn:
            applied = conn.execute(self._sql.MIN_APPLIED).fetchone()[0] or 0
            current = conn.execute(self._sql.CURRENT_SEQ).fetchone()[0]
            floor = min(applied, current - OUTBOX_RETAIN)
            if floor > int(conn.execute(self._sql.GET_META, ("log_floor",)).fetchone()[0]):
                conn.execute(self._sql.PRUNE_OUTBOX, (floor,))
                conn.execute(self._sql.SET_META, ("log_floor", str(floor)))

    # -- querying --------------------------------------------------------------------------

    def query(self, vector: np.ndarray, n: int) -> list[tuple[str, str, str]] | None:
        """Ids of about the ``n`` nearest vectors, or ``None`` if this process may not ask."""
        if not self.can_query():
            return None
        col = self.collection()
        count = col.count()
        if count == 0:
            return []
        found = col.query(query_embeddings=vector[None, :], n_results=min(n, count), include=[])
        return [parse_chroma_id(i) for i in found["ids"][0]]

    # -- checking and repairing ------------------------------------------------------------

    def verify(self) -> IndexReport:
        report = IndexReport(error=self.last_error)
        with self._lock:
            self.apply_pending()
            if not self.can_query():
                report.error = "another process holds the embedded index lease; verify there"
                return report
            col = self.collection()
            with self.db.read() as conn:
                applied = conn.execute(self._sql.INDEX_STATE, (STATE_NAME,)).fetchone()[0]
                current = conn.execute(self._sql.CURRENT_SEQ).fetchone()[0]
                truth = {
                    (p, k, f): (h.hex(), seq)
                    for p, k, f, h, seq in conn.execute(self._vec_sql.SELECT_VECTOR_HASHES)
                }
                moving = {
                    tuple(r)
                    for r in conn.execute(self._sql.PENDING_KEYS, {"lo": applied, "hi": current})
                }
            seen: dict[tuple[str, str, str], str] = {}
            offset = 0
            while True:
                page = col.get(include=["metadatas"], limit=5000, offset=offset)
                for cid, meta in zip(page["ids"], page["metadatas"], strict=True):
                    seen[parse_chroma_id(cid)] = (meta or {}).get("h", "")
                if len(page["ids"]) < 5000:
                    break
                offset += 5000
        report.applied_seq, report.pending = applied, current - applied
        report.checked = len(truth)
        for vid, (h, _seq) in truth.items():
            if vid in moving:
                continue
            if vid not in seen:
                report.missing.append(vid)
            elif seen[vid] != h:
                report.stale.append(vid)
        report.extra = [vid for vid in seen if vid not in truth and vid not in moving]
        return report

    def rebuild(self) -> int:
        """Recreate the collection from ``mem_vectors`` (no embedding calls); rows written."""
        with self._lock:
            if not self._take_lease():
                raise RuntimeError("another process holds the index lease; rebuild there")
            col = self.collection()
            self._client.delete_collection(self.collection_name)
            self._collection = None
            col = self.collection()
            with self.db.read() as conn:
                current = conn.execute(self._sql.CURRENT_SEQ).fetchone()[0]
                rows = conn.execute(self._vec_sql.SELECT_ALL_VECTOR_ROWS).fetchall()
            for start in range(0, len(rows), BATCH):
                self._sync(col, [], rows[start : start + BATCH])
                self._take_lease()
            with self.db.write() as conn:
                conn.execute(self._sql.RESET_APPLIED, (current, STATE_NAME, self.holder))
            self.last_error = None
            return len(rows)
