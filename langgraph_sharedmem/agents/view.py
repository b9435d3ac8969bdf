"""`AgentView`: one agent's window on the shared memory, for one user and one run.

    billing = mem.agent("billing", user_id="u1", run_id="r7")
    billing.remember("plan", {"tier": "pro"}, scope="user")     # needs u1's write grant
    billing.recall("plan")                 # run -> agent -> user -> app, first found
    billing.search("what plan?")           # every scope it may read, merged by score
    billing.get("notes", scope=("agent", "support"))   # AccessDenied without a grant
    billing.facts.assert_fact("user", "acct", "plan", "pro")    # author = "billing"

A scope argument is a kind (``"app"``, ``"user"``, ``"agent"``, ``"run"``: the view's own
user, agent and run) or an explicit scope (``("agent", "support")``, ``"run:r6"``). Memories are
stored in the store under `core.values.namespace` (``("sharedmem", kind, id[, collection])``).
A view acts for one user: an explicit ``("user", X)`` is refused unless X is the view's user,
whatever X granted the agent (make a view for X to act for X).

Enforcement: every call works out the agent's rights and touches only namespaces they allow,
so what a view may not see is never fetched (no filtering after the fact). Explicit access
outside the rights raises `AccessDenied` (and is audited); recall over the view's own scopes,
and search and list over every scope it may read, silently leave out the rest. Writes check
the grants inside their own write transaction (after embedding, so the write lock is never
held while the embedder runs), so a revocation committed before is always honoured; reads
use `AccessControl.permissions_until`, kept by the view until the grants version must be
checked again (`recheck_seconds`) or a grant changes in this process.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

from langgraph.store.base import Item, ListNamespacesOp, MatchCondition, PutOp, SearchItem, SearchOp

from langgraph_sharedmem.agents import AccessControl, AuditLog, Permissions
from langgraph_sharedmem.agents._view_facts import ViewFacts
from langgraph_sharedmem.core.values import KINDS, ROOT, Scope, as_scope, check_id, namespace
from langgraph_sharedmem.errors import AccessDenied, InvalidConfigError
from langgraph_sharedmem.facts import FactLedger
from langgraph_sharedmem.store import SharedMemoryStore, check_key, ns_to_prefix

__all__ = ["AgentView"]

T = TypeVar("T")
_KIND_NAMES = frozenset(KINDS)


class AgentView:
    """What agent ``agent`` may see and change, acting for ``user`` in ``run``.

    Made by `SharedMemory.agent`; cheap (one query checks that the ids are registered), so
    make one per node call or per run. Sync methods and async twins (``a``-prefixed).
    """

    @classmethod
    def runs_on_postgres(cls) -> bool:
        """A view runs wherever its parts do: on PostgreSQL a guarded write is one transaction
        holding the access-control lock, with the store's write nested in it (a savepoint),
        so a revocation committed before it is seen, as under SQLite's write lock."""
        return True

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
        self._refresh_ttl = refresh
        self._ns = {kind: namespace(where) for kind, where in self._own.items()}
        # The hot path's precomputed parts: store prefix and audit label of each own scope.
        self._prefix = {kind: ns_to_prefix(ns) for kind, ns in self._ns.items()}
        self._label = {kind: str(where) for kind, where in self._own.items()}
        self._generation = access.generation
        self._perms: Permissions | None = None
        self._perms_gen = -1
        self._perms_until = 0.0
        self._reads: frozenset[str] = frozenset()  # own kinds readable under _perms
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
        perms = self._perms
        if (
            perms is None
            or time.monotonic() >= self._perms_until
            or self._generation[0] != self._perms_gen
        ):
            perms = self._load_permissions()
        return perms

    def _load_permissions(self) -> Permissions:
        generation = self._generation[0]  # before asking: a change meanwhile asks again
        perms, until = self.access.permissions_until(self.agent, self.user, self.run)
        self._reads = frozenset(k for k, s in self._own.items() if perms.allows(s, write=False))
        self._perms, self._perms_gen, self._perms_until = perms, generation, until
        return perms

    def readable(self) -> builtins.list[Scope]:
        """The view's own scopes it may read now, most specific first (search and list also
        reach the other scopes granted to the agent: see `search`)."""
        perms = self.permissions()
        return [s for s in self._ordered() if perms.allows(s, write=False)]

    def writable(self) -> builtins.list[Scope]:
        """The view's own scopes it may write now, most specific first."""
        return [s for s in self._ordered() if self._allows(None, s, write=True)]

    def _ordered(self) -> builtins.list[Scope]:
        return [self._own[k] for k in KINDS if k in self._own]

    def _allows(self, conn: Any, where: Scope, *, write: bool, fresh: bool = False) -> bool:
        if where.kind == "user" and where.id != self.user:
            # A view acts for one user: another user's grant to the agent is for a view made
            # for that user, never this one (the change feed's rule too).
            return False
        if fresh:
            perms = self.access.resolve(conn, self.agent, self.user, self.run, time.time())
        else:
            perms = self.permissions()
        return perms.allows(where, write=write)

    def _row(self, action: str, where: str | None, subject: str | None, **kw: Any) -> Any:
        return AuditLog.row(self.agent, self.user, self.run, action, where, subject, **kw)

    def _deny(self, action: str, where: Scope, subject: str | None) -> AccessDenied:
        self._audit.deny(self._row(action, str(where), subject, outcome="denied"))
        need = "write" if action in _WRITES else "read"
        if where.kind == "user" and where.id != self.user:
            why = (
                f"this view acts for user {self.user!r}, and a view reaches only its own "
                f"user's scope (make one with mem.agent({self.agent!r}, user_id={where.id!r}))"
            )
        else:
            why = (
                f"no live grant gives it {need} access (see "
                f"mem.access.grants(agent={self.agent!r}))"
            )
        return AccessDenied(
            f"agent {self.agent!r} may not {action} in scope {str(where)!r}: {why}",
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
        # Check and embed first, outside the write lock; the store re-checks under the lock
        # whether the stored vectors moved meanwhile (by seq) and writes what differs.
        prepared = self.store._prepare([PutOp(ns, key, value, index)])
        self._guarded_write("remember", where, key, lambda: self.store._execute(*prepared))
        item = self.store.get_at(ns_to_prefix(ns), key, False)
        assert item is not None
        return item

    def forget(self, key: str, *, scope: Any = "agent", collection: str | None = None) -> None:
        """Delete ``key`` from ``scope`` (a missing key is not an error)."""
        where, ns = self._target(scope, collection, key)
        self._guarded_write("forget", where, key, lambda: self.store.delete(ns, key))

    def get(self, key: str, *, scope: Any, collection: str | None = None) -> Item | None:
        """The item ``key`` of one scope; `AccessDenied` if the view may not read it."""
        # The hot path of a view (bench/bench_views.py): an own scope by kind costs a clock
        # read, three comparisons and a set lookup around the store's read (its namespace
        # was checked when the view was made); the rest takes the general path.
        prefix = self._prefix.get(scope) if type(scope) is str and collection is None else None
        if prefix is None or type(key) is not str or not key or not key.isascii():
            return self._get(key, scope, collection)
        if (
            time.monotonic() >= self._perms_until
            or self._generation[0] != self._perms_gen
            or self._perms is None
        ):
            self._load_permissions()
        if scope not in self._reads:
            raise self._deny("get", self._own[scope], key)
        moment = time.time()
        item = self.store.get_at(prefix, key, self._refresh_ttl, moment)
        self._audit.read(
            (
                moment,
                self.agent,
                self.user,
                self.run,
                "get",
                self._label[scope],
                key,
                "allowed",
                None,
            )
        )
        return item

    def _get(self, key: Any, scope: Any, collection: str | None) -> Item | None:
        where, ns = self._target(scope, collection, key)
        if not self._allows(None, where, write=False):
            raise self._deny("get", where, key)
        item = self.store.get(ns, key, refresh_ttl=self._refresh_ttl)
        self._audit.read(self._row("get", str(where), key))
        return item

    def recall(self, key: str, *, collection: str | None = None) -> Item | None:
        """``key`` from the most specific scope the view may read that has it: run, agent,
        user, app. Scopes it may not read are skipped silently."""
        if not isinstance(key, str):
            raise InvalidConfigError(f"key must be a string, got {key!r}")
        if collection is not None:
            check_id("collection", collection)
        self.permissions()
        kinds = [k for k in KINDS if k in self._reads]
        if collection is None:
            prefixes = [self._prefix[k] for k in kinds]
        else:
            prefixes = [ns_to_prefix(namespace(self._own[k], collection)) for k in kinds]
        check_key(key)
        moment = time.time()
        found = self.store.get_first_at(prefixes, key, self._refresh_ttl, moment)
        where = self._label[kinds[found[0]]] if found else " ".join(self._label[k] for k in kinds)
        self._audit.read(
            (moment, self.agent, self.user, self.run, "recall", where, key, "allowed", None)
        )
        return found[1] if found else None

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
        """Items of ``scope`` (default: every scope the view may read) matching ``query``
        and ``filter``. With a query, merged by score; without, newest first.

        Every scope the view may read means its own (run, agent, user, app) and every other
        scope a live grant lets the agent read: ``("agent", "support")``, ``("run", "r6")``,
        and for a wildcard grant like ``("run", "*")`` every run in the store."""
        return self._search("search", query, scope, collection, filter, limit, offset)

    def list(
        self,
        scope: Any = None,
        *,
        collection: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> builtins.list[SearchItem]:
        """The items of ``scope`` (default: every scope the view may read, as in `search`),
        newest first."""
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
            if not self._allows(None, explicit, write=False):
                raise self._deny(action, explicit, query)
            targets = [(str(explicit), namespace(explicit, collection))]
        else:
            targets = self._search_targets(collection)
        where = " ".join(label for label, _ in targets)
        if len(targets) == 1:  # the store's own order (hybrid fusion included) and paging
            page = self.store.batch([SearchOp(targets[0][1], filter, limit, offset, query)])[0]
            found = cast(builtins.list[SearchItem], page)
            self._audit.read(self._row(action, where, query, detail=f"{len(found)} found"))
            return found
        ops = [SearchOp(ns, filter, limit + offset, 0, query) for _, ns in targets]
        results = self.store.batch(ops) if ops else []
        merged: builtins.list[SearchItem] = [
            item
            for items in results
            for item in cast(builtins.list[SearchItem], items)  # most specific scope first
        ]
        # Across scopes, by the store's score (stable: ties keep the most specific scope first).
        if query:
            merged.sort(key=lambda it: -it.score if it.score is not None else float("inf"))
        else:
            merged.sort(key=lambda it: it.updated_at, reverse=True)
        self._audit.read(self._row(action, where, query, detail=f"{len(merged)} found"))
        return merged[offset : offset + limit]

    def _search_targets(self, collection: str | None) -> builtins.list[tuple[str, Any]]:
        """(audit label, namespace prefix) of every scope the view may read now: its own,
        most specific first, then the other granted ones. A wildcard grant of a kind is one
        prefix over all its ids (with a collection: the namespaces holding it)."""
        perms = self.permissions()
        wild = [
            kind
            for kind in KINDS
            if perms.rights.get((kind, "*"), (False, False))[0] and kind != "app"
        ]
        targets: builtins.list[tuple[str, Any]] = []
        seen: set[tuple[str, str]] = set()
        for kind in KINDS:
            if kind in self._own and kind in self._reads and kind not in wild:
                where = self._own[kind]
                seen.add((kind, where.id if where.id is not None else "default"))
                targets.append((self._label[kind], namespace(where, collection)))
        granted = sorted(
            (KINDS.index(kind), ident)  # type: ignore[arg-type]
            for (kind, ident), (read, _) in perms.rights.items()
            if read
            and ident != "*"
            and kind in _KIND_NAMES
            and kind not in wild
            and (kind, ident) not in seen
        )
        for rank, ident in granted:
            where = Scope(KINDS[rank], None if KINDS[rank] == "app" else ident)
            targets.append((str(where), namespace(where, collection)))
        for kind in wild:
            if collection is None:
                targets.append((f"{kind}:*", (ROOT, kind)))
                continue
            found = self.store.batch(
                [
                    ListNamespacesOp(
                        (MatchCondition("prefix", (ROOT, kind, "*", collection)),),
                        max_depth=4,
                        limit=100_000,
                    )
                ]
            )[0]
            targets += [(f"{kind}:{ns[2]}", ns) for ns in cast(builtins.list[Any], found)]
        return targets

    def _target(self, scope: Any, collection: str | None, key: Any) -> tuple[Scope, Any]:
        if not isinstance(key, str) or not key:
            raise InvalidConfigError(f"key must be a non-empty string, got {key!r}")
        where = self.scope(scope)
        return where, namespace(where, collection)

    # -- async twins: the same code on the database's worker thread ------------------------
    # (a remote embedder awaited first, so its round trips hold up no other async call)

    async def aremember(
        self, key: str, value: dict[str, Any], *, index: Any = None, **kwargs: Any
    ) -> Item:
        ahead = [(value, index)] if isinstance(value, dict) else []
        async with self.store.embedding_ahead(ahead):
            return await self.db.run(self.remember, key, value, index=index, **kwargs)

    async def aforget(self, *args: Any, **kwargs: Any) -> None:
        return await self.db.run(self.forget, *args, **kwargs)

    async def aget(self, *args: Any, **kwargs: Any) -> Item | None:
        return await self.db.run(self.get, *args, **kwargs)

    async def arecall(self, *args: Any, **kwargs: Any) -> Item | None:
        return await self.db.run(self.recall, *args, **kwargs)

    async def asearch(self, query: str | None = None, **kwargs: Any) -> builtins.list[SearchItem]:
        queries = [query] if isinstance(query, str) else []
        async with self.store.embedding_ahead(queries=queries):
            return await self.db.run(self.search, query, **kwargs)

    async def alist(self, *args: Any, **kwargs: Any) -> builtins.list[SearchItem]:
        return await self.db.run(self.list, *args, **kwargs)

    def __repr__(self) -> str:
        return f"AgentView(agent={self.agent!r}, user={self.user!r}, run={self.run!r})"


_WRITES = frozenset({"remember", "forget", "assert_fact"})
