"""`SharedMemory`: one database file, handing out the checkpointer, the store and the facts.

    from langgraph_sharedmem import SharedMemory

    with SharedMemory.open("agents.db") as mem:       # SQLite file + Chroma index beside it
        graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)

On PostgreSQL (``SharedMemory.open("postgresql://...")``) the checkpointer and the store run
today; the other parts raise `UnsupportedBackendError` until they are ported (issue 15).

Both parts share one `Database` (one connection, one worker thread for async calls), so a
graph's checkpoints and its long-term memories live in the same file, and closing the
`SharedMemory` closes everything once.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Iterable
from typing import Any, Literal, cast

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.store.base import IndexConfig, TTLConfig

from langgraph_sharedmem import changes
from langgraph_sharedmem._closing import Closing
from langgraph_sharedmem._db import Database, Synchronous
from langgraph_sharedmem.agents import AccessControl, AgentView, AuditEntry
from langgraph_sharedmem.agents import _schema as access_schema
from langgraph_sharedmem.changes.as_of import MemoryAsOf, fork_run_memory
from langgraph_sharedmem.changes.feed import ChangeFeed
from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.conversation import ConversationLog
from langgraph_sharedmem.core.backend import Backend, is_postgres_url, refuse_postgres
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import FactLedger
from langgraph_sharedmem.facts._core import Matcher
from langgraph_sharedmem.facts._similar import EmbeddingMatcher
from langgraph_sharedmem.registry import AgentProfile, Registry
from langgraph_sharedmem.store import SharedMemoryStore
from langgraph_sharedmem.store import _schema as store_schema
from langgraph_sharedmem.toolcache import ToolCache

__all__ = ["SharedMemory", "default_index"]

# Every part's migration set: a file recording a step unknown to any of them is refused at open.
_SCHEMAS = (
    changes.MIGRATIONS,
    SharedMemorySaver.migrations,
    store_schema.MIGRATIONS,
    FactLedger.migrations,
    access_schema.MIGRATIONS,
    ToolCache.migrations,
    Registry.migrations,
    ConversationLog.migrations,
)


def default_index() -> IndexConfig:
    """The store's index unless told otherwise: each item's whole value, embedded offline by
    the bundled WordLlama model (256 dimensions, no network, no API key)."""
    return {"dims": 256, "fields": ["$"]}


class SharedMemory(Closing):
    """The shared memory of a multi-agent system, on one SQLite file.

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
        the PostgreSQL database of a ``postgresql://`` URL (``pool_size`` connections; only
        `checkpointer` and `store` run there yet, the other parts raise
        `UnsupportedBackendError`).

        Raises `DatabaseFileError` for a file this process cannot write or that belongs to
        another application (a LangGraph ``SqliteSaver`` file says how to import it), and
        `SchemaVersionError` for a file written by a newer langgraph-sharedmem: here, not at
        first use.
        """
        db: Database | Backend
        if is_postgres_url(path):
            from langgraph_sharedmem.checkpoint import _schema_pg
            from langgraph_sharedmem.core.postgres import PostgresDatabase
            from langgraph_sharedmem.store import _changes_pg
            from langgraph_sharedmem.store import _schema_pg as store_pg

            db = PostgresDatabase.open_checked(
                path,
                [_schema_pg.MIGRATIONS, _changes_pg.MIGRATIONS, store_pg.MIGRATIONS],
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
        if self._checkpointer is None:
            self._checkpointer = SharedMemorySaver(self.db, **self._saver_options)
        return self._checkpointer

    def _sqlite(self, part: str) -> Database:
        """The database, for a part that runs on SQLite only (so far)."""
        refuse_postgres(self.db, part)
        return cast(Database, self.db)

    @property
    def store(self) -> SharedMemoryStore:
        """The LangGraph store on this file (for ``compile(store=...)``)."""
        if self._store is None:
            self._store = SharedMemoryStore(self.db, **self._store_options)
        return self._store

    @property
    def facts(self) -> FactLedger:
        """The fact ledger on this file: versioned facts, disagreements and their history."""
        if self._facts is None:
            matcher = self._fact_matcher
            self._sqlite("mem.facts")
            if matcher == "default":
                spec = self.store._spec  # the store's embedder, WordLlama unless configured
                matcher = EmbeddingMatcher(None if spec is None else spec.embeddings)
            self._facts = FactLedger(self._sqlite("mem.facts"), matcher=matcher)
        return self._facts

    @property
    def access(self) -> AccessControl:
        """Agents, users, grants (``register_agent``, ``grant_user``, ``grant_scope``,
        ``revoke_user``, ``revoke_scope``, ``grants``) and the audit log, changeable while
        the system runs."""
        if self._access is None:
            self._access = AccessControl(self._sqlite("mem.access"))
        return self._access

    @property
    def tool_cache(self) -> ToolCache:
        """The shared tool-call cache on this file (``@mem.tool_cache.cached(ttl=...)``,
        ``mem.tool_cache.wrap_tool(tool)``): one execution per call for every agent and
        process of one user's run (``scope="user"`` or ``"app"`` to share wider)."""
        if self._tool_cache is None:
            self._tool_cache = ToolCache(self._sqlite("mem.tool_cache"))
        return self._tool_cache

    @property
    def conversation(self) -> ConversationLog:
        """The shared conversation history on this file (``append``, ``context``, ``page``,
        ``relevant``, ``summary``), with this memory's access rules applied to viewers."""
        if self._conversation is None:
            db = self._sqlite("mem.conversation")
            self._conversation = ConversationLog(db, access=self.access)
        return self._conversation

    @property
    def changes(self) -> ChangeFeed:
        """The change feed: ``subscribe``, ``on_change``, ``wait_for``, ``step`` (what
        changed since an agent's last step), cursors and retention (docs/changes.md)."""
        if self._changes is None:
            self._changes = ChangeFeed(self._sqlite("mem.changes"), access=self.access)
        return self._changes

    def as_of(self, when: Any) -> MemoryAsOf:
        """Facts and run-scoped memory as they were at a checkpoint (``config`` with
        ``thread_id`` and ``checkpoint_id``), a datetime, an ISO time or epoch seconds."""
        return MemoryAsOf.at(self._sqlite("mem.as_of"), when)

    def fork_run_memory(self, from_run: str, to_run: str, *, as_of: Any) -> int:
        """Copy run ``from_run``'s items and facts as of ``as_of`` into run ``to_run`` (the
        fork's own run memory); returns how many were copied."""
        self._sqlite("mem.fork_run_memory")
        return fork_run_memory(self.store, self.facts, from_run, to_run, as_of=as_of)

    def agent(
        self, agent_id: str, *, user_id: str | None = None, run_id: str | None = None
    ) -> AgentView:
        """The view of agent ``agent_id`` acting for ``user_id`` in ``run_id``: the app
        defaults, the user's memory, the agent's private memory and the run, as far as its
        grants allow. Unknown (unregistered) agents and users raise `InvalidConfigError`."""
        self._sqlite("mem.agent")
        return AgentView(self.access, self.store, self.facts, agent_id, user=user_id, run=run_id)

    @property
    def registry(self) -> Registry:
        """The agent registry on this file: profiles, heartbeats, lookup by name, capability
        or meaning (through the store's index), routing, and who knows what."""
        if self._registry is None:
            db = self._sqlite("mem.registry")
            self._registry = Registry(db, store=self.store, access=self.access)
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

    def close(self) -> None:
        """Close the parts and the database. Safe to call twice."""
        if self._registry is not None:
            self._registry.close()
        if self._access is not None:
            self._access.close()
        if self._tool_cache is not None:
            self._tool_cache.close()
        if self._store is not None:
            self._store.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.db.close()

    def __repr__(self) -> str:
        return f"SharedMemory({self.db.path!r})"
