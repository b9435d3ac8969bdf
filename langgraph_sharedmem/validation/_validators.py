"""The validators a validation node applies: schemas, plain checks, the cross-check against
verified facts, an LLM judge. Each has a ``name`` (how the log calls it), ``applies(claim)``
and ``check(claim, ctx)`` returning (or awaiting to) anything `as_verdict` understands.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, TypeAdapter, ValidationError

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import ClaimRecord, Fact
from langgraph_sharedmem.validation._verdict import GarbageVerdict, Verdict, abstain

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from langgraph_sharedmem.facts import FactLedger


@dataclass(frozen=True)
class ValidationContext:
    """What a validator may use besides the claim: the ledger, and who is deciding where."""

    ledger: FactLedger
    node: str
    run: str | None

    @property
    def by(self) -> str:
        return f"validation:{self.node}"


@runtime_checkable
class Validator(Protocol):
    """Anything with a ``name``, ``applies(claim)`` and ``check(claim, ctx)``."""

    name: str

    def applies(self, claim: ClaimRecord) -> bool: ...

    def check(self, claim: ClaimRecord, ctx: ValidationContext) -> Any: ...


class _Selector:
    """Which claims a validator looks at: attributes (names) and a subject glob."""

    def __init__(self, attribute: str | Iterable[str] | None, subject: str | None) -> None:
        if attribute is None:
            self.attributes: frozenset[str] | None = None
        else:
            names = [attribute] if isinstance(attribute, str) else list(attribute)
            if not names or not all(isinstance(a, str) and a for a in names):
                raise InvalidConfigError(f"attribute must be a name or names, got {attribute!r}")
            self.attributes = frozenset(names)
        if subject is not None and (not isinstance(subject, str) or not subject):
            raise InvalidConfigError(f"subject must be a glob pattern, got {subject!r}")
        self.subject = subject

    def applies(self, claim: ClaimRecord) -> bool:
        if self.attributes is not None and claim.attribute not in self.attributes:
            return False
        return self.subject is None or fnmatchcase(claim.subject, self.subject)


class SchemaCheck(_Selector):
    """The value must parse as ``model`` (a pydantic model or any type pydantic validates):
    approve if it does, reject with pydantic's errors if not."""

    # Pure, fast CPU work that cannot hang: run in the loop, not through a thread hop
    # (the hop cost ~0.3 ms per claim, more than the check).
    inline = True

    def __init__(
        self,
        model: Any,
        *,
        attribute: str | Iterable[str] | None = None,
        subject: str | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(attribute, subject)
        try:
            self.adapter: TypeAdapter[Any] = TypeAdapter(model)
        except Exception as exc:
            raise InvalidConfigError(
                f"schema {model!r} is not a type pydantic can validate"
            ) from exc
        self.model = model
        self.name = name or f"schema:{getattr(model, '__name__', repr(model))}"

    def parses(self, value: Any) -> str | None:
        """None if ``value`` parses, else why not."""
        try:
            self.adapter.validate_python(value)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors()
            )
            return f"does not match {self.name}: {problems}"
        return None

    def check(self, claim: ClaimRecord, ctx: ValidationContext) -> Verdict:
        problem = self.parses(claim.value)
        return Verdict("reject", problem) if problem else Verdict("approve", f"matches {self.name}")


class Check(_Selector):
    """A plain callable ``fn(claim) -> verdict`` (sync or async) as a validator."""

    def __init__(
        self,
        fn: Callable[[ClaimRecord], Any],
        *,
        name: str | None = None,
        attribute: str | Iterable[str] | None = None,
        subject: str | None = None,
        timeout: float | None = None,
    ) -> None:
        if not callable(fn):
            raise InvalidConfigError(f"a check must be callable, got {fn!r}")
        super().__init__(attribute, subject)
        self.fn = fn
        self.name = name or getattr(fn, "__name__", None) or type(fn).__name__
        self.timeout = timeout
        self.is_async = inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
        )

    def check(self, claim: ClaimRecord, ctx: ValidationContext) -> Any:
        return self.fn(claim)


Related = Callable[[ClaimRecord, "FactLedger"], Sequence[Fact]]
Contradicts = Callable[[ClaimRecord, Fact], bool]


