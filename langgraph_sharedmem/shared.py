"""`SharedMemory`: one database, handing out the checkpointer, the store and the facts.

    from langgraph_sharedmem import SharedMemory

    with SharedMemory.open("agents.db") as mem:       # SQLite file + Chroma index beside it
        graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)

On PostgreSQL (``SharedMemory.open("postgresql://...")``) every part runs too, the same logic
with its own SQL (issue 15). Each part says so (`DatabasePart.runs_on_postgres`); a part that
did not would raise `UnsupportedBackendError` there, naming itself.

The parts share one database (a SQLite `Database`: one connection, one worker thread for
async calls; or a `PostgresDatabase` pool), so a graph's checkpoints and its long-term
memories live in the same place, and closing the `SharedMemory` closes everything once.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.store.base import IndexConfig, TTLConfig

from langgraph_sharedmem.agents import AccessControl, AgentView, AuditEntry
from langgraph_sharedmem.changes.as_of import MemoryAsOf, fork_run_memory
from langgraph_sharedmem.changes.feed import ChangeFeed
from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.conversation import ConversationLog
from langgraph_sharedmem.core.backend import (
    Backend,
    is_postgres_url,
    open_database,
    refuse_postgres,
)
from langgraph_sharedmem.core.closing import Closing
from langgraph_sharedmem.core.part import DatabasePart
from langgraph_sharedmem.core.sqlite import Database, Synchronous
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import EmbeddingMatcher, FactLedger, Matcher
from langgraph_sharedmem.registry import AgentProfile, Registry
from langgraph_sharedmem.store import SharedMemoryStore
from langgraph_sharedmem.store.embedding import default_index
from langgraph_sharedmem.toolcache import ToolCache

__all__ = ["SharedMemory", "default_index"]

P = TypeVar("P", bound=DatabasePart)

# The parts by the name `SharedMemory` gives them, in the order it may create them. Every
# migration set they use: a file recording a step unknown to any of them is refused at open.
_NAMED_PARTS: dict[str, type[DatabasePart]] = {
    "checkpointer": SharedMemorySaver,
    "store": SharedMemoryStore,
    "facts": FactLedger,
    "access": AccessControl,
    "tool_cache": ToolCache,
    "registry": Registry,
    "conversation": ConversationLog,
    "changes": ChangeFeed,
}
_PARTS: tuple[type[DatabasePart], ...] = tuple(_NAMED_PARTS.values())
_SCHEMAS = tuple(dict.fromkeys(m for part in _PARTS for m in part.migration_sets()))


def _on_postgres(*needs: type) -> bool:
    """Whether everything in ``needs`` runs on PostgreSQL: a part does once it has a
    PostgreSQL schema (`DatabasePart.runs_on_postgres`), and so do the as-of reads and agent
    views, which say so themselves; anything without ``runs_on_postgres`` does not."""
    return all(getattr(cls, "runs_on_postgres", lambda: False)() for cls in needs)


def _pg_schemas() -> list[Any]:
    """The PostgreSQL migration sets of the parts that run there (they need psycopg)."""
    sets: list[Any] = []
    for part in _PARTS:
        if _on_postgres(part):
            sets += [m for m in part.pg_migration_sets() if all(m is not s for s in sets)]
    return sets


class SharedMemory(Closing):
    """The shared memory of a multi-agent system, in one database: a SQLite file or a
    PostgreSQL database, every part on either.

    Args:
        db: The open database; `SharedMemory.open` creates it from a path or URL.
        index: The store's semantic index (LangGraph's ``IndexConfig``); ``"default"`` is
            `default_index()`, ``None`` turns semantic search off.
        ttl: The store's ``TTLConfig``.
        serde: The checkpointer's serializer (strict by default).
        allowlist: Extra types checkpoints may rebuild.
        chroma: The store's vector index: ``"embedded"`` (a directory beside the file) or a
            ``chromadb`` client such as ``HttpClient`` for a Chroma server.
        fact_matcher: How `facts` tells a restated claim from a new one: ``"default"`` is an
            `EmbeddingMatcher` on the store's embedder (near-identical text is one claim with
            several sources), ``None`` merges only identical values, or any
            ``matcher(value, claims) -> Claim | None``.
    """

    def __init__(
        self,
        db: Database | Backend,
        *,
        index: IndexConfig | Literal["default"] | None = "default",
        ttl: TTLConfig | None = None,
        serde: SerializerProtocol | None = None,
        allowlist: Iterable[tuple[str, ...] | type] = (),
        chroma: Any = "embedded",
        fact_matcher: Matcher | Literal["default"] | None = "default",
    ) -> None:
        self.db = db
        if not (fact_matcher in ("default", None) or callable(fact_matcher)):
            raise InvalidConfigError(
                f"fact_matcher must be 'default', None or a callable, got {fact_matcher!r}"
            )
        self._fact_matcher = fact_matcher
        self._saver_options: dict[str, Any] = {"serde": serde, "allowlist": tuple(allowlist)}
        self._store_options: dict[str, Any] = {
            "index": default_index() if index == "default" else index,
            "ttl": ttl,
            "chroma": chroma,
        }
        self._checkpointer: SharedMemorySaver | None = None
        self._store: SharedMemoryStore | None = None
        self._facts: FactLedger | None = None
        self._access: AccessControl | None = None
        self._tool_cache: ToolCache | None = None
        self._changes: ChangeFeed | None = None
        self._registry: Registry | None = None
        self._conversation: ConversationLog | None = None
        # Every part made so far, in order of creation: `close` closes them in reverse.
        self._parts: list[DatabasePart] = []

    def _made(self, part: P) -> P:
        self._parts.append(part)
        return part

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "NORMAL",
        pool_size: int = 8,
        **options: Any,
    ) -> SharedMemory:
        """Open (creating if needed) the shared memory in the SQLite file at ``path``, or in
        the PostgreSQL database of a ``postgresql://`` URL or libpq connection string
        (``pool_size`` connections); every part runs on both.

        Raises `DatabaseFileError` for a file this process cannot write or that belongs to
        another application (a LangGraph ``SqliteSaver`` file says how to import it), and
        `SchemaVersionError` for a file written by a newer langgraph-sharedmem: here, not at
        first use.
        """
        db: Database | Backend
        if is_postgres_url(path):
            db = open_database(
                path,
                *_pg_schemas(),
                busy_timeout=busy_timeout,
                synchronous=synchronous,
                pool_size=pool_size,
            )
        else:
            db = Database.open_checked(
                path, _SCHEMAS, busy_timeout=busy_timeout, synchronous=synchronous
            )
        try:
            return cls(db, **options)
        except BaseException:
            db.close()
            raise

    @classmethod
    async def aopen(cls, path: str | os.PathLike[str], **options: Any) -> SharedMemory:
        """`open` for async code (``mem = await SharedMemory.aopen(path)``, then ``async
        with mem:`` or ``await mem.aclose()``): the file is opened and checked off the
        event loop."""
        return await asyncio.get_running_loop().run_in_executor(
            None, functools.partial(cls.open, path, **options)
        )

    async def aclose(self) -> None:
        """`close` for async code, off the event loop (closing joins worker threads)."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    @property
    def checkpointer(self) -> SharedMemorySaver:
        """The LangGraph checkpointer on this file (for ``compile(checkpointer=...)``)."""
        self._check_backend("mem.checkpointer", SharedMemorySaver)
        if self._checkpointer is None:
            self._checkpointer = self._made(SharedMemorySaver(self.db, **self._saver_options))
        return self._checkpointer

    @property
    def store(self) -> SharedMemoryStore:
        """The LangGraph store on this file (for ``compile(store=...)``)."""
        db = self._check_backend("mem.store", SharedMemoryStore)
        if self._store is None:
            self._store = self._made(SharedMemoryStore(db, **self._store_options))
        return self._store

    @property
    def facts(self) -> FactLedger:
        """The fact ledger on this file: versioned facts, disagreements and their history."""
        self._check_backend("mem.facts", FactLedger)
        if self._facts is None:
            matcher = self._fact_matcher
            if matcher == "default" and not self._runs(SharedMemoryStore):
                matcher = EmbeddingMatcher(None)  # no store here: the offline default embedder
            elif matcher == "default":
                spec = self.store.index_spec  # the store's embedder, WordLlama unless configured
                matcher = EmbeddingMatcher(None if spec is None else spec.embeddings)
            self._facts = self._made(FactLedger(self.db, matcher=matcher))
        return self._facts

    @property
    def access(self) -> AccessControl:
        """Agents, users, grants (``register_agent``, ``grant_user``, ``grant_scope``,
        ``revoke_user``, ``revoke_scope``, ``grants``) and the audit log, changeable while
        the system runs."""
        self._check_backend("mem.access", AccessControl)
        if self._access is None:
            self._access = self._made(AccessControl(self.db))
        return self._access

    @property
    def tool_cache(self) -> ToolCache:
        """The shared tool-call cache on this file (``@mem.tool_cache.cached(ttl=...)``,
        ``mem.tool_cache.wrap_tool(tool)``): one execution per call for every agent and
        process of one user's run (``scope="user"`` or ``"app"`` to share wider)."""
        self._check_backend("mem.tool_cache", ToolCache)
        if self._tool_cache is None:
            self._tool_cache = self._made(ToolCache(self.db))
        return self._tool_cache

    @property
    def conversation(self) -> ConversationLog:
        """The shared conversation history on this file (``append``, ``context``, ``page``,
        ``relevant``, ``summary``), with this memory's access rules applied to viewers."""
        self._check_backend("mem.conversation", ConversationLog)
        if self._conversation is None:
            self._conversation = self._made(ConversationLog(self.db, access=self.access))
        return self._conversation

    @property
    def changes(self) -> ChangeFeed:
        """The change feed: ``subscribe``, ``on_change``, ``wait_for``, ``step`` (what
        changed since an agent's last step), cursors and retention (docs/changes.md)."""
        self._check_backend("mem.changes", ChangeFeed)
        if self._changes is None:
            self._changes = self._made(ChangeFeed(self.db, access=self.access))
        return self._changes

    def as_of(self, when: Any) -> MemoryAsOf:
        """Facts and run-scoped memory as they were at a checkpoint (``config`` with
        ``thread_id`` and ``checkpoint_id``), a datetime, an ISO time or epoch seconds."""
        return MemoryAsOf.at(self._check_backend("mem.as_of", MemoryAsOf), when)

    def fork_run_memory(self, from_run: str, to_run: str, *, as_of: Any) -> int:
        """Copy run ``from_run``'s items and facts as of ``as_of`` into run ``to_run`` (the
        fork's own run memory); returns how many were copied."""
        self._check_backend("mem.fork_run_memory", MemoryAsOf, SharedMemoryStore, FactLedger)
        return fork_run_memory(self.store, self.facts, from_run, to_run, as_of=as_of)

    def agent(
        self, agent_id: str, *, user_id: str | None = None, run_id: str | None = None
    ) -> AgentView:
        """The view of agent ``agent_id`` acting for ``user_id`` in ``run_id``: the app
        defaults, the user's memory, the agent's private memory and the run, as far as its
        grants allow. Unknown (unregistered) agents and users raise `InvalidConfigError`."""
        self._check_backend("mem.agent", AgentView, AccessControl, SharedMemoryStore, FactLedger)
        return AgentView(self.access, self.store, self.facts, agent_id, user=user_id, run=run_id)

    @property
    def registry(self) -> Registry:
        """The agent registry on this file: profiles, heartbeats, lookup by name, capability
        or meaning (through the store's index), routing, and who knows what."""
        db = self._check_backend("mem.registry", Registry)
        if self._registry is None:
            # Without the store (not on this backend), lookups match keywords.
            store = self.store if self._runs(SharedMemoryStore) else None
            self._registry = self._made(Registry(db, store=store, access=self.access))
        return self._registry

    def register_agent(
        self, agent_id: str, *, description: str = "", **profile: Any
    ) -> AgentProfile:
        """Register (or update) an agent: ``mem.registry.register``, which also registers the
        id with ``mem.access`` in the same transaction. ``profile``: capabilities, tools,
        endpoint, graph_id, owner, allowed_scopes, trust, version, metadata,
        heartbeat_timeout."""
        return self.registry.register(agent_id, description=description, **profile)

    def register_user(self, user_id: str) -> None:
        """Shortcut for ``mem.access.register_user``."""
        self.access.register_user(user_id)

    def audit(self, **filters: Any) -> list[AuditEntry]:
        """The audit log of reads, writes, grants and denials (see `AccessControl.audit`)."""
        return self.access.audit(**filters)

    def _runs(self, *needs: type) -> bool:
        """Whether everything in ``needs`` runs on this memory's backend."""
        return self.db.dialect == "sqlite" or _on_postgres(*needs)

    def _check_backend(self, feature: str, *needs: type) -> Any:
        """The database, for a feature using the parts ``needs``; `UnsupportedBackendError`,
        naming the feature and what runs there, if one of them is not ported to it."""
        if not self._runs(*needs):
            ported = [f"mem.{name}" for name, part in _NAMED_PARTS.items() if _on_postgres(part)]
            refuse_postgres(self.db, feature, ", ".join(ported))
        return self.db

    def close(self) -> None:
        """Close every part made, newest first (a part may use an older one while it closes),
        then the database. Safe to call twice."""
        while self._parts:
            self._parts.pop().close()
        self.db.close()

    def __repr__(self) -> str:
        return f"SharedMemory({self.db.path!r})"
