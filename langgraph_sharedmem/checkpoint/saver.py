"""`SharedMemorySaver`: a LangGraph checkpointer on a SQLite file or PostgreSQL, sync and async.

A drop-in for `InMemorySaver`, `SqliteSaver`/`AsyncSqliteSaver` and
`PostgresSaver`/`AsyncPostgresSaver`::

    from langgraph_sharedmem import SharedMemorySaver

    with SharedMemorySaver.from_conn_string("agents.db") as saver:   # or "postgresql://..."
        graph = builder.compile(checkpointer=saver)
        graph.invoke(inputs, {"configurable": {"thread_id": "t1"}})

The logic is written once; its SQL comes from `_schema` (SQLite) or `_schema_pg`
(PostgreSQL), picked by the backend's ``dialect``.

The async methods run the same code on the database's worker thread, so they never block the
event loop (``langgraph dev`` rejects blocking calls) and cannot drift from the sync ones.
"""

from __future__ import annotations

import base64
import builtins
import dataclasses
import enum
import json
import os
import random
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Literal, TypeGuard

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_sharedmem.checkpoint import _history, _lists, _schema, _writes
from langgraph_sharedmem.checkpoint._config import (
    Target,
    check_limit,
    dump_metadata,
    list_where,
    metadata_matches,
    parse_target,
    with_allowlist,
)
from langgraph_sharedmem.checkpoint._values import (
    ChainReader,
    ListPayload,
    PreparedValue,
    RawCheckpoint,
    RawValue,
    Segment,
    null_channels,
    older,
    pack_typed,
    plain_serde,
    unpack_typed,
)
from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.core.part import DatabasePart, sql_of
from langgraph_sharedmem.core.sqlite import Synchronous
from langgraph_sharedmem.errors import DatabaseFileError, InvalidConfigError, SharedMemoryError
from langgraph_sharedmem.serde import StrictSerializer

__all__ = ["SharedMemorySaver"]


_PG = "langgraph_sharedmem.checkpoint._schema_pg"  # the PostgreSQL SQL: needs psycopg


_LIST_PAGE = 64
_PRUNE_STRATEGIES = ("keep_latest", "delete")
_STORED_APART = frozenset({"channel_values", "channel_versions", "id"})


class _Miss(enum.Enum):
    """What a one-statement read could not do alone."""

    CHAIN_NEEDED = "a list's older segments must be read"


@contextmanager
def _corrupt_rows_named(what: str) -> Iterator[None]:
    """Turn any failure to decode stored rows into a `DatabaseFileError` naming them.

    Only a damaged or crafted row, or one written with another serializer or encryption key,
    fails here; refusals such as `UnsafeDeserializationError` pass through as they are.
    """
    try:
        yield
    except SharedMemoryError:
        raise
    except Exception as exc:
        raise DatabaseFileError(
            f"stored rows of {what} cannot be decoded (damaged, crafted, or written with "
            f"another serializer or key): {type(exc).__name__}: {exc}"
        ) from exc


def _holds(
    cached: _lists.StoredList | None, version: Any, token: bytes | None
) -> TypeGuard[_lists.StoredList]:
    """Whether the cache entry is this row's list version: same version, same row token
    (another process may have deleted the version and written it again with other rows)."""
    return (
        cached is not None
        and cached.is_stored_form
        and cached.version == version
        and token is not None
        and cached.token == token
    )


def _unbase64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _sorted_writes(rows: builtins.list[tuple[Any, ...]]) -> builtins.list[tuple[Any, ...]]:
    """Writes ``(task_id, channel, type, value, task_path, idx)`` in LangGraph's order: by
    task path, task id, then idx (the SQL order, byte-wise; packed writes join their task)."""
    return sorted(rows, key=lambda r: (r[4], r[0], r[5]))


def _entry_json(entry: _writes.Entry) -> dict[str, Any]:
    idx, channel, type_, value = entry
    return {"idx": idx, "channel": channel, "type": type_, "value": value}


