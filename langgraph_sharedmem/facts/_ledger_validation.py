"""The ledger's validation side: quarantine rules, validators, lineage, pending claims, the
validation log and idempotent decisions. Mixed into `FactLedger`; docs/validation.md."""

from __future__ import annotations

import builtins
import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.values import Scope, canonical_json, check_name, check_row_id
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import _core, _ops, _quarantine
from langgraph_sharedmem.facts._model import (
    Claim,
    ClaimRecord,
    Fact,
    FactChange,
    Lineage,
    ValidationDecision,
    ValidationEntry,
)
from langgraph_sharedmem.facts._values import Status

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from langgraph_sharedmem.core.sqlite import Database
    from langgraph_sharedmem.facts._policies import PolicyTable
    from langgraph_sharedmem.facts._quarantine import Cascade, QuarantineRules

DecisionKind = Literal["verified", "rejected", "edit"]
_DECISIONS: Final = frozenset({"verified", "rejected", "edit"})
_OUTCOMES: Final = frozenset({"approve", "reject", "abstain", "review", "error"})
_MISSING: Final = object()


def _claim_ids(derived_from: Any) -> list[int]:
    if isinstance(derived_from, (str, bytes, Mapping)) or not isinstance(derived_from, Sequence):
        raise InvalidConfigError(
            f"derived_from must be a list of claim ids, Facts or Claims, got {derived_from!r}"
        )
    out = []
    for item in derived_from:
        cid = (
            item.claim_id
            if isinstance(item, Fact)
            else item.id
            if isinstance(item, Claim)
            else item
        )
        if isinstance(cid, bool) or not isinstance(cid, int) or cid < 1:
            raise InvalidConfigError(
                f"derived_from items must be claim ids (positive ints), Facts or Claims, "
                f"got {item!r}"
            )
        out.append(cid)
    return out


def _optional_name(what: str, value: Any) -> str | None:
    return None if value is None else check_name(what, value)