class CrossCheck:
    """The claim against verified facts. A different value than its own fact's verified one,
    verified by another agent, is a contradiction: the ledger records a disagreement between
    the two (`FactLedger.dispute`) and the verdict is ``on_contradiction`` (``"review"`` or
    ``"reject"``). ``related(claim, ledger)`` may name other verified facts and
    ``contradicts(claim, fact)`` judge them (recorded in the validation log). A claim derived
    from a rejected or superseded claim is rejected; from a quarantined one, it goes to
    review. No contradiction is no opinion: consistency is not evidence."""

    name = "cross_check"

    def __init__(
        self,
        *,
        related: Related | None = None,
        contradicts: Contradicts | None = None,
        on_contradiction: Literal["review", "reject"] = "review",
    ) -> None:
        if on_contradiction not in ("review", "reject"):
            raise InvalidConfigError(
                f"on_contradiction must be 'review' or 'reject', got {on_contradiction!r}"
            )
        if (related is None) != (contradicts is None):
            raise InvalidConfigError("related= and contradicts= go together")
        self.related, self.contradicts = related, contradicts
        self.on_contradiction = on_contradiction

    def applies(self, claim: ClaimRecord) -> bool:
        return True

    def check(self, claim: ClaimRecord, ctx: ValidationContext) -> Verdict:
        ledger = ctx.ledger
        problems: list[str] = []
        current = ledger.get(claim.scope, claim.subject, claim.attribute)
        if (
            current is not None
            and current.claim_id != claim.claim_id
            and not {s.author for s in current.sources} <= set(claim.claim.authors)
        ):
            why = (
                f"contradicts the verified value {current.value!r} of "
                f"{claim.subject}.{claim.attribute} (by {current.author})"
            )
            found = ledger.dispute(claim.claim_id, by=ctx.by, reason=why)
            problems.append(why if found is None else f"{why}; disagreement {found}")
        if claim.derived_from:  # a value is no better than what it was derived from
            parents = ledger.claim_records(claim.derived_from)
            refused = [p.claim_id for p in parents if p.claim.status in ("rejected", "superseded")]
            if refused:
                return Verdict("reject", f"derived from claims {refused}, which were withdrawn")
            waiting = [p.claim_id for p in parents if p.claim.status == "quarantined"]
            if waiting:
                problems.append(f"derived from claims {waiting}, which are not verified yet")
        if self.related is not None and self.contradicts is not None:
            for fact in self.related(claim, ledger):
                if fact.claim_id != claim.claim_id and self.contradicts(claim, fact):
                    problems.append(
                        f"contradicts verified {fact.subject}.{fact.attribute} = {fact.value!r}"
                    )
        if not problems:
            return abstain("consistent with verified facts")
        return Verdict(self.on_contradiction, "; ".join(problems))


_PROMPT = (
    "You check facts that AI agents wrote to a shared memory before other agents may rely on "
    "them. Judge whether the fact is plausible and consistent with its sources. Answer with "
    'JSON only: {"verdict": "approve" | "reject" | "abstain", "reason": "<one sentence>"}.'
)


class JudgeVerdict(BaseModel):
    """The structured answer an LLM judge must give."""

    verdict: Literal["approve", "reject", "abstain"]
    reason: str


class LLMJudge(_Selector):
    """Any chat model as a judge, asked for a `JudgeVerdict` through structured output (or,
    for models without it, JSON in its reply). Output that does not parse is no verdict."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        prompt: str | None = None,
        attribute: str | Iterable[str] | None = None,
        subject: str | None = None,
        name: str = "llm_judge",
        timeout: float | None = None,
    ) -> None:
        if not hasattr(model, "ainvoke"):
            raise InvalidConfigError(f"judge must be a chat model, got {model!r}")
        super().__init__(attribute, subject)
        self.model, self.prompt, self.name, self.timeout = model, prompt or _PROMPT, name, timeout
        try:
            self._structured: Any = model.with_structured_output(JudgeVerdict, include_raw=True)
        except NotImplementedError:
            self._structured = None

    def messages(self, claim: ClaimRecord) -> list[tuple[str, str]]:
        fact = {
            "scope": str(claim.scope),
            "subject": claim.subject,
            "attribute": claim.attribute,
            "value": claim.value,
            "author": claim.author,
            "sources": [s.source for s in claim.claim.sources],
            "derived_from_claims": list(claim.derived_from),
        }
        return [("system", self.prompt), ("human", json.dumps(fact, default=str))]

    async def check(self, claim: ClaimRecord, ctx: ValidationContext) -> Verdict:
        messages = self.messages(claim)
        if self._structured is not None:
            out = await self._structured.ainvoke(messages)
            parsed = out.get("parsed") if isinstance(out, dict) else None
            if not isinstance(parsed, JudgeVerdict):
                raise GarbageVerdict(f"judge output did not parse: {out.get('parsing_error')!r}")
        else:
            reply = await self.model.ainvoke(messages)
            parsed = _parse_reply(reply.content)
        return Verdict(parsed.verdict, parsed.reason)


_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def _parse_reply(content: Any) -> JudgeVerdict:
    text = content if isinstance(content, str) else json.dumps(content)
    try:
        return JudgeVerdict.model_validate_json(_FENCE.sub("", text.strip()))
    except ValidationError as exc:
        raise GarbageVerdict(f"judge reply is not a verdict: {text[:200]!r}") from exc


def is_async(validator: Any) -> bool:
    if isinstance(validator, Check):
        return validator.is_async
    return inspect.iscoroutinefunction(validator.check)


def as_validator(item: Any) -> Validator:
    """A validator from what a user passes: a validator object, or a plain callable."""
    if isinstance(item, Validator) and not inspect.isfunction(item):
        if not isinstance(item.name, str) or not item.name:
            raise InvalidConfigError(f"validator {item!r} needs a non-empty name")
        return item
    if callable(item):
        return Check(item)
    raise InvalidConfigError(
        f"a validator must be a Check/SchemaCheck/CrossCheck/LLMJudge or a callable, got {item!r}"
    )