class SharedMemorySaver(DatabasePart, BaseCheckpointSaver[str]):
    """Checkpointer storing LangGraph checkpoints in a SQLite file shared by many processes,
    or in PostgreSQL shared by many hosts.

    Args:
        conn: A file path, ``sqlite:///`` URL, ``":memory:"``, a ``postgresql://`` URL, or
            an open backend (shared with the other parts of a `SharedMemory`; then it is
            not closed here).
        serde: Serializer for values; defaults to a `StrictSerializer`.
        allowlist: Extra types stored values may rebuild (classes or ``(module, name)``).
        busy_timeout: Seconds to wait for another process's write lock.
        synchronous: SQLite ``synchronous`` pragma (``"NORMAL"`` or ``"FULL"``).
        max_decompressed_bytes: Refuse to inflate a stored compressed blob beyond this
            (256 MiB): a crafted row of 1 MB could otherwise inflate to 1 GB. Larger blobs
            are written uncompressed, so what this saver writes it can always read.
        pool_size: PostgreSQL only: connections in the pool (and async worker threads).

    Example:
        >>> with SharedMemorySaver.from_conn_string(":memory:") as saver:
        ...     saver.get_tuple({"configurable": {"thread_id": "t"}}) is None
        True
    """

    migrations = _schema.MIGRATIONS
    copy_tables = _schema.COPY_TABLES
    pg_schemas = (_PG,)
    db: Any  # a `Backend`: SQLite's `Database` or `PostgresDatabase`

    def __init__(
        self,
        conn: str | os.PathLike[str] | Backend,
        *,
        serde: SerializerProtocol | None = None,
        allowlist: Iterable[tuple[str, ...] | type] = (),
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "NORMAL",
        max_decompressed_bytes: int = _lists.MAX_DECOMPRESSED_BYTES,
        pool_size: int = 8,
    ) -> None:
        if (
            not isinstance(max_decompressed_bytes, int)
            or isinstance(max_decompressed_bytes, bool)
            or max_decompressed_bytes < 1
        ):
            raise InvalidConfigError(
                f"max_decompressed_bytes must be a positive int, got {max_decompressed_bytes!r}"
            )
        self.max_decompressed_bytes = max_decompressed_bytes
        allowlist = tuple(allowlist)
        if serde is None:
            serde = StrictSerializer(allowlist)
        elif allowlist:
            serde = with_allowlist(serde, allowlist)
        super().__init__(serde=serde)
        self._open_database(
            conn, busy_timeout=busy_timeout, synchronous=synchronous, pool_size=pool_size
        )
        # The SQL of this backend's dialect; everything else is the same on both.
        self._sql: ModuleType = sql_of(self.db, _schema, _PG)
        self._lists = _lists.ListCache()

    @classmethod
    def from_conn_string(
        cls, conn_string: str | os.PathLike[str], **kwargs: Any
    ) -> SharedMemorySaver:
        """Open a saver on a path, ``sqlite:///`` or ``postgresql://`` URL, or libpq connection
        string (``"host=... dbname=..."``); a sync and async context manager."""
        return cls(conn_string, **kwargs)

    async def asetup(self) -> None:
        """Async `setup`."""
        await self.db.run(self.setup)

    def _release(self) -> None:
        """Drop the cached lists (`close` then closes the database if this saver opened it)."""
        self._lists.clear()

    # -- reading ---------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint named by ``config`` (the thread's latest without ``checkpoint_id``)."""
        target = parse_target(config, what="get_tuple")
        self.setup()
        if self._sql.SELECT_TUPLE is not None:
            found = self._get_tuple_in_one_statement(target)
            if not isinstance(found, _Miss):
                return found
        with self.db.read() as conn:
            if target.checkpoint_id:
                row = conn.execute(
                    self._sql.SELECT_CHECKPOINT,
                    (target.thread_id, target.checkpoint_ns, target.checkpoint_id),
                ).fetchone()
            else:
                row = conn.execute(
                    self._sql.SELECT_LATEST_CHECKPOINT, (target.thread_id, target.checkpoint_ns)
                ).fetchone()
            if row is None:
                return None
            raw = self._fetch_related(conn, row)
        return self._decode(row, *raw)

    def _get_tuple_in_one_statement(
        self, target: Target
    ) -> CheckpointTuple | None | Literal[_Miss.CHAIN_NEEDED]:
        """`get_tuple` with the backend's one statement (PostgreSQL: `_schema_pg.SELECT_TUPLE`);
        `CHAIN_NEEDED` when a list's older segments must be read as well (the cache does not
        hold its version of these rows)."""
        params: tuple[str, ...] = (target.thread_id, target.checkpoint_ns)
        if target.checkpoint_id:
            sql, params = self._sql.SELECT_TUPLE, (*params, target.checkpoint_id)
        else:
            sql = self._sql.SELECT_LATEST_TUPLE
        rows = self._sql.select_tuple(self.db, sql, params)
        if not rows:
            return None
        *row, values_json, writes_json = rows[0]
        with _corrupt_rows_named(f"checkpoint {row[2]!r} of thread {row[0]!r}"):
            values: builtins.list[RawValue] = []
            for channel, version, kind, type_, blob, _, _, _, token in json.loads(
                values_json or "[]"
            ):
                if kind == "value":
                    values.append((channel, kind, type_, base64.b64decode(blob)))
                elif kind == "list":
                    cached = self._lists.get((target.thread_id, target.checkpoint_ns, channel))
                    if not _holds(cached, version, _unbase64(token)):
                        return _Miss.CHAIN_NEEDED
                    values.append((channel, kind, type_, ListPayload(cached.plain, cached)))
            writes = [  # as `SELECT_WRITES` gives them
                (task_id, channel, type_, _unbase64(blob), path, idx, _unbase64(more))
                for task_id, channel, type_, blob, path, idx, more in json.loads(
                    writes_json or "[]"
                )
            ]
        return self._decode(tuple(row), values, writes)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first, optionally of one thread/namespace, filtered by metadata."""
        for page in self._list_pages(config, filter=filter, before=before, limit=limit):
            for raw in page:
                yield self._decode(*raw)

    def _list_pages(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Iterator[builtins.list[RawCheckpoint]]:
        """Pages of still-serialized checkpoints: each is decoded only when it is yielded.

        Decoding a whole page first kept ~50k messages alive at 800 steps, and the garbage
        collector's passes over them made the history walk 1.5x slower than SqliteSaver's.
        """
        check_limit(limit)
        # Refuses odd input first.
        where, params, exact = list_where(config, filter, before, self._sql)
        if limit is not None and limit <= 0:
            return
        self.setup()
        cursor: tuple[str, str, str] | None = None
        remaining = limit
        while True:
            page_where = list(where)
            page_params: builtins.list[Any] = list(params)
            if cursor is not None:
                p = self._sql.PARAM
                page_where.append(f"(checkpoint_id, thread_id, checkpoint_ns) < ({p}, {p}, {p})")
                page_params.extend(cursor)
            size = _LIST_PAGE if remaining is None or not exact else min(_LIST_PAGE, remaining)
            sql = (
                self._sql.SELECT_CHECKPOINTS
                + (f" WHERE {' AND '.join(page_where)}" if page_where else "")
                + " ORDER BY checkpoint_id DESC, thread_id DESC, checkpoint_ns DESC"
                + f" LIMIT {self._sql.PARAM}"
            )
            with self.db.read() as conn:
                rows = conn.execute(sql, (*page_params, size)).fetchall()
                matching = [r for r in rows if metadata_matches(r[7], filter)]
                if remaining is not None:
                    matching = matching[:remaining]
                    remaining -= len(matching)
                chains = ChainReader(conn, self._sql, self.max_decompressed_bytes)
                page = [(row, *self._fetch_related(conn, row, chains)) for row in matching]
            if page:
                yield page
            if len(rows) < size or remaining == 0:
                return
            cursor = (rows[-1][2], rows[-1][0], rows[-1][1])

    def _fetch_related(
        self, conn: Any, row: tuple[Any, ...], chains: ChainReader | None = None
    ) -> tuple[builtins.list[RawValue], builtins.list[Any]]:
        thread_id, ns, checkpoint_id = row[0], row[1], row[2]
        # Sent first: on PostgreSQL (pipeline mode) both queries then share one round trip.
        writes = conn.execute(self._sql.SELECT_WRITES, (thread_id, ns, checkpoint_id))
        values = self._fetch_values(conn, thread_id, ns, row[6], chains)
        return values, writes.fetchall()  # expanded (`_writes`) when decoded

    def _fetch_values(
        self,
        conn: Any,
        thread_id: str,
        ns: str,
        wanted_json: str,
        chains: ChainReader | None = None,
    ) -> builtins.list[RawValue]:
        """Stored (still serialized) values of the channel versions in a JSON object."""
        chains = chains or ChainReader(conn, self._sql, self.max_decompressed_bytes)
        rows = conn.execute(
            self._sql.SELECT_VALUES,
            {"wanted": wanted_json, "thread_id": thread_id, "checkpoint_ns": ns},
        ).fetchall()
        raw: builtins.list[RawValue] = []
        for channel, version, kind, type_, blob, base_version, base_len, depth, token in rows:
            if kind == "list":
                top = Segment(version, base_version, base_len, blob)
                elements = self._list_elements(chains, (thread_id, ns, channel), top, token, depth)
                raw.append((channel, kind, type_, elements))  # elements: a ListPayload
            elif kind == "value":
                raw.append((channel, kind, type_, blob))
        return raw

    def _list_elements(
        self,
        chains: ChainReader,
        key: _lists.ChainKey,
        top: Segment,
        token: bytes | None,
        depth: int,
    ) -> ListPayload:
        """A list version's stored elements: from the cache when the row's token matches."""
        cached = self._lists.get(key)
        if _holds(cached, top.version, token):
            return ListPayload(cached.plain, cached)
        elements = chains.elements(key, top)
        stored = None
        if (
            token is not None
            and self._serde_is_plain
            and (cached is None or older(cached.version, top.version))
        ):
            stored = _lists.StoredList(top.version, token, depth, tuple(elements), True)
            self._lists.set(key, stored)
        return ListPayload(elements, stored)

    @property
    def _serde_is_plain(self) -> bool:
        """Whether stored elements are the plain serializer's bytes (nothing encrypts them)."""
        return plain_serde(self.serde) is self.serde

    def _pack(self, serialized: tuple[str, bytes]) -> tuple[str, bytes]:
        return pack_typed(serialized, self.max_decompressed_bytes)

    def _load(self, type_: str, blob: bytes) -> Any:
        return self.serde.loads_typed(unpack_typed(type_, blob, self.max_decompressed_bytes))

    def _decode(
        self,
        row: tuple[Any, ...],
        value_rows: builtins.list[RawValue],
        write_rows: builtins.list[Any],
    ) -> CheckpointTuple:
        with _corrupt_rows_named(f"checkpoint {row[2]!r} of thread {row[0]!r}"):
            return self._decode_unchecked(row, value_rows, write_rows)

    def _decode_unchecked(
        self,
        row: tuple[Any, ...],
        value_rows: builtins.list[RawValue],
        write_rows: builtins.list[Any],
    ) -> CheckpointTuple:
        (thread_id, ns, checkpoint_id, parent_id, type_, blob, versions_json, md_json, nulls) = row
        checkpoint: Checkpoint = self._load(type_, blob)
        if not isinstance(checkpoint, dict):
            raise DatabaseFileError(f"the stored checkpoint is a {type(checkpoint).__name__}")
        checkpoint["id"] = checkpoint_id
        checkpoint["channel_versions"] = json.loads(versions_json)
        checkpoint["channel_values"] = self._decode_values(value_rows)
        checkpoint["channel_values"].update(dict.fromkeys(null_channels(nulls)))
        write_rows = _sorted_writes(_writes.expand(write_rows, idx_at=5, channel_at=1))
        return CheckpointTuple(
            config={
                "configurable": {
                    "thread_id": thread_id,
                    "checkpoint_ns": ns,
                    "checkpoint_id": checkpoint_id,
                }
            },
            checkpoint=checkpoint,
            metadata=json.loads(md_json),
            parent_config=(
                {
                    "configurable": {
                        "thread_id": thread_id,
                        "checkpoint_ns": ns,
                        "checkpoint_id": parent_id,
                    }
                }
                if parent_id
                else None
            ),
            pending_writes=[
                (task_id, channel, self._load(wtype, wvalue))
                for task_id, channel, wtype, wvalue, _path, _idx in write_rows
            ],
        )

    def _decode_values(self, raw: builtins.list[RawValue]) -> dict[str, Any]:
        return {
            channel: self._decode_list(payload) if kind == "list" else self._load(type_, payload)
            for channel, kind, type_, payload in raw
        }

    def _decode_list(self, payload: ListPayload) -> builtins.list[Any]:
        joined = (
            payload.cached.joined
            if payload.cached is not None
            else _lists.join_msgpack(payload.elements)
        )
        if joined is not None:
            return list(self.serde.loads_typed(("msgpack", joined)))
        return [self.serde.loads_typed(e) for e in payload.elements]

    # -- writing ---------------------------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Store a checkpoint; only the channel values in ``new_versions`` are written."""
        target = parse_target(config, what="put")
        self.setup()
        # Values, versions and id have columns or rows of their own.
        stripped = {k: v for k, v in checkpoint.items() if k not in _STORED_APART}
        type_, blob = self._pack(self.serde.dumps_typed(stripped))
        md = get_serializable_checkpoint_metadata(config, metadata)
        md_json = dump_metadata(md)
        try:
            versions_json = json.dumps(
                checkpoint["channel_versions"], allow_nan=False, separators=(",", ":")
            )
        except (TypeError, ValueError) as exc:
            raise InvalidConfigError(f"channel versions must be str, int or float: {exc}") from exc
        values = checkpoint["channel_values"]
        # Channels whose value here is None: named on the row, no channel_values row
        # (as PostgresSaver keeps such values inline in its checkpoint).
        nulls = sorted(
            c for c, v in values.items() if v is None and c in checkpoint["channel_versions"]
        )
        null_set = set(nulls)
        prepared = []
        for channel, version in new_versions.items():
            if channel in null_set:
                continue  # named in the row's null_channels
            try:
                prepared.append(self._prepare_value(target, channel, version, values))
            except InvalidConfigError as exc:
                raise InvalidConfigError(f"channel {channel!r}: {exc}") from exc
        run_id = md.get("run_id")
        row = (
            target.thread_id,
            target.checkpoint_ns,
            checkpoint["id"],
            target.checkpoint_id,
            None if run_id is None else str(run_id),
            type_,
            blob,
            versions_json,
            md_json,
            json.dumps(nulls, separators=(",", ":")) if nulls else None,
        )
        stored_lists = self._put_in_one_statement(target, row, prepared)
        if stored_lists is None:
            with self.db.write() as conn:
                self._lock_threads(conn, [target.thread_id], shared=True)
                stored_lists = [self._insert_value(conn, target, p) for p in prepared]
                conn.execute(self._sql.INSERT_CHECKPOINT, row)
        for p, stored in zip(prepared, stored_lists, strict=True):
            if p.kind == "list":
                key = (target.thread_id, target.checkpoint_ns, p.channel)
                if stored is None:
                    self._lists.discard(key)
                else:
                    self._lists.set(key, stored)
        return {
            "configurable": {
                "thread_id": target.thread_id,
                "checkpoint_ns": target.checkpoint_ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    def _prepare_value(
        self, target: Target, channel: str, version: Any, values: Mapping[str, Any]
    ) -> PreparedValue:
        """Serialize one new channel version outside the write lock."""
        if channel not in values:
            return PreparedValue(channel, version, "empty")
        value = values[channel]
        if type(value) is not list:
            return PreparedValue(
                channel, version, "value", self._pack(self.serde.dumps_typed(value))
            )
        plain = plain_serde(self.serde)
        base = self._stored_list(target, channel, version)
        elements, snapshots = _lists.serialize_reusing(value, base, plain.dumps_typed)
        plan = _lists.plan_segment(base, elements)
        fresh = elements[plan.base_len :]
        if plain is not self.serde:
            fresh = [self.serde.dumps_typed(e) for e in value[plan.base_len :]]
        return PreparedValue(
            channel,
            version,
            "list",
            ("list", _lists.pack(fresh, self.max_decompressed_bytes)),
            plan,
            _lists.StoredList(
                version,
                _lists.new_token(),
                plan.depth,
                tuple(elements),
                plain is self.serde,
                tuple(snapshots),
            ),
            value,
        )

    def _stored_list(self, target: Target, channel: str, version: Any) -> _lists.StoredList | None:
        """A stored list version older than ``version`` to extend: the cached or latest one."""
        key = (target.thread_id, target.checkpoint_ns, channel)
        cached = self._lists.get(key)
        if cached is not None and older(cached.version, version):
            return cached
        with self.db.read() as conn:
            row = conn.execute(
                self._sql.SELECT_LATEST_LIST_VERSION,
                (target.thread_id, target.checkpoint_ns, channel, self._sql.version(version)),
            ).fetchone()
            if row is None:
                return None
            base_version, depth, token = row
            raw = self._fetch_values(
                conn, target.thread_id, target.checkpoint_ns, json.dumps({channel: base_version})
            )
        if not raw or token is None:
            return None
        payload: ListPayload = raw[0][3]
        if payload.cached is not None:
            return payload.cached  # the read above already remembered it
        elements = list(payload.elements)
        if not self._serde_is_plain:
            plain = plain_serde(self.serde)
            elements = [plain.dumps_typed(self.serde.loads_typed(e)) for e in elements]
        stored = _lists.StoredList(
            base_version, token, depth, tuple(elements), self._serde_is_plain
        )
        self._lists.set(key, stored)
        return stored

    def _put_in_one_statement(
        self, target: Target, row: tuple[Any, ...], prepared: builtins.list[PreparedValue]
    ) -> builtins.list[_lists.StoredList | None] | None:
        """Store a checkpoint with one statement where the backend has one (PostgreSQL:
        `_schema_pg.PUT_CHECKPOINT`) and return the lists now stored, as `_insert_value` does;
        None when it must be stored statement by statement instead: no such statement, a list
        re-stored at its base's version, or a base pruned or rewritten meanwhile (then the
        statement wrote nothing)."""
        if self._sql.PUT_CHECKPOINT is None:
            return None
        rows: builtins.list[dict[str, Any]] = []
        for p in prepared:
            plan = p.plan
            value: dict[str, Any]
            if p.stored is None:
                type_, blob = p.serialized if p.serialized else (None, None)
                value = {"kind": p.kind, "type": type_, "value": blob, "depth": 0}
            elif plan is None or p.serialized is None:
                raise AssertionError("a list value is prepared with its plan")
            elif plan.base is not None and plan.base.version == p.version:
                return None
            else:
                value = {"kind": "list", "type": "list", "value": p.serialized[1]}
                value.update(depth=plan.depth, token=p.stored.token)
                if plan.base is not None:  # a segment over its base
                    value.update(base_version=plan.base.version, base_len=plan.base_len)
                    value.update(base_token=plan.base.token)
            rows.append({"channel": p.channel, "version": p.version, **value})
        status = self._sql.put_checkpoint(
            self.db,
            (self._sql.thread_lock_key(target.thread_id), *row, self._sql.rows_json(rows)),
        )
        if -1 in status:
            return None
        return [
            p.stored if p.stored is not None and done == 1 else None
            for p, done in zip(prepared, status, strict=True)
        ]

    def _insert_value(
        self, conn: Any, target: Target, p: PreparedValue
    ) -> _lists.StoredList | None:
        """Insert one prepared value inside the write transaction; return the list now stored."""
        version = self._sql.version
        key = (target.thread_id, target.checkpoint_ns, p.channel, version(p.version))
        if p.stored is None:
            type_, blob = p.serialized if p.serialized else (None, None)
            conn.execute(self._sql.INSERT_VALUE, (*key, p.kind, type_, blob, None, None, 0, None))
            return None
        plan = p.plan
        assert plan is not None and p.serialized is not None
        stored = p.stored
        if plan.base is not None and plan.base.version != p.version:
            # One statement inserts the segment if its base is still the row we extended
            # (one round trip on PostgreSQL, instead of a check and then an insert).
            base_key = (*key[:3], version(plan.base.version))
            cur = conn.execute(
                self._sql.INSERT_SEGMENT,
                (*key, p.serialized[1], base_key[3], plan.base_len, plan.depth, stored.token)
                + (*base_key, plan.base.token),
            )
            if self._sql.inserted(cur):
                return stored
            if conn.execute(self._sql.SELECT_LIST_ROW, (*base_key, plan.base.token)).fetchone():
                return None  # this version was already stored; don't trust our view of it
        if plan.base is not None:
            # The base was pruned or rewritten meanwhile (perhaps by another process): store
            # this version whole instead.
            plan = _lists.ROOT
            blob = _lists.pack(
                [self.serde.dumps_typed(e) for e in p.source or ()], self.max_decompressed_bytes
            )
            stored = dataclasses.replace(stored, depth=plan.depth)
        else:
            blob = p.serialized[1]
        cur = conn.execute(
            self._sql.INSERT_VALUE,
            (*key, "list", "list", blob, None, None, plan.depth, stored.token),
        )
        if not self._sql.inserted(cur):
            return None  # this version was already stored; don't trust our view of it
        return stored

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Store a task's pending writes for the checkpoint in ``config``.

        Regular writes keep what was stored first for their (task, idx): a retried task
        must not change history. Special writes (errors, interrupts, resumes) replace.
        """
        target = parse_target(config, what="put_writes")
        if not target.checkpoint_id:
            raise InvalidConfigError(
                "put_writes needs config['configurable']['checkpoint_id'] of the checkpoint "
                "the writes belong to"
            )
        self.setup()
        regular: dict[int, _writes.Entry] = {}
        special: dict[int, _writes.Entry] = {}  # a special write given twice keeps the last
        for idx, (channel, value) in enumerate(writes):
            write_idx = WRITES_IDX_MAP.get(channel, idx)
            try:
                type_, blob = self._pack(self.serde.dumps_typed(value))
            except InvalidConfigError as exc:
                raise InvalidConfigError(f"write to channel {channel!r}: {exc}") from exc
            (special if write_idx < 0 else regular)[write_idx] = (write_idx, channel, type_, blob)
        key = (target.thread_id, target.checkpoint_ns, target.checkpoint_id, task_id)
        first = next(iter(regular.values()), None)
        more = _writes.pack(list(regular.values())[1:]) or None
        if self._sql.PUT_WRITES is not None:
            done = self._sql.put_writes(
                self.db,
                (
                    self._sql.thread_lock_key(target.thread_id),
                    self._sql.task_lock_key(*key),
                    *key,
                    task_path,
                    *(first or (None, None, None, None)),
                    more,
                    self._sql.rows_json([_entry_json(e) for e in special.values()])
                    if special
                    else None,
                ),
            )
            if done:
                return
        with self.db.write() as conn:
            lock = self._sql.lock_task(*key)
            if lock is not None:
                conn.execute(*lock)
            named = dict(
                zip(("thread_id", "checkpoint_ns", "checkpoint_id", "task_id"), key, strict=True)
            )
            have: set[int] = set()
            if first is not None:
                for idx, packed in conn.execute(self._sql.SELECT_TASK_WRITES, named).fetchall():
                    have.add(idx)
                    if packed is not None:
                        have.update(e[0] for e in _writes.unpack(packed))
            if first is not None and not any(i >= 0 for i in have):
                # The task's first regular writes: one row, the others packed in it.
                conn.execute(self._sql.INSERT_WRITE, (*key, *first, task_path, more))
            else:
                for entry in regular.values():
                    if entry[0] not in have:
                        conn.execute(self._sql.INSERT_WRITE, (*key, *entry, task_path, None))
            for entry in special.values():
                conn.execute(self._sql.DELETE_WRITE, {**named, "idx": entry[0]})
                conn.execute(self._sql.INSERT_WRITE, (*key, *entry, task_path, None))

    # -- deleting, copying, pruning --------------------------------------------------------

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint, value and write of a thread."""
        self.setup()
        with self.db.write() as conn:
            self._lock_threads(conn, [str(thread_id)])
            for sql in self._sql.DELETE_THREAD:
                conn.execute(sql, (str(thread_id),))
        self._lists.clear()

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Delete the checkpoints (and their writes and unreferenced values) of these runs."""
        if isinstance(run_ids, str):
            raise InvalidConfigError("delete_for_runs takes a list of run ids, not one string")
        ids = json.dumps([str(r) for r in run_ids])
        if ids == "[]":
            return
        self.setup()
        with self.db.write() as conn:
            threads = [t for (t,) in conn.execute(self._sql.SELECT_THREADS_OF_RUNS, (ids,))]
            self._lock_threads(conn, threads)
            conn.execute(self._sql.DELETE_RUNS, (ids,))
            for thread_id in threads:
                _history.collect_garbage(conn, self._sql, thread_id)
        self._lists.clear()

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copy a thread's whole history (every checkpoint, value and write) to another id."""
        if str(source_thread_id) == str(target_thread_id):
            raise InvalidConfigError("copy_thread: source and target thread ids are the same")
        self.setup()
        params = {"source": str(source_thread_id), "target": str(target_thread_id)}
        with self.db.write() as conn:
            # The source's lock too: the copy reads it in several statements, and a put of the
            # source committing between them left the target the values of a checkpoint it
            # did not copy (rows nothing reads, which a later list could take as its base).
            self._lock_threads(conn, [params["source"], params["target"]])
            for sql in self._sql.COPY_THREAD:
                conn.execute(sql, params)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Drop old checkpoints: ``"keep_latest"`` keeps each namespace's newest, ``"delete"`` all.

        ``keep_latest`` is safe for `DeltaChannel`: it also keeps the ancestors (and their
        writes) between the newest checkpoint and the nearest one holding a stored value of
        each delta channel, so reconstruction still finds its seed.
        """
        if strategy not in _PRUNE_STRATEGIES:
            raise InvalidConfigError(
                f"unknown prune strategy {strategy!r}; use one of {', '.join(_PRUNE_STRATEGIES)}"
            )
        if isinstance(thread_ids, str):
            raise InvalidConfigError("prune takes a list of thread ids, not one string")
        self.setup()
        with self.db.write() as conn:
            self._lock_threads(conn, [str(t) for t in thread_ids])
            for thread_id in map(str, thread_ids):
                if strategy == "delete":
                    for sql in self._sql.DELETE_THREAD:
                        conn.execute(sql, (thread_id,))
                    continue
                keep: builtins.list[tuple[str, str]] = []
                namespaces = conn.execute(self._sql.SELECT_NAMESPACES, (thread_id,)).fetchall()
                for (ns,) in namespaces:
                    keep.extend(_history.needed_checkpoints(conn, self._sql, thread_id, ns))
                conn.execute(self._sql.DELETE_CHECKPOINTS_EXCEPT, (thread_id, json.dumps(keep)))
                _history.collect_garbage(conn, self._sql, thread_id)
        self._lists.clear()

    def _lock_threads(self, conn: Any, thread_ids: Iterable[str], *, shared: bool = False) -> None:
        """Hold these threads alone, so every other writer of them waits, or ``shared`` with
        their other puts and task writes (PostgreSQL; SQLite has one lock)."""
        for thread_id in sorted(set(thread_ids)):  # one order everywhere: no deadlock
            lock = self._sql.lock_thread(thread_id, shared=shared)
            if lock is None:
                return
            conn.execute(*lock)

    # -- delta channels --------------------------------------------------------------------

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Per channel: the writes on the parent chain since the nearest stored value (the seed).

        The walk reads ancestors in chunks only as far back as the seeds; one query then
        fetches their writes for these channels.
        """
        if not channels:
            return {}
        target = parse_target(config, what="get_delta_channel_history")
        self.setup()
        with self.db.read() as conn:
            # The walk starts at the target's parent: writes stored at the target itself
            # are pending for the next step, not history.
            if target.checkpoint_id is None:
                row = conn.execute(
                    self._sql.SELECT_PARENT_OF_LATEST, (target.thread_id, target.checkpoint_ns)
                ).fetchone()
            else:
                row = conn.execute(
                    self._sql.SELECT_PARENT_OF,
                    (target.thread_id, target.checkpoint_ns, target.checkpoint_id),
                ).fetchone()
            walk = _history.walk_to_seeds(
                conn,
                self._sql,
                target.thread_id,
                target.checkpoint_ns,
                row[0] if row else None,
                channels,
            )
            path, seeds, seed_depth = walk.path, walk.seeds, walk.seed_depth
            packed_rows = conn.execute(
                self._sql.SELECT_HISTORY_WRITES,
                (
                    target.thread_id,
                    target.checkpoint_ns,
                    json.dumps(path),
                    json.dumps(list(channels)),
                ),
            ).fetchall()
            fetched = {ch: v for ch, v in seeds.items() if ch not in walk.null_seeds}
            seed_rows = (
                self._fetch_values(
                    conn, target.thread_id, target.checkpoint_ns, json.dumps(fetched)
                )
                if fetched
                else []
            )
        with _corrupt_rows_named(f"delta channel history of thread {target.thread_id!r}"):
            wanted = set(channels)
            write_rows = [
                r for r in _writes.expand(packed_rows, idx_at=6, channel_at=2) if r[2] in wanted
            ]
            return self._decode_history(channels, path, seeds, seed_depth, seed_rows, write_rows)

    def _decode_history(
        self,
        channels: Sequence[str],
        path: Sequence[str],
        seeds: Mapping[str, Any],
        seed_depth: Mapping[str, int],
        seed_rows: builtins.list[RawValue],
        write_rows: builtins.list[Any],
    ) -> Mapping[str, DeltaChannelHistory]:
        depth = {cp: i for i, cp in enumerate(path)}
        # Oldest ancestor first; within one checkpoint, LangGraph's writes_sort_key order.
        write_rows.sort(key=lambda r: (-depth[r[0]], r[5], r[1], r[6]))
        seed_values = self._decode_values(seed_rows)
        result: dict[str, DeltaChannelHistory] = {}
        for ch in channels:
            # Writes older than a channel's seed are already folded into the seed value.
            oldest = seed_depth.get(ch, len(path))
            entry: DeltaChannelHistory = {
                "writes": [
                    (task_id, channel, self._load(wtype, wvalue))
                    for cp, task_id, channel, wtype, wvalue, _path, _idx in write_rows
                    if channel == ch and depth[cp] <= oldest
                ]
            }
            if ch in seeds:
                entry["seed"] = seed_values.get(ch)
            result[ch] = entry
        return result

    # -- versions and allowlists -----------------------------------------------------------

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Monotonic version strings with a random suffix, so forks never collide.

        ``0000000042.9f3a61c2`` (19 characters) orders like LangGraph's 49-character
        ``000…042.0.5487…`` and parses the same way; versions are stored in several rows and
        indexes per checkpoint, so the shorter form saves about 300 bytes a step.
        """
        if current is None:
            current_v = 0
        elif isinstance(current, int):
            current_v = current
        else:
            current_v = int(str(current).split(".")[0])
        return f"{current_v + 1:010d}.{random.getrandbits(32):08x}"

    # -- async -----------------------------------------------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """Async `get_tuple`."""
        return await self.db.run(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        """Async `list`, fetched a page and decoded a checkpoint at a time off the event loop."""
        pages = self._list_pages(config, filter=filter, before=before, limit=limit)
        while True:
            page = await self.db.run(next, pages, None)
            if page is None:
                return
            for raw in page:
                yield await self.db.run(self._decode, *raw)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Async `put`."""
        return await self.db.run(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Async `put_writes`."""
        await self.db.run(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        """Async `delete_thread`."""
        await self.db.run(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Async `delete_for_runs`."""
        await self.db.run(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Async `copy_thread`."""
        await self.db.run(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """Async `prune`."""
        await self.db.run(self.prune, thread_ids, strategy=strategy)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """Async `get_delta_channel_history`."""
        return await self.db.run(
            lambda: self.get_delta_channel_history(config=config, channels=channels)
        )
