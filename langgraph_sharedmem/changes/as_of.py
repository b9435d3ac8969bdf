"""Memory as of a moment: facts and run-scoped items as they were at a checkpoint's time.

    past = mem.as_of(config)                 # a checkpoint config (thread_id, checkpoint_id)
    past.fact("user:u1", "acct", "plan")     # the value readers saw then, not today's
    past.items("r7")                         # run r7's store items then
    mem.fork_run_memory("r7", "r7-fork", as_of=config)   # the fork's own run memory

What is reconstructable, and for how long:

* facts (any scope): from the ledger's history (`facts.queries.facts_as_of`) — every version
  of every fact is kept forever, so a fact as of any moment is exact (its verified value,
  version, claim author, the sources recorded by then);
* store items in run scopes (``("sharedmem", "run", <id>, ...)``): from the change log, whose
  run-scoped item rows carry the value written. Pruning keeps the newest row of each item, so
  run memory is exact for any moment from the prune horizon on; earlier moments raise
  `CursorExpiredError`;
* other store items (app, user, agent scopes) are not versioned: read them from the store.

Times compare the change's commit time with the checkpoint's ``ts`` (LangGraph writes it
after the step's writes), so ``as_of(config)`` includes exactly what the steps up to that
checkpoint wrote.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from langgraph.store.base import Item, PutOp

from langgraph_sharedmem.changes import _query
from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.core.part import pg_module
from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.core.values import Scope, check_id, namespace
from langgraph_sharedmem.errors import CursorExpiredError, InvalidConfigError
from langgraph_sharedmem.facts import Fact, FactLedger
from langgraph_sharedmem.facts.queries import facts_as_of

__all__ = ["MemoryAsOf", "fork_run_memory", "moment"]

# Every logged write of one run's items up to the moment, oldest first: one scan of the log
# (it has no index but its key: an index would cost every write), folded in `MemoryAsOf.items`.
_ITEM_ROWS_UNTIL = """
SELECT op, data, at FROM changes
WHERE kind = 'item' AND scope = :scope AND at <= :at
ORDER BY seq
"""


def _from_iso(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidConfigError(f"not an ISO 8601 time: {text!r}") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def moment(db: Database | Backend, when: Any) -> datetime:
    """The UTC moment ``when`` names: a checkpoint config (its ``ts``, via the
    checkpointer on ``db``), a `datetime`, an ISO 8601 string or epoch seconds."""
    if isinstance(when, datetime):
        if when.tzinfo is None:
            raise InvalidConfigError(f"{when!r} has no time zone; pass an aware datetime")
        return when.astimezone(UTC)
    if isinstance(when, str):
        return _from_iso(when).astimezone(UTC)
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        return datetime.fromtimestamp(float(when), UTC)
    if isinstance(when, dict) and "configurable" in when:
        from langgraph_sharedmem.checkpoint import SharedMemorySaver

        saver = SharedMemorySaver(db)
        found = saver.get_tuple(when)  # type: ignore[arg-type]
        if found is None:
            raise InvalidConfigError(f"no checkpoint matches {when['configurable']!r}")
        return _from_iso(found.checkpoint["ts"]).astimezone(UTC)
    raise InvalidConfigError(
        f"as_of takes a checkpoint config, a datetime, an ISO time or epoch seconds; got {when!r}"
    )


@dataclass(frozen=True)
class MemoryAsOf:
    """Read-only memory as of ``moment`` (made by ``mem.as_of(...)``)."""

    db: Database
    moment: datetime

    @classmethod
    def at(cls, db: Database | Backend, when: Any) -> MemoryAsOf:
        backend = getattr(db, "inner", db)  # a part's view of PostgreSQL: the backend itself
        # The change log may not exist yet (nothing written): create it, as its writers do.
        if backend.dialect == "sqlite":
            backend.migrate(changelog.MIGRATIONS)
        else:
            backend.migrate(pg_module("langgraph_sharedmem.core.changelog_pg").MIGRATIONS)
        return cls(_readable(backend), moment(backend, when))

    @classmethod
    def runs_on_postgres(cls) -> bool:
        """As-of reads run on PostgreSQL: they read the change log and the ledger, both
        there (the log's statements translated as the feed's are)."""
        return True

    @property
    def ts(self) -> str:
        """The moment as the ISO text the ledger stores (microseconds, UTC)."""
        return self.moment.isoformat(timespec="microseconds")

    # -- facts -----------------------------------------------------------------------------

    def facts(self, scope: Any, subject: str | None = None) -> builtins.list[Fact]:
        """The facts of ``scope`` (of one ``subject``) as readers saw them then: their
        verified value at that moment; facts with none then are left out."""
        with self.db.read() as conn:
            return facts_as_of(conn, Scope.of(scope), self.ts, subject)

    def fact(self, scope: Any, subject: str, attribute: str) -> Fact | None:
        """One fact as readers saw it then (None if it had no verified value)."""
        return next((f for f in self.facts(scope, subject) if f.attribute == attribute), None)

    # -- run-scoped items ------------------------------------------------------------------

    def items(self, run_id: str, collection: str | None = None) -> builtins.list[Item]:
        """The store items of run ``run_id`` (of one ``collection``) as they were then.

        `CursorExpiredError` if the moment is before the change log's prune horizon."""
        check_id("run id", run_id)
        at = self.moment.timestamp()
        scope_key = Scope.run(run_id).key
        with self.db.read() as conn:
            pruned, pruned_at = _query.horizon(conn)
            if pruned and at < pruned_at:
                raise CursorExpiredError(
                    f"run memory as of {self.ts} is gone: the change log was pruned up to "
                    f"{datetime.fromtimestamp(pruned_at, UTC).isoformat()}",
                    name=None,
                    cursor=0,
                    horizon=pruned,
                )
            rows = conn.execute(_ITEM_ROWS_UNTIL, {"scope": scope_key, "at": at}).fetchall()
        wanted = None if collection is None else namespace(Scope.run(run_id), collection)
        # (namespace, key) -> (value, created, updated); a delete removes the entry
        state: dict[tuple[tuple[str, ...], str], tuple[Any, float, float]] = {}
        for op, data, changed_at in rows:
            where = json.loads(data)
            ident = (tuple(where["namespace"]), where["key"])
            if op == "delete":
                state.pop(ident, None)
            else:
                created = state[ident][1] if ident in state else changed_at
                state[ident] = (where.get("value", {}), created, changed_at)
        out = []
        for (ns, key), (value, created, updated) in sorted(state.items()):
            if wanted is not None and ns != wanted:
                continue
            out.append(
                Item(
                    value=value,
                    key=key,
                    namespace=ns,
                    created_at=datetime.fromtimestamp(created, UTC),
                    updated_at=datetime.fromtimestamp(updated, UTC),
                )
            )
        return out

    def item(self, run_id: str, key: str, collection: str | None = None) -> Item | None:
        """One run item as it was then (None if it did not exist)."""
        ns = namespace(Scope.run(run_id), collection)
        return next(
            (i for i in self.items(run_id, collection) if i.key == key and i.namespace == ns),
            None,
        )


