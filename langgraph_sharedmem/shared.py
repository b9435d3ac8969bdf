"""`SharedMemory`: one database file, handing out the checkpointer, the store and the facts.

    from langgraph_sharedmem import SharedMemory

    with SharedMemory.open("agents.db") as mem:       # SQLite file + Chroma index beside it
        graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)

Both parts share one `Database` (one connection, one worker thread for async calls), so a
graph's checkpoints and its long-term memories live in the same file, and closing the
`SharedMemory` closes everything once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Literal

from langgraph.checkpoint.serde.base import SerializerProtocol
from langgraph.store.base import IndexConfig, TTLConfig

from langgraph_sharedmem._closing import Closing
from langgraph_sharedmem._db import Database, Synchronous
from langgraph_sharedmem.agents import AccessControl, AgentView, AuditEntry
from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.facts import FactLedger
from langgraph_sharedmem.store import SharedMemoryStore
from langgraph_sharedmem.toolcache import ToolCache

__all__ = ["SharedMemory", "default_index"]


def default_index() -> IndexConfig:
    """The store's index unless told otherwise: each item's whole value, embedded offline by
    the bundled WordLlama model (256 dimensions, no network, no API key)."""
    return {"dims": 256, "fields": ["$"]}


class SharedMemory(Closing):
    """The shared memory of a multi-agent system, on one SQLite file.

    Args:
        db: The open database; `SharedMemory.open` creates it from a path.
        index: The store's semantic index (LangGraph's ``IndexConfig``); ``"default"`` is
            `default_index()`, ``None`` turns semantic search off.
        ttl: The store's ``TTLConfig``.
        serde: The checkpointer's serializer (strict by default).
        allowlist: Extra types checkpoints may rebuild.
        chroma: The store's vector index: ``"embedded"`` (a directory beside the file) or a
            ``chromadb`` client such as ``HttpClient`` for a Chroma server.
    """

    def __init__(
        self,
        db: Database,
        *,
        index: IndexConfig | Literal["default"] | None = "default",
        ttl: TTLConfig | None = None,
        serde: SerializerProtocol | None = None,
        allowlist: Iterable[tuple[str, ...] | type] = (),
        chroma: Any = "embedded",
    ) -> None:
        self.db = db
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

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "NORMAL",
        **options: Any,
    ) -> SharedMemory:
        """Open (creating if needed) the shared memory in the SQLite file at ``path``."""
        return cls(Database(path, busy_timeout=busy_timeout, synchronous=synchronous), **options)

    @property
    def checkpointer(self) -> SharedMemorySaver:
        """The LangGraph checkpointer on this file (for ``compile(checkpointer=...)``)."""
        if self._checkpointer is None:
            self._checkpointer = SharedMemorySaver(self.db, **self._saver_options)
        return self._checkpointer

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
            self._facts = FactLedger(self.db)
        return self._facts

    @property
    def access(self) -> AccessControl:
        """Agents, users, grants (``register_agent``, ``grant_user``, ``grant_scope``,
        ``revoke_user``, ``revoke_scope``, ``grants``) and the audit log, changeable while
        the system runs."""
        if self._access is None:
            self._access = AccessControl(self.db)
        return self._access

    @property
    def tool_cache(self) -> ToolCache:
        """The shared tool-call cache on this file (``@mem.tool_cache.cached(ttl=...)``,
        ``mem.tool_cache.wrap_tool(tool)``): one execution per call for every agent."""
        if self._tool_cache is None:
            self._tool_cache = ToolCache(self.db)
        return self._tool_cache

    def agent(
        self, agent_id: str, *, user_id: str | None = None, run_id: str | None = None
    ) -> AgentView:
        """The view of agent ``agent_id`` acting for ``user_id`` in ``run_id``: the app
        defaults, the user's memory, the agent's private memory and the run, as far as its
        grants allow. Unknown (unregistered) agents and users raise `InvalidConfigError`."""
        return AgentView(self.access, self.store, self.facts, agent_id, user=user_id, run=run_id)

    def register_agent(self, agent_id: str, *, description: str = "") -> None:
        """Shortcut for ``mem.access.register_agent``."""
        self.access.register_agent(agent_id, description=description)

    def register_user(self, user_id: str) -> None:
        """Shortcut for ``mem.access.register_user``."""
        self.access.register_user(user_id)

    def audit(self, **filters: Any) -> list[AuditEntry]:
        """The audit log of reads, writes, grants and denials (see `AccessControl.audit`)."""
        return self.access.audit(**filters)

    def close(self) -> None:
        """Close the parts and the database. Safe to call twice."""
        if self._access is not None:
            self._access.close()
        if self._store is not None:
            self._store.close()
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.db.close()

    def __repr__(self) -> str:
        return f"SharedMemory({self.db.path!r})"
