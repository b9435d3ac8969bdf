"""`AgentView`: one agent's window on the shared memory, for one user and one run.

    billing = mem.agent("billing", user_id="u1", run_id="r7")
    billing.remember("plan", {"tier": "pro"}, scope="user")     # needs u1's write grant
    billing.recall("plan")                 # run -> agent -> user -> app, first found
    billing.search("what plan?")           # every scope it may read, merged by score
    billing.get("notes", scope=("agent", "support"))   # AccessDenied without a grant
    billing.facts.assert_fact("user", "acct", "plan", "pro")    # author = "billing"

A scope argument is a kind (``"app"``, ``"user"``, ``"agent"``, ``"run"``: the view's own
user, agent and run) or an explicit scope (``("agent", "support")``, ``"run:r6"``). Memories are
stored in the store under `_scopes.namespace` (``("sharedmem", kind, id[, collection])``).

Enforcement: every call works out the agent's rights and touches only namespaces they allow,
so what a view may not see is never fetched (no filtering after the fact). Explicit access
outside the rights raises `AccessDenied` (and is audited); recall, search and list over the
view's scopes silently leave out the scopes it may not read. Writes check the grants inside
their own write transaction, so a revocation committed before is always honoured; reads use
`AccessControl.permissions`, re-validated against the grants version on every call.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

from langgraph.store.base import GetOp, Item, SearchItem, SearchOp

from langgraph_sharedmem.agents._acl import AccessControl, Permissions
from langgraph_sharedmem.agents._audit import AuditLog
from langgraph_sharedmem.agents._scopes import KINDS, as_scope, check_id, namespace
from langgraph_sharedmem.agents._view_facts import ViewFacts
from langgraph_sharedmem.errors import AccessDenied, InvalidConfigError
from langgraph_sharedmem.facts import FactLedger, Scope
from langgraph_sharedmem.store import SharedMemoryStore

__all__ = ["AgentView"]

T = TypeVar("T")
_KIND_NAMES = frozenset(KINDS)


class AgentView:
    """What agent ``agent`` may see and change, acting for ``user`` in ``run``.

    Made by `SharedMemory.agent`; cheap (one query checks that the ids are registered), so
    make one per node call or per run. Sync methods and async twins (``a``-prefixed).
    """

    def __init__(
        self,
        access: AccessControl,
        store: SharedMemoryStore,
        ledger: FactLedger,
        agent: str,
        *,
        user: str | None = None,
        run: str | None = None,
    ) -> None:
        if run is not None:
            check_id("run id", run)
        access.check_principals(agent, user)
        store.setup()
        self.access, self.store, self.ledger = access, store, ledger
        self.db = access.db
        self.agent, self.user, self.run = agent, user, run
        self._audit: AuditLog = access.audit_log
        self._own: dict[str, Scope] = {"app": Scope.app(), "agent": Scope.agent(agent)}
        if user is not None:
            self._own["user"] = Scope.user(user)
        if run is not None:
            self._own["run"] = Scope.run(run)
        # Without a TTL config the view writes no TTLs, so its reads refresh none.
        ttl = store.ttl_config or {}
        refresh = bool(ttl) and ttl.get("refresh_on_read", True)
        self._get_kw: dict[str, Any] = {} if refresh else {"refresh_ttl": False}
        self._ns = {kind: namespace(where) for kind, where in self._own.items()}
        self.facts = ViewFacts(self)

    # -- scopes ----------------------------------------------------------------------------

    def scope(self, scope: Any) -> Scope:
        """The `Scope` a scope argument names (a kind means the view's own)."""
        if isinstance(scope, str) and scope in _KIND_NAMES:
            if scope not in self._own:
                raise InvalidConfigError(
                    f"this view of agent {self.agent!r} has no {scope} (pass "
                    f"{scope}_id= to mem.agent)"
                )
            return self._own[scope]
        return as_scope(scope)

    def permissions(self) -> Permissions:
        """The view's effective rights now (defaults and live grants)."""
        return self.access.permissions(self.agent, self.user, self.run)

    def readable(self) -> builtins.list[Scope]:
        """The view's own scopes it may read now, most specific first."""
        perms = self.permissions()
        return [s for s in self._ordered() if perms.allows(s, write=False)]

    def writable(self) -> builtins.list[Scope]:
        """The view's own scopes it may write now, most specific first."""
        return [s for s in self._ordered() if self._allows(None, s, write=True)]

    def _ordered(self) -> builtins.list[Scope]:
        return [self._own[k] for k in KINDS if k in self._own]

    def _allows(self, conn: Any, where: Scope, *, write: bool, fresh: bool = False) -> bool:
        user = where.id if where.kind == "user" else self.user
        if fresh:
            perms = self.access.resolve(conn, self.agent, user, self.run, time.time())
        else:
            perms = self.access.permissions(self.agent, user, self.run)
        return perms.allows(where, write=write)

    def _row(self, action: str, where: str | None, subject: str | None, **kw: Any) -> Any:
        return AuditLog.row(self.agent, self.user, self.run, action, where, subject, **kw)

    def _deny(self, action: str, where: Scope, subject: str | None) -> AccessDenied:
        self._audit.deny(self._row(action, str(where), subject, outcome="denied"))
        need = "write" if action in _WRITES else "read"
        return AccessDenied(
            f"agent {self.agent!r} may not {action} in scope {str(where)!r}: no live grant "
            f"gives it {need} access (see mem.access.grants(agent={self.agent!r}))",
            agent=self.agent,
            action=action,
            scope=str(where),
        )

    def _guarded_write(self, action: str, where: Scope, subject: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` in one write transaction with the grant check and the audit row."""
        allowed = False
        with self.db.write() as conn:
            if self._allows(conn, where, write=True, fresh=True):
                allowed = True
                result = fn()
                self._audit.write(conn, self._row(action, str(where), subject))
        if not allowed:
            raise self._deny(action, where, subject)
        return result

    # -- memories --------------------------------------------------------------------------

    def remember(
        self,
        key: str,
        value: dict[str, Any],
        *,
        scope: Any = "agent",
        collection: str | None = None,
        index: Literal[False] | builtins.list[str] | None = None,
    ) -> Item:
        """Store ``value`` under ``key`` in ``scope`` (default: the agent's private memory)."""
        where, ns = self._target(scope, collection, key)
        self._guarded_write(
            "remember", where, key, lambda: self.store.put(ns, key, value, index=index)
        )
        item = self.store.get(ns, key, refresh_ttl=False)
        assert item is not None
        return item

    def forget(self, key: str, *, scope: Any = "agent", collection: str | None = None) -> None:
        """Delete ``key`` from ``scope`` (a missing key is not an error)."""
        where, ns = self._target(scope, collection, key)
        self._guarded_write("forget", where, key, lambda: self.store.delete(ns, key))

    def get(self, key: str, *, scope: Any, collection: str | None = None) -> Item | None:
        """The item ``key`` of one scope; `AccessDenied` if the view may not read it."""
        # The hot path of a view (bench/bench_views.py): kept to a few attribute lookups
        # around the store's own get, so that it stays within 10% of it.
        where = self._own.get(scope) if collection is None and type(scope) is str else None
        if where is None or not isinstance(key, str) or not key:
            where, ns = self._target(scope, collection, key)
        else:
            ns = self._ns[where.kind]
        if not self._allows(None, where, write=False):
            raise self._deny("get", where, key)
        item = self.store.get(ns, key, **self._get_kw)
        self._audit.read(
            (time.time(), self.agent, self.user, self.run, "get", str(where), key, "allowed", None)
        )
        return item

    def recall(self, key: str, *, collection: str | None = None) -> Item | None:
        """``key`` from the most specific scope the view may read that has it: run, agent,
        user, app. Scopes it may not read are skipped silently."""
        if not isinstance(key, str):
            raise InvalidConfigError(f"key must be a string, got {key!r}")
        perms = self.access.permissions(self.agent, self.user, self.run)
        scopes = [s for s in self._ordered() if perms.allows(s, write=False)]
        ops = [GetOp(namespace(s, collection), key, **self._get_kw) for s in scopes]
        results = self.store.batch(ops) if ops else []
        found = next(((s, r) for s, r in zip(scopes, results, strict=True) if r), None)
        where = str(found[0]) if found else " ".join(map(str, scopes))
        self._audit.read(self._row("recall", where, key))
        return found[1] if found else None  # type: ignore[return-value]

    def search(
        self,
        query: str | None = None,
        *,
        scope: Any = None,
        collection: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> builtins.list[SearchItem]:
        """Items of ``scope`` (default: every own scope the view may read) matching ``query``
        and ``filter``. With a query, merged by score; without, newest first."""
        return self._search("search", query, scope, collection, filter, limit, offset)

    def list(
        self,
        scope: Any = None,
        *,
        collection: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[SearchItem]:
        """The items of ``scope`` (default: every own scope the view may read), newest first."""
        return self._search("list", None, scope, collection, None, limit, offset)

    def _search(
        self,
        action: str,
        query: str | None,
        scope: Any,
        collection: str | None,
        filter: dict[str, Any] | None,
        limit: int,
        offset: int,
    ) -> builtins.list[SearchItem]:
        for what, n in (("limit", limit), ("offset", offset)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise InvalidConfigError(f"{what} must be an int >= 0, got {n!r}")
        if collection is not None:
            check_id("collection", collection)
        explicit = None if scope is None else self.scope(scope)
        if explicit is not None:
            scopes = [explicit] if self._allows(None, explicit, write=False) else []
        else:
            perms = self.access.permissions(self.agent, self.user, self.run)
            scopes = [s for s in self._ordered() if perms.allows(s, write=False)]
        if explicit is not None and not scopes:
            raise self._deny(action, explicit, query)
        ops = [SearchOp(namespace(s, collection), filter, limit + offset, 0, query) for s in scopes]
        results = self.store.batch(ops) if ops else []
        merged: builtins.list[SearchItem] = [
            item
            for items in results
            for item in cast(builtins.list[SearchItem], items)  # most specific scope first
        ]
        if query:
            merged.sort(key=lambda it: -it.score if it.score is not None else float("inf"))
        else:
            merged.sort(key=lambda it: it.updated_at, reverse=True)
        where = " ".join(map(str, scopes))
        self._audit.read(self._row(action, where, query, detail=f"{len(merged)} found"))
        return merged[offset : offset + limit]

    def _target(self, scope: Any, collection: str | None, key: Any) -> tuple[Scope, Any]:
        if not isinstance(key, str) or not key:
            raise InvalidConfigError(f"key must be a non-empty string, got {key!r}")
        where = self.scope(scope)
        return where, namespace(where, collection)

    # -- async twins: the same code on the database's worker thread ------------------------

    async def aremember(self, *args: Any, **kwargs: Any) -> Item:
        return await self.db.run(self.remember, *args, **kwargs)

    async def aforget(self, *args: Any, **kwargs: Any) -> None:
        return await self.db.run(self.forget, *args, **kwargs)

    async def aget(self, *args: Any, **kwargs: Any) -> Item | None:
        return await self.db.run(self.get, *args, **kwargs)

    async def arecall(self, *args: Any, **kwargs: Any) -> Item | None:
        return await self.db.run(self.recall, *args, **kwargs)

    async def asearch(self, *args: Any, **kwargs: Any) -> builtins.list[SearchItem]:
        return await self.db.run(self.search, *args, **kwargs)

    async def alist(self, *args: Any, **kwargs: Any) -> builtins.list[SearchItem]:
        return await self.db.run(self.list, *args, **kwargs)

    def __repr__(self) -> str:
        return f"AgentView(agent={self.agent!r}, user={self.user!r}, run={self.run!r})"


_WRITES = frozenset({"remember", "forget", "assert_fact"})
