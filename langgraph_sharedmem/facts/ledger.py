"""`FactLedger`: facts shared by agents, with versions, sources, disagreements and history.

    from langgraph_sharedmem import SharedMemory, TrustRanking

    with SharedMemory.open("agents.db") as mem:
        facts = mem.facts
        facts.set_policy(TrustRanking({"fulfilment": 2, "support": 1}), attribute="status")
        facts.assert_fact(("user", "u1"), "order:42", "status", "processing",
                          author="fulfilment", source={"tool": "wms.lookup"})
        facts.get(("user", "u1"), "order:42", "status").value      # 'processing'

Every write is one ``BEGIN IMMEDIATE`` transaction: it checks its arguments first, and either
records exactly one new version of one fact or nothing. Async methods run the same code on the
database's worker thread. How statuses, versions and policies fit: ``docs/facts.md``.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final

from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.core.part import DatabasePart
from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.core.values import Scope, canonical_json, check_name, check_row_id
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import _core, _ops, _reads, _schema
from langgraph_sharedmem.facts._core import Key, Matcher
from langgraph_sharedmem.facts._ledger_validation import LedgerValidation, _claim_ids
from langgraph_sharedmem.facts._model import (
    Claim,
    Disagreement,
    DisagreementStatus,
    Fact,
    FactChange,
    FactVersion,
)
from langgraph_sharedmem.facts._policies import Policy, PolicyTable, Resolver, as_policy
from langgraph_sharedmem.facts._quarantine import Cascade, QuarantineRules, check_cascade
from langgraph_sharedmem.facts._similar import EmbeddingMatcher
from langgraph_sharedmem.facts._values import (
    STATUSES,
    Status,
    check_confidence,
    check_status,
    check_version,
)
from langgraph_sharedmem.store.embedding import embedding_ahead

__all__ = ["FactLedger"]

ScopeLike = Scope | Sequence[str] | str
PolicyLike = Policy | str | Mapping[str, float] | Resolver
_MISSING: Final = object()
_ASSERTABLE = frozenset({"verified", "quarantined"})
_SETTABLE = STATUSES - {"superseded"}
_DISAGREEMENT_STATUSES = frozenset({"open", "settled", "resolved"})


def _key(scope: ScopeLike, subject: str, attribute: str) -> Key:
    return Key(Scope.of(scope), check_name("subject", subject), check_name("attribute", attribute))


def _reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidConfigError(f"reason must be a non-empty string, got {reason!r}")
    return reason


class FactLedger(LedgerValidation, DatabasePart):
    """Facts (scope, subject, attribute → JSON value) that several agents assert and read.

    Args:
        conn: A path, ``sqlite:///`` URL, ``":memory:"``, a ``postgresql://`` URL, or an
            open backend (shared with the other parts of a `SharedMemory`; then it is not
            closed here). On PostgreSQL writers of one fact serialize as on SQLite,
            writers of different facts run in parallel (`facts._schema_pg`).
        policy: The default policy for disagreements: a `Policy`, ``"latest_wins"``,
            ``"first_wins"``, ``"require_validation"``, a dict agent → rank, or a resolver
            callable. `set_policy` overrides it per scope and/or attribute.
        matcher: Optional ``matcher(value, claims) -> Claim | None`` deciding that a value
            restates an existing claim though its JSON differs (the hook for embedding
            similarity); by default only identical canonical JSON is the same claim.
        quarantine: Whether a direct write (``status=None``, no `set_quarantine` rule
            matching) is quarantined. Writes of agents through views always are unless a rule
            trusts them. See docs/validation.md.
        cascade: What rejecting a claim does to the claims derived from it:
            ``"quarantine"`` (back to validation) or ``"reject"``.

    Example:
        >>> ledger = FactLedger(":memory:")
        >>> ledger.assert_fact("app", "acme", "plan", "pro", author="billing").version
        1
        >>> ledger.get("app", "acme", "plan").value
        'pro'
    """

    migrations = _schema.MIGRATIONS
    copy_tables = _schema.COPY_TABLES
    requires = (changelog.MIGRATIONS,)
    pg_schemas = ("langgraph_sharedmem.core.changelog_pg", "langgraph_sharedmem.facts._schema_pg")
    db: Any  # SQLite's `Database`, or PostgreSQL seen as SQLite (`_on_postgres`)

    def __init__(
        self,
        conn: str | os.PathLike[str] | Database | Backend,
        *,
        policy: PolicyLike = "latest_wins",
        matcher: Matcher | None = None,
        quarantine: bool = False,
        cascade: Cascade = "quarantine",
    ) -> None:
        if not isinstance(quarantine, bool):
            raise InvalidConfigError(f"quarantine must be a bool, got {quarantine!r}")
        self._open_database(conn)
        self.policies = PolicyTable(as_policy(policy))
        self.matcher = matcher
        self.quarantine_rules = QuarantineRules(quarantine)
        self.cascade: Cascade = check_cascade(cascade)

    def _on_postgres(self, db: Any) -> Any:
        """The ledger's SQLite logic on PostgreSQL (`facts._schema_pg`): a write of one fact
        locks that fact (`_write_one`); any other write holds the whole ledger, as
        ``BEGIN IMMEDIATE`` serializes every write on SQLite."""
        from langgraph_sharedmem.core.pg_compat import SerializedDatabase
        from langgraph_sharedmem.facts import _schema_pg

        return SerializedDatabase(
            db, _schema_pg.FACTS_LOCK, _schema_pg.ID_TABLES, _schema_pg.OVERRIDES, pipeline=True
        )

    def _write_one(self) -> AbstractContextManager[Any]:
        """The transaction of a write that changes one fact, found by key or by a claim or
        disagreement id (`_core.lock_fact`, `_core.locked_fact`). On PostgreSQL writers of
        different facts run in parallel and writers of one fact one at a time; on SQLite it
        is ``write()``."""
        keyed = getattr(self.db, "write_keyed", None)
        return self.db.write() if keyed is None else keyed()

    def set_policy(
        self, policy: PolicyLike, *, scope: ScopeLike | None = None, attribute: str | None = None
    ) -> Policy:
        """Settle disagreements over ``attribute`` and/or in ``scope`` with ``policy``.

        The most specific rule wins: (scope, attribute), attribute, scope, then the default
        (neither given). Every process writing these facts should set the same policies.
        """
        resolved = as_policy(policy)
        self.policies.set(
            resolved,
            None if scope is None else Scope.of(scope),
            None if attribute is None else check_name("attribute", attribute),
        )
        return resolved

    # -- writing ---------------------------------------------------------------------------

    def assert_fact(
        self,
        scope: ScopeLike,
        subject: str,
        attribute: str,
        value: Any,
        *,
        author: str,
        source: Any = None,
        confidence: float = 1.0,
        status: Status | None = None,
        reason: str | None = None,
        expected_version: int | None = None,
        derived_from: Sequence[int | Fact | Claim] = (),
        run: str | None = None,
    ) -> FactChange:
        """Assert that ``subject``'s ``attribute`` is ``value`` in ``scope``, as ``author``.

        With ``expected_version`` (0: the fact must not exist yet) the write is a
        compare-and-set and raises `FactConflictError` if the fact has changed since. A value
        already claimed adds a source to that claim; a different value from another author is
        a disagreement settled by the fact's policy. ``status="quarantined"`` submits the
        value for validation instead of making it readable; None lets the quarantine rules
        decide (`set_quarantine`). A quarantined value is never picked by a policy, whatever
        disagreement it joins: only a validation decision verifies it. ``derived_from``
        records the claims (ids, `Fact` or `Claim`) the value was derived from; ``run`` the
        run whose validation node checks it.
        """
        key = _key(scope, subject, attribute)
        check_name("author", author)
        if status is None:
            status = self.initial_status(key.scope, author, key.attribute, via_agent=False)
        check_status(status, allowed=_ASSERTABLE)
        parents = _claim_ids(derived_from)
        if run is not None:
            check_name("run", run)
        value_text = canonical_json(value, what="value")
        source_text = canonical_json(source, what="source")
        confidence = check_confidence(confidence)
        reason = None if reason is None else _reason(reason)
        expected_version = check_version(expected_version)
        policy = self.policies.lookup(key.scope.key, key.attribute)
        self.setup()
        canonical = json.loads(value_text)
        self._embed_before_lock(key, canonical)
        with self._write_one() as conn:
            return _ops.assert_fact(
                conn,
                key,
                value=canonical,
                value_text=value_text,
                author=author,
                source_text=source_text,
                confidence=confidence,
                status=status,
                reason=reason,
                expected_version=expected_version,
                policy=policy,
                matcher=self.matcher,
                run=run,
                derived_from=parents,
            )

    def resolve(
        self,
        disagreement_id: int,
        value: Any = _MISSING,
        *,
        claim_id: int | None = None,
        by: str,
        reason: str,
        expected_version: int | None = None,
    ) -> FactChange:
        """Settle a disagreement by hand: the claim ``claim_id`` or a new ``value`` wins.

        Works on open disagreements and re-decides settled ones; recorded in the history with
        ``by`` and ``reason``.
        """
        if (value is _MISSING) == (claim_id is None):
            raise InvalidConfigError("resolve needs exactly one of value= or claim_id=")
        check_row_id("disagreement_id", disagreement_id)
        if claim_id is not None:
            check_row_id("claim_id", claim_id)
        check_name("by", by)
        reason = _reason(reason)
        value_text = None if value is _MISSING else canonical_json(value, what="value")
        expected_version = check_version(expected_version)
        self.setup()
        with self._write_one() as conn:
            return _ops.resolve(
                conn,
                disagreement_id,
                claim_id=claim_id,
                value=None if value_text is None else json.loads(value_text),
                value_text=value_text,
                by=by,
                reason=reason,
                expected_version=expected_version,
                policies=self.policies,
                matcher=self.matcher,
            )

    def set_status(
        self,
        claim_id: int,
        status: Status,
        *,
        by: str,
        reason: str,
        expected_version: int | None = None,
        cascade: Cascade | None = None,
    ) -> FactChange:
        """Verify, reject or quarantine one claim by hand (a validation step's verdict).

        Verifying a claim of an open disagreement resolves it; rejecting or quarantining the
        verified claim leaves readers with nothing until another value is verified.
        Rejecting a claim pulls the claims derived from it (transitively) back into
        quarantine, or rejects them: ``cascade`` (default: the ledger's ``cascade``).
        ``superseded`` is not set by hand: updates give it.
        """
        check_row_id("claim_id", claim_id)
        check_status(status, allowed=_SETTABLE)
        check_name("by", by)
        reason = _reason(reason)
        expected_version = check_version(expected_version)
        cascade = self.cascade if cascade is None else check_cascade(cascade)
        self.setup()
        # Rejecting may walk the claims derived from it, in other facts: the whole ledger.
        with self.db.write() if status == "rejected" else self._write_one() as conn:
            return _ops.set_status(
                conn,
                claim_id,
                status,
                by=by,
                reason=reason,
                expected_version=expected_version,
                policies=self.policies,
                cascade=cascade,
            )

    # -- reading ---------------------------------------------------------------------------

    def get(
        self,
        scope: ScopeLike,
        subject: str,
        attribute: str,
        *,
        include_unverified: bool = False,
        viewer: str | None = None,
    ) -> Fact | None:
        """The fact's settled (verified) value, or None. ``include_unverified=True`` returns
        its newest claim whatever its status (quarantined, rejected...). With ``viewer``, the
        newest quarantined claim that agent authored (any, if it is a validator) comes
        first, marked ``status="quarantined"``."""
        key = _key(scope, subject, attribute)
        if viewer is not None:
            check_name("viewer", viewer)
        self.setup()
        with self.db.read() as conn:
            fact = _core.load_fact(conn, key)
            if fact is None:
                return None
            if viewer is not None and not include_unverified:
                pending = self._visible_pending(conn, fact.id, viewer)
                if pending is not None:
                    return _core.make_fact(fact, pending)
            return _core.view(conn, fact, include_unverified=include_unverified)

    def is_contested(self, scope: ScopeLike, subject: str, attribute: str) -> bool:
        """Whether an open disagreement holds the fact (waiting for `resolve`)."""
        key = _key(scope, subject, attribute)
        self.setup()
        with self.db.read() as conn:
            fact = _core.load_fact(conn, key)
        return fact is not None and fact.open_disagreement is not None

    def list(
        self,
        scope: ScopeLike,
        subject: str | None = None,
        *,
        include_unverified: bool = False,
        viewer: str | None = None,
    ) -> builtins.list[Fact]:
        """The facts of ``scope`` (of one ``subject`` if given), as `get` sees them."""
        scope = Scope.of(scope)
        if subject is not None:
            check_name("subject", subject)
        if viewer is not None:
            check_name("viewer", viewer)
        self.setup()
        with self.db.read() as conn:
            facts = _reads.list_facts(conn, scope, subject, include_unverified=include_unverified)
            if viewer is None or include_unverified:
                return facts
            return self._with_pending(conn, facts, scope, subject, viewer)

    def claims(self, scope: ScopeLike, subject: str, attribute: str) -> builtins.list[Claim]:
        """Every distinct value asserted for the fact, with status and sources, oldest first."""
        return self._claims(_key(scope, subject, attribute))

    def _claims(self, key: Key) -> builtins.list[Claim]:
        self.setup()
        with self.db.read() as conn:
            fact = _core.load_fact(conn, key)
            if fact is None:
                return []
            rows = conn.execute(_schema.SELECT_CLAIMS_OF_FACT, (fact.id,)).fetchall()
            return _core.load_claims(conn, rows)

    def _embed_before_lock(self, key: Key, value: Any) -> None:
        """Run an `EmbeddingMatcher` with a remote embedder once before the write lock: the
        call under it then finds every text it compares embedded (the matcher caches them),
        instead of holding every process's writes for network calls. The offline default
        embeds in microseconds and skips this read."""
        matcher = self.matcher
        if not isinstance(matcher, EmbeddingMatcher) or matcher.embeds_locally:
            return
        claims = self._claims(key)
        if claims:
            matcher(value, claims)

    def history(self, scope: ScopeLike, subject: str, attribute: str) -> builtins.list[FactVersion]:
        """Every version of the fact, oldest first: who changed what, when and why."""
        key = _key(scope, subject, attribute)
        self.setup()
        with self.db.read() as conn:
            return _reads.history(conn, key)

    def disagreements(
        self,
        scope: ScopeLike | None = None,
        subject: str | None = None,
        attribute: str | None = None,
        *,
        status: DisagreementStatus | None = "open",
    ) -> builtins.list[Disagreement]:
        """Disagreements, oldest first: ``status`` ``"open"`` (default), ``"settled"`` (by a
        policy), ``"resolved"`` (by hand) or None for all."""
        if status is not None and status not in _DISAGREEMENT_STATUSES:
            raise InvalidConfigError(
                f"unknown disagreement status {status!r}; expected one of "
                f"{sorted(_DISAGREEMENT_STATUSES)} or None"
            )
        scope_ = None if scope is None else Scope.of(scope)
        for what, name in (("subject", subject), ("attribute", attribute)):
            if name is not None:
                check_name(what, name)
        self.setup()
        with self.db.read() as conn:
            return _reads.disagreements(conn, scope_, subject, attribute, status)

    def disagreement(self, disagreement_id: int) -> Disagreement:
        """One disagreement with its claims; `InvalidConfigError` if there is none."""
        check_row_id("disagreement_id", disagreement_id)
        self.setup()
        with self.db.read() as conn:
            found = _reads.disagreement(conn, disagreement_id)
        if found is None:
            raise InvalidConfigError(f"no disagreement with id {disagreement_id!r}")
        return found

    # -- async: the same code on the database's worker thread ------------------------------

    async def asetup(self) -> None:
        await self.db.run(self.setup)

    async def aassert_fact(
        self, scope: ScopeLike, subject: str, attribute: str, value: Any, **kwargs: Any
    ) -> FactChange:
        """Async `assert_fact`. A remote matcher embedder is awaited here, before the write
        runs on the database's worker, so its round trips hold up no other async call."""
        matcher = self.matcher
        texts: builtins.list[str] = []
        if isinstance(matcher, EmbeddingMatcher) and not matcher.embeds_locally:
            claims = await self.db.run(self._claims, _key(scope, subject, attribute))
            texts = matcher.texts_to_embed(value, claims)
        async with embedding_ahead(getattr(matcher, "embeddings", None), texts):
            return await self.db.run(self.assert_fact, scope, subject, attribute, value, **kwargs)

    async def aresolve(self, *args: Any, **kwargs: Any) -> FactChange:
        """Async `resolve`."""
        return await self.db.run(self.resolve, *args, **kwargs)

    async def aset_status(self, *args: Any, **kwargs: Any) -> FactChange:
        """Async `set_status`."""
        return await self.db.run(self.set_status, *args, **kwargs)

    async def aget(self, *args: Any, **kwargs: Any) -> Fact | None:
        """Async `get`."""
        return await self.db.run(self.get, *args, **kwargs)

    async def ais_contested(self, *args: Any, **kwargs: Any) -> bool:
        """Async `is_contested`."""
        return await self.db.run(self.is_contested, *args, **kwargs)

    async def alist(self, *args: Any, **kwargs: Any) -> builtins.list[Fact]:
        """Async `list`."""
        return await self.db.run(self.list, *args, **kwargs)

    async def aclaims(self, *args: Any, **kwargs: Any) -> builtins.list[Claim]:
        """Async `claims`."""
        return await self.db.run(self.claims, *args, **kwargs)

    async def ahistory(self, *args: Any, **kwargs: Any) -> builtins.list[FactVersion]:
        """Async `history`."""
        return await self.db.run(self.history, *args, **kwargs)

    async def adisagreements(self, *args: Any, **kwargs: Any) -> builtins.list[Disagreement]:
        """Async `disagreements`."""
        return await self.db.run(self.disagreements, *args, **kwargs)

    async def adisagreement(self, disagreement_id: int) -> Disagreement:
        """Async `disagreement`."""
        return await self.db.run(self.disagreement, disagreement_id)

    def __repr__(self) -> str:
        return f"FactLedger({self.db.path!r})"