def _readable(db: Any) -> Any:
    """``db``, on PostgreSQL seen as the change feed sees it (`changes._query_pg`)."""
    if db.dialect == "sqlite":
        return db
    from langgraph_sharedmem.changes import _query_pg
    from langgraph_sharedmem.core.pg_compat import SerializedDatabase

    return SerializedDatabase(db, None, frozenset(), _query_pg.OVERRIDES)


def fork_run_memory(
    store: Any, ledger: FactLedger | None, from_run: str, to_run: str, *, as_of: Any
) -> int:
    """Give run ``to_run`` the run memory ``from_run`` had at ``as_of`` (a checkpoint config
    or a time): its store items under the same collections and keys, and its facts (each
    asserted by its original author, source ``{"forked_from": ...}``). Returns how many
    items and facts were copied. Items already in ``to_run`` that the snapshot lacks stay."""
    check_id("run id", from_run)
    check_id("run id", to_run)
    if from_run == to_run:
        raise InvalidConfigError("fork_run_memory needs two different runs")
    past = MemoryAsOf.at(store.db, as_of)
    items = past.items(from_run)
    facts = past.facts(Scope.run(from_run)) if ledger is not None else []
    prefix = len(namespace(Scope.run(from_run)))
    target = namespace(Scope.run(to_run))
    ops = [PutOp((*target, *i.namespace[prefix:]), i.key, i.value) for i in items]
    with store.db.write():  # one transaction: the fork has all of it or none
        if ops:
            store.batch(ops)
        for fact in facts:
            assert ledger is not None
            ledger.assert_fact(
                Scope.run(to_run),
                fact.subject,
                fact.attribute,
                fact.value,
                author=fact.author,
                source={"forked_from": from_run, "version": fact.version, "at": past.ts},
                confidence=fact.confidence,
            )
    return len(ops) + len(facts)