class LedgerValidation:
    """Validation methods of `FactLedger` (quarantine, validators, lineage, decisions)."""

    if TYPE_CHECKING:
        db: Database
        policies: PolicyTable
        quarantine_rules: QuarantineRules
        cascade: Cascade
        matcher: Any

        def setup(self) -> None: ...

        def _write_one(self) -> AbstractContextManager[Any]: ...

    # -- quarantine rules ------------------------------------------------------------------

    def set_quarantine(
        self,
        quarantine: bool,
        *,
        scope: Any = None,
        agent: str | None = None,
        attribute: str | None = None,
    ) -> None:
        """Quarantine (True) or trust (False) writes that do not name a status, for a scope,
        an agent, an attribute or any combination; the most specific rule wins (more
        selectors first; between equally many, attribute > agent > scope). No selector sets
        the rule for every write. Like policies, rules live in the process.

        ``set_quarantine(False, agent="system")`` lets a trusted agent write verified facts
        directly, even through its view.
        """
        if not isinstance(quarantine, bool):
            raise InvalidConfigError(f"quarantine must be a bool, got {quarantine!r}")
        self.quarantine_rules.set(
            quarantine,
            None if scope is None else Scope.of(scope).key,
            _optional_name("agent", agent),
            _optional_name("attribute", attribute),
        )

    def initial_status(self, scope: Any, author: str, attribute: str, *, via_agent: bool) -> Status:
        """The status a write without ``status=`` gets: ``"quarantined"`` or ``"verified"``.
        ``via_agent``: written by an agent through its view (quarantined unless trusted)."""
        quarantined = self.quarantine_rules.lookup(
            Scope.of(scope).key,
            check_name("author", author),
            check_name("attribute", attribute),
            via_agent=via_agent,
        )
        return "quarantined" if quarantined else "verified"

    # -- validators (who may read quarantined claims) --------------------------------------

    def add_validator(self, agent: str, *, by: str | None = None) -> None:
        """Let ``agent`` read every quarantined claim through its view (a validator)."""
        self._set_validator(agent, by, add=True)

    def remove_validator(self, agent: str, *, by: str | None = None) -> None:
        """Take back `add_validator` (a no-op if ``agent`` was not one)."""
        self._set_validator(agent, by, add=False)

    def _set_validator(self, agent: str, by: str | None, *, add: bool) -> None:
        check_name("agent", agent)
        by = _optional_name("by", by)
        self.setup()
        with self.db.write() as conn:
            if add:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO fact_validators (agent, added_by, added_at) "
                    "VALUES (?, ?, ?)",
                    (agent, by, _core.now()),
                )
            else:
                cur = conn.execute("DELETE FROM fact_validators WHERE agent = ?", (agent,))
            if cur.rowcount:
                changelog.append(
                    conn,
                    kind="validator",
                    op="add" if add else "remove",
                    key=agent,
                    scope=None,
                    author=by,
                    data={"agent": agent},
                )

    def validators(self) -> builtins.list[str]:
        """The agents that may read quarantined claims."""
        self.setup()
        with self.db.read() as conn:
            return _quarantine.validators(conn)

    def is_validator(self, agent: str) -> bool:
        check_name("agent", agent)
        self.setup()
        with self.db.read() as conn:
            return _quarantine.is_validator(conn, agent)

    def _visible_pending(self, conn: sqlite3.Connection, fact_id: int, viewer: str) -> Claim | None:
        row = conn.execute(
            _quarantine.VISIBLE_PENDING, {"fact": fact_id, "viewer": viewer}
        ).fetchone()
        return None if row is None else _core.load_claims(conn, [row])[0]

    def _with_pending(
        self,
        conn: sqlite3.Connection,
        facts: builtins.list[Fact],
        scope: Scope,
        subject: str | None,
        viewer: str,
    ) -> builtins.list[Fact]:
        sql, params = _quarantine.visible_pending_sql(
            scope, subject, viewer, _quarantine.is_validator(conn, viewer)
        )
        rows = conn.execute(sql, params).fetchall()
        if not rows:
            return facts
        n = len(_core.FactRow.__dataclass_fields__)
        newest = {r[0]: r for r in rows}  # ordered by last_seq: the newest claim per fact wins
        claims = _core.load_claims(conn, [r[n:] for r in newest.values()])
        by_id = {f.id: f for f in facts}
        for row, claim in zip(newest.values(), claims, strict=True):
            by_id[row[0]] = _core.make_fact(_core.FactRow(*row[:n]), claim)
        return sorted(by_id.values(), key=lambda f: (f.subject, f.attribute))

    # -- lineage and pending claims --------------------------------------------------------

    def lineage(self, claim_id: int) -> Lineage:
        """What claim ``claim_id`` was derived from, and the claims derived from it."""
        check_row_id("claim_id", claim_id)
        self.setup()
        with self.db.read() as conn:
            return _quarantine.lineage(conn, claim_id)

    def pending(
        self,
        *,
        run: str | None = None,
        scopes: Sequence[Any] | None = None,
        claim_ids: Sequence[int] | None = None,
    ) -> builtins.list[ClaimRecord]:
        """Quarantined claims waiting for validation, oldest assertion first: of one ``run``
        (claims asserted with ``run=``, e.g. by a view of that run), in ``scopes``, or all."""
        run = _optional_name("run", run)
        scope_list = None if scopes is None else [Scope.of(s) for s in scopes]
        ids = None if claim_ids is None else [check_row_id("claim_id", c) for c in claim_ids]
        self.setup()
        with self.db.read() as conn:
            return _quarantine.pending(conn, run, scope_list, ids)

    def claim_records(self, claim_ids: Sequence[int]) -> builtins.list[ClaimRecord]:
        """The claims ``claim_ids`` (any status) with their facts' keys and versions."""
        ids = [check_row_id("claim_id", c) for c in claim_ids]
        self.setup()
        with self.db.read() as conn:
            return _quarantine.pending(conn, None, None, ids, any_status=True)

    def dispute(self, claim_id: int, *, by: str, reason: str) -> int | None:
        """Record that quarantined claim ``claim_id`` contradicts its fact's verified value:
        a disagreement between the two, held open (no policy settles it) until a decision
        verifies or rejects the claim. Returns its id; None if nothing is verified or the
        claim already is in the fact's open disagreement (so it is recorded once)."""
        check_row_id("claim_id", claim_id)
        check_name("by", by)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidConfigError(f"reason must be a non-empty string, got {reason!r}")
        self.setup()
        with self.db.write() as conn:
            return _ops.dispute(conn, claim_id, by=by, reason=reason)

    # -- validation log --------------------------------------------------------------------

    def log_validation(self, entries: Sequence[Mapping[str, Any]]) -> int:
        """Record validator results (dicts with ``node``, ``claim_id``, ``fact_version``,
        ``validator``, ``outcome``, ``reason`` and optional ``run``, ``thread``,
        ``checkpoint``); returns how many. Used by validation nodes."""
        rows = [_log_row(e) for e in entries]
        if not rows:
            return 0
        self.setup()
        at = _core.now()
        with self.db.write() as conn:
            conn.executemany(_quarantine.INSERT_LOG, [{**r, "now": at} for r in rows])
        return len(rows)

    def validation_log(
        self,
        *,
        run: str | None = None,
        claim_id: int | None = None,
        outcome: str | None = None,
        validator: str | None = None,
    ) -> builtins.list[ValidationEntry]:
        """Every validator result recorded by validation nodes, oldest first (errors of
        validators that raised, timed out or answered garbage have ``outcome="error"``)."""
        if outcome is not None and outcome not in _OUTCOMES:
            raise InvalidConfigError(f"outcome must be one of {sorted(_OUTCOMES)}, got {outcome!r}")
        if claim_id is not None:
            check_row_id("claim_id", claim_id)
        self.setup()
        with self.db.read() as conn:
            return _quarantine.log_entries(
                conn, _optional_name("run", run), claim_id, outcome, validator
            )

    # -- decisions -------------------------------------------------------------------------

    def apply_decision(
        self,
        claim_id: int,
        decision: DecisionKind,
        *,
        by: str,
        reason: str,
        expected_version: int,
        value: Any = _MISSING,
        verify_edit: bool = True,
        run: str | None = None,
        thread: str | None = None,
        checkpoint_id: str | None = None,
        node: str | None = None,
        cascade: Cascade | None = None,
    ) -> tuple[ValidationDecision, FactChange | None]:
        """Apply a validation decision once: ``"verified"``, ``"rejected"`` or ``"edit"``
        (``value`` replaces the claim: the claim is rejected, the value asserted by ``by``
        and verified if ``verify_edit``, else left quarantined).

        Keyed by ``claim_id`` and ``expected_version`` (the fact's version the decision was
        made on): a decision already on record is returned with change None and nothing is
        written, so a resumed or replayed node never applies it twice. A fact changed since
        raises `FactConflictError` and nothing is recorded.
        """
        check_row_id("claim_id", claim_id)
        if decision not in _DECISIONS:
            raise InvalidConfigError(
                f"decision must be one of {sorted(_DECISIONS)}, got {decision!r}"
            )
        check_name("by", by)
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidConfigError(f"reason must be a non-empty string, got {reason!r}")
        check_row_id("expected_version", expected_version)
        if (decision == "edit") == (value is _MISSING):
            raise InvalidConfigError("value= is needed by an edit, and only by an edit")
        value_text = None if value is _MISSING else canonical_json(value, what="value")
        cascade = self.cascade if cascade is None else _quarantine.check_cascade(cascade)
        meta = {
            "run": _optional_name("run", run),
            "thread": thread,
            "checkpoint": checkpoint_id,
            "node": node,
        }
        key = f"{claim_id}@{expected_version}"
        self.setup()
        # Verifying changes one fact; rejecting (an edit rejects too) may cascade to others.
        one_fact = decision == "verified"
        with self._write_one() if one_fact else self.db.write() as conn:
            # The fact's lock first: a second applier of the same decision waits, then
            # finds it on record.
            _core.locked_fact(conn, _core.claim_fact_id(conn, claim_id))
            done = _quarantine.decision(conn, key)
            if done is not None:
                return done, None
            conn.execute(
                _quarantine.INSERT_DECISION,
                {
                    "key": key,
                    "claim_id": claim_id,
                    "fact_version": expected_version,
                    "decision": decision,
                    "reason": reason,
                    "by": by,
                    "now": _core.now(),
                    **meta,
                },
            )
            change = self._decide(
                conn,
                claim_id,
                decision,
                by,
                reason,
                expected_version,
                value_text,
                verify_edit,
                meta["run"],
                cascade,
            )
            conn.execute(
                "UPDATE validation_decisions SET version_after = ? WHERE decision_key = ?",
                (change.version, key),
            )
            found = _quarantine.decision(conn, key)
            assert found is not None
            return found, change

    def _decide(
        self,
        conn: sqlite3.Connection,
        claim_id: int,
        decision: str,
        by: str,
        reason: str,
        expected_version: int,
        value_text: str | None,
        verify_edit: bool,
        run: str | None,
        cascade: Cascade,
    ) -> FactChange:
        def set_status(cid: int, status: Status, version: int | None) -> FactChange:
            return _ops.set_status(
                conn,
                cid,
                status,
                by=by,
                reason=reason,
                expected_version=version,
                policies=self.policies,
                cascade=cascade,
            )

        if decision != "edit":
            return set_status(claim_id, decision, expected_version)  # type: ignore[arg-type]
        assert value_text is not None
        set_status(claim_id, "rejected", expected_version)
        fact = _core.load_fact_by_id(conn, _core.claim_fact_id(conn, claim_id))
        key = _core.Key(Scope.from_key(fact.scope), fact.subject, fact.attribute)
        edited = _ops.assert_fact(
            conn,
            key,
            value=json.loads(value_text),
            value_text=value_text,
            author=by,
            source_text=canonical_json({"edit_of": claim_id}, what="source"),
            confidence=1.0,
            status="quarantined",
            reason=reason,
            expected_version=None,  # same transaction: nothing else moved it
            policy=self.policies.lookup(fact.scope, fact.attribute),
            # The validator's exact words: a matcher could fold them into a quarantined
            # claim in other words, which the verification below would then vouch for (I2).
            matcher=None,
            run=run or _claim_run(conn, claim_id),
        )
        if not verify_edit or edited.claim.status != "quarantined":
            return edited
        return set_status(edited.claim.id, "verified", edited.version)

    def decisions(
        self,
        *,
        run: str | None = None,
        claim_id: int | None = None,
        checkpoint_id: str | None = None,
    ) -> builtins.list[ValidationDecision]:
        """Decisions applied by validation nodes (or `apply_decision`), oldest first."""
        if claim_id is not None:
            check_row_id("claim_id", claim_id)
        self.setup()
        with self.db.read() as conn:
            return _quarantine.decisions(conn, _optional_name("run", run), claim_id, checkpoint_id)

    # -- async twins -----------------------------------------------------------------------

    async def aset_quarantine(self, *args: Any, **kwargs: Any) -> None:
        self.set_quarantine(*args, **kwargs)

    async def aadd_validator(self, *args: Any, **kwargs: Any) -> None:
        return await self.db.run(self.add_validator, *args, **kwargs)

    async def aremove_validator(self, *args: Any, **kwargs: Any) -> None:
        return await self.db.run(self.remove_validator, *args, **kwargs)

    async def avalidators(self) -> builtins.list[str]:
        return await self.db.run(self.validators)

    async def alineage(self, claim_id: int) -> Lineage:
        return await self.db.run(self.lineage, claim_id)

    async def apending(self, **kwargs: Any) -> builtins.list[ClaimRecord]:
        return await self.db.run(self.pending, **kwargs)

    async def aclaim_records(self, claim_ids: Sequence[int]) -> builtins.list[ClaimRecord]:
        return await self.db.run(self.claim_records, claim_ids)

    async def adispute(self, *args: Any, **kwargs: Any) -> int | None:
        return await self.db.run(self.dispute, *args, **kwargs)

    async def alog_validation(self, entries: Sequence[Mapping[str, Any]]) -> int:
        return await self.db.run(self.log_validation, entries)

    async def avalidation_log(self, **kwargs: Any) -> builtins.list[ValidationEntry]:
        return await self.db.run(self.validation_log, **kwargs)

    async def aapply_decision(
        self, *args: Any, **kwargs: Any
    ) -> tuple[ValidationDecision, FactChange | None]:
        return await self.db.run(self.apply_decision, *args, **kwargs)

    async def adecisions(self, **kwargs: Any) -> builtins.list[ValidationDecision]:
        return await self.db.run(self.decisions, **kwargs)


def _claim_run(conn: sqlite3.Connection, claim_id: int) -> str | None:
    row = conn.execute(
        "SELECT run_id FROM fact_claim_runs WHERE claim_id = ?", (claim_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def _log_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise InvalidConfigError(f"a validation log entry must be a dict, got {entry!r}")
    outcome = entry.get("outcome")
    if outcome not in _OUTCOMES:
        raise InvalidConfigError(f"outcome must be one of {sorted(_OUTCOMES)}, got {outcome!r}")
    for what in ("node", "validator"):
        if not isinstance(entry.get(what), str) or not entry[what]:
            raise InvalidConfigError(f"a validation log entry needs a non-empty {what!r}")
    reason = entry.get("reason")
    return {
        "run": entry.get("run"),
        "thread": entry.get("thread"),
        "checkpoint": entry.get("checkpoint"),
        "node": entry["node"],
        "claim_id": check_row_id("claim_id", entry.get("claim_id")),
        "fact_version": check_row_id("fact_version", entry.get("fact_version")),
        "validator": entry["validator"],
        "outcome": outcome,
        "reason": None if reason is None else str(reason),
    }
