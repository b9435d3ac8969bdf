"""The validation-checkpoint node: quarantined facts of this run in, decisions out.

One call of the node:

1. loads the claims of this run still in quarantine, and the validator results already
   logged for them in this run (a resumed or re-executed node reuses them instead of asking
   an LLM twice, so it asks the human the same question);
2. runs the validators that apply to each claim, concurrently, each under a timeout; an
   exception, a timeout or an answer that is not a verdict is an ``error``: never approval;
3. per claim: any reject -> rejected; else any error -> stays quarantined (fail closed);
   else any review (or no approval, by default) -> a human, if the node has one; else any
   approval -> verified; else it stays quarantined ("no verdict");
4. logs every result and applies the decisions through the ledger (change log, history),
   each keyed by claim and fact version so that nothing is applied twice;
5. asks the human with ``interrupt()`` and applies the answers on resume (an edited value that
   fails its schema goes back to quarantine);
6. returns ``{state_key: ValidationReport}`` for `validation_router`.

The decisions record the run, thread and checkpoint id they were made in; the report lists
every decision this node made from this checkpoint, so a step resumed after an interrupt or
re-executed after a crash reports the same outcome without deciding again. Replaying from an
earlier checkpoint does not rewind the ledger (shared memory, not thread state): the replayed
step finds those claims decided, decides nothing twice and reports what is left.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import threading
from collections.abc import Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import FactConflictError, InvalidConfigError
from langgraph_sharedmem.facts import ClaimRecord, FactLedger, ValidationDecision
from langgraph_sharedmem.validation._human import HumanReview, read_answers, review_request
from langgraph_sharedmem.validation._report import build_report
from langgraph_sharedmem.validation._validators import (
    SchemaCheck,
    ValidationContext,
    Validator,
    is_async,
)
from langgraph_sharedmem.validation._verdict import as_verdict

T = TypeVar("T")
_POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="sharedmem-validator")
OnError = Literal["continue", "stop"]


@dataclass
class _Where:
    run: str | None
    thread: str | None
    checkpoint: str | None


@dataclass
class _Outcome:
    """What the validators said about one claim."""

    claim: ClaimRecord
    results: list[tuple[str, str, str]] = field(default_factory=list)  # validator, outcome, why
    fresh: list[tuple[str, str, str]] = field(default_factory=list)  # not yet logged

    def reasons(self, *outcomes: str) -> list[str]:
        return [f"{v}: {why}" for v, o, why in self.results if o in outcomes and why]

    def has(self, outcome: str) -> bool:
        return any(o == outcome for _, o, _ in self.results)


class ValidationNode:
    """A validation checkpoint; see `validation_node`."""

    def __init__(
        self,
        ledger: FactLedger,
        validators: Sequence[Validator],
        *,
        human: HumanReview | None,
        timeout: float,
        on_error: OnError,
        name: str,
        state_key: str,
        scopes: Sequence[Scope] | None,
        all_runs: bool,
        require_approval: bool,
        schemas: Mapping[str, SchemaCheck],
    ) -> None:
        self.ledger, self.validators, self.human = ledger, list(validators), human
        self.timeout, self.on_error, self.name = timeout, on_error, name
        self.state_key, self.scopes, self.all_runs = state_key, scopes, all_runs
        self.require_approval, self.schemas = require_approval, schemas
        self.by = f"validation:{name}"

    # -- the node ------------------------------------------------------------------------

    def invoke(self, state: Any, config: RunnableConfig) -> dict[str, Any]:
        where = self._where(state, config)
        claims, memo = self._load(where)
        outcomes = _run_sync(self._evaluate(claims, memo, where))
        review, made = self._settle(where, outcomes)
        if review and self.human is not None:
            answer = interrupt(self._request(where, review, outcomes))
            made += self._answer(where, review, answer, outcomes)
        return {self.state_key: build_report(self, where, outcomes, made, review)}

    async def ainvoke(self, state: Any, config: RunnableConfig) -> dict[str, Any]:
        where = self._where(state, config)
        run = self.ledger.db.run
        claims, memo = await run(self._load, where)
        outcomes = await self._evaluate(claims, memo, where)
        review, made = await run(self._settle, where, outcomes)
        if review and self.human is not None:
            answer = interrupt(self._request(where, review, outcomes))
            made += await run(self._answer, where, review, answer, outcomes)
        return {self.state_key: await run(build_report, self, where, outcomes, made, review)}

    # -- steps ---------------------------------------------------------------------------

    def _where(self, state: Any, config: RunnableConfig) -> _Where:
        conf = (config or {}).get("configurable", {})
        run = conf.get("run_id")
        if run is None and isinstance(state, Mapping) and isinstance(state.get("run_id"), str):
            run = state["run_id"]
        run = run or conf.get("thread_id")
        try:
            from langgraph.runtime import get_runtime

            info = get_runtime().execution_info
            checkpoint = None if info is None else info.checkpoint_id
        except Exception:  # outside a graph run: no checkpoint to record
            checkpoint = None
        if run is None and not self.all_runs:
            raise InvalidConfigError(
                f"validation node {self.name!r} needs the run: pass configurable.run_id or "
                "thread_id (or build it with all_runs=True)"
            )
        return _Where(None if run is None else str(run), conf.get("thread_id"), checkpoint)

    def _load(self, where: _Where) -> tuple[list[ClaimRecord], dict[tuple[int, str], Any]]:
        claims = self.ledger.pending(run=None if self.all_runs else where.run, scopes=self.scopes)
        memo: dict[tuple[int, str], Any] = {}
        if claims and where.run is not None:
            since = {c.claim_id: c.since_version for c in claims}
            for entry in self.ledger.validation_log(run=where.run):
                if (
                    entry.node == self.name
                    and entry.claim_id in since
                    and entry.outcome != "error"
                    and entry.fact_version >= since[entry.claim_id]
                ):
                    memo[(entry.claim_id, entry.validator)] = (entry.outcome, entry.reason or "")
        return claims, memo

    async def _evaluate(
        self, claims: Sequence[ClaimRecord], memo: Mapping[tuple[int, str], Any], where: _Where
    ) -> dict[int, _Outcome]:
        ctx = ValidationContext(self.ledger, self.name, where.run)
        outcomes = {c.claim_id: _Outcome(c) for c in claims}
        jobs = []
        for claim in claims:
            for validator in self.validators:
                if not validator.applies(claim):
                    continue
                known = memo.get((claim.claim_id, validator.name))
                if known is not None:
                    outcomes[claim.claim_id].results.append((validator.name, *known))
                else:
                    jobs.append((claim, validator))
        answers = await asyncio.gather(*(self._one(c, v, ctx) for c, v in jobs))
        for (claim, validator), (outcome, why) in zip(jobs, answers, strict=True):
            row = (validator.name, outcome, why)
            outcomes[claim.claim_id].results.append(row)
            outcomes[claim.claim_id].fresh.append(row)
        return outcomes

    async def _one(
        self, claim: ClaimRecord, validator: Validator, ctx: ValidationContext
    ) -> tuple[str, str]:
        timeout = getattr(validator, "timeout", None) or self.timeout
        try:
            if is_async(validator):
                answer = await asyncio.wait_for(validator.check(claim, ctx), timeout)
            elif getattr(validator, "inline", False):
                answer = validator.check(claim, ctx)
            else:
                # Our own pool, not the loop's: asyncio.run would wait for a validator that
                # timed out to finish before returning (a thread cannot be cancelled).
                call = functools.partial(
                    contextvars.copy_context().run, validator.check, claim, ctx
                )
                answer = await asyncio.wait_for(
                    asyncio.get_running_loop().run_in_executor(_POOL, call), timeout
                )
                if asyncio.iscoroutine(answer):  # a sync-looking callable that was async
                    answer = await asyncio.wait_for(answer, timeout)
            verdict = as_verdict(answer, validator.name)
        except TimeoutError:
            return "error", f"timed out after {timeout}s"
        except Exception as exc:  # fail closed: a broken validator never approves
            return "error", f"{type(exc).__name__}: {exc}"
        return verdict.decision, verdict.reason

    def _plan(self, outcome: _Outcome) -> str:
        """``rejected``, ``verified``, ``review`` or ``pending`` (errors / no verdict)."""
        if outcome.has("reject"):
            return "rejected"
        if outcome.has("error"):
            return "pending"
        human = self.human
        if outcome.has("review"):
            return "review"
        approved = outcome.has("approve")
        if human is not None and (
            human.when == "always" or (human.when == "unsure" and not approved)
        ):
            return "review"
        if approved or not self.require_approval:
            return "verified"
        return "pending"

    def _settle(
        self, where: _Where, outcomes: Mapping[int, _Outcome]
    ) -> tuple[list[int], list[ValidationDecision]]:
        """Log the new results, apply the automatic decisions; the claims for a human.

        One write transaction for the whole batch (each decision a savepoint in it): with a
        commit per claim the node cost 2.4x the naive loop of set_status calls, with one
        per batch (and schema checks run inline) about 1.5x (bench/bench_facts.py)."""
        with self.ledger.db.write():
            self.ledger.log_validation(
                [
                    self._log_row(where, o.claim, v, outcome, why)
                    for o in outcomes.values()
                    for v, outcome, why in o.fresh
                ]
            )
            plans = {cid: self._plan(o) for cid, o in outcomes.items()}
            made = []
            for cid, plan in plans.items():
                if plan in ("verified", "rejected"):
                    o = outcomes[cid]
                    reasons = o.reasons("reject") if plan == "rejected" else o.reasons("approve")
                    why = "; ".join(reasons) or f"{plan} by {self.name}"
                    decided = self._decide(where, cid, plan, why, self.by)
                    if decided is not None:
                        made.append(decided)
            return [cid for cid, plan in plans.items() if plan == "review"], made

    def _log_row(
        self, where: _Where, claim: ClaimRecord, validator: str, outcome: str, reason: str
    ) -> dict[str, Any]:
        """One validation-log entry of this node, for `FactLedger.log_validation`."""
        return {
            "run": where.run,
            "thread": where.thread,
            "checkpoint": where.checkpoint,
            "node": self.name,
            "claim_id": claim.claim_id,
            "fact_version": claim.fact_version,
            "validator": validator,
            "outcome": outcome,
            "reason": reason,
        }

    def _decide(
        self,
        where: _Where,
        claim_id: int,
        decision: Any,
        reason: str,
        by: str,
        value: Any = None,
        verify_edit: bool = True,
    ) -> ValidationDecision | None:
        # The version read now, not at load time: a dispute recorded by the cross-check
        # moved it. A fact changed by someone else in between is left for the next round.
        [record] = self.ledger.claim_records([claim_id])
        if record.claim.status != "quarantined":
            return None
        extra = {"value": value, "verify_edit": verify_edit} if decision == "edit" else {}
        try:
            found, _change = self.ledger.apply_decision(
                claim_id,
                decision,
                by=by,
                reason=reason,
                expected_version=record.fact_version,
                run=where.run,
                thread=where.thread,
                checkpoint_id=where.checkpoint,
                node=self.name,
                **extra,
            )
        except FactConflictError:
            return None
        return found

    def _request(
        self, where: _Where, review: Sequence[int], outcomes: Mapping[int, _Outcome]
    ) -> dict[str, Any]:
        claims = [outcomes[cid].claim for cid in review]
        reasons = {
            cid: [
                f"{v}: {o} ({why})" if why else f"{v}: {o}" for v, o, why in outcomes[cid].results
            ]
            for cid in review
        }
        return review_request(self.name, where.run, claims, reasons)

    def _answer(
        self,
        where: _Where,
        review: Sequence[int],
        answer: Any,
        outcomes: Mapping[int, _Outcome],
    ) -> list[ValidationDecision]:
        assert self.human is not None
        answers, errors = read_answers(answer, review, self.human.by)
        log: list[dict[str, Any]] = []
        made = []
        with self.ledger.db.write():  # one transaction for the batch, as in _settle
            for cid in review:
                claim = outcomes[cid].claim
                if cid in errors:
                    log.append(self._log_row(where, claim, "human", "error", errors[cid]))
                    outcomes[cid].results.append(("human", "error", errors[cid]))
                    continue
                a = answers[cid]
                if a.action == "edit":
                    schema = self.schemas.get(claim.attribute)
                    problem = None if schema is None else schema.parses(a.value)
                    decided = self._decide(
                        where, cid, "edit", a.reason, a.by, a.value, verify_edit=problem is None
                    )
                    if problem is not None:
                        reason = f"edited value {problem}"
                        log.append(self._log_row(where, claim, "human", "error", reason))
                else:
                    status = "verified" if a.action == "approve" else "rejected"
                    decided = self._decide(where, cid, status, a.reason, a.by)
                if decided is not None:
                    made.append(decided)
            self.ledger.log_validation(log)
        return made


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, also when this thread runs an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="validation-node")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
