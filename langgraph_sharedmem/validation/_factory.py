"""`validation_node`: checks its arguments and builds a `ValidationNode`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableLambda

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import FactLedger
from langgraph_sharedmem.validation._human import HumanReview
from langgraph_sharedmem.validation._node import OnError, ValidationNode
from langgraph_sharedmem.validation._validators import (
    CrossCheck,
    LLMJudge,
    SchemaCheck,
    as_validator,
)


def validation_node(
    memory: Any,
    validators: Sequence[Any] = (),
    *,
    schemas: Mapping[str, Any] | None = None,
    cross_check: bool | CrossCheck = True,
    judge: Any = None,
    human: bool | HumanReview = False,
    scopes: Sequence[Any] | None = None,
    all_runs: bool = False,
    require_approval: bool = True,
    timeout: float = 30.0,
    on_error: OnError = "continue",
    name: str = "validation",
    state_key: str = "validation",
) -> RunnableLambda[Any, dict[str, Any]]:
    """A validation-checkpoint node for any `StateGraph` (sync and async).

    Args:
        memory: A `SharedMemory` (its ``facts``) or a `FactLedger`.
        validators: `Check`, `SchemaCheck`, `CrossCheck`, `LLMJudge`, any object with
            ``name``/``applies``/``check``, or plain callables ``fn(claim) -> verdict``.
        schemas: attribute -> pydantic model (or type): a `SchemaCheck` each; also what an
            edited value must parse as.
        cross_check: Check claims against verified facts (a contradiction is a
            disagreement record and goes to review); a `CrossCheck` to configure it.
        judge: A chat model (or `LLMJudge`) asked for a structured verdict on every claim.
        human: True or `HumanReview(when=...)`: ask a human through ``interrupt()``.
        scopes: Only claims of these scopes. all_runs: every run's claims, not only this
            run's (``configurable.run_id``, else ``thread_id``, or ``state["run_id"]``).
        require_approval: A claim no validator approved stays quarantined (default); False
            verifies claims no validator objected to.
        timeout: Seconds per validator call; a timeout is an error (fail closed).
        on_error: ``"continue"`` or ``"stop"`` (the report's ``stop``: the router ends).
        name: The node's name in logs and decisions. state_key: where the report goes.
    """
    ledger = getattr(memory, "facts", memory)
    if not isinstance(ledger, FactLedger):
        raise InvalidConfigError(
            f"validation_node needs a SharedMemory or a FactLedger, got {memory!r}"
        )
    if isinstance(validators, (str, bytes)) or not isinstance(validators, Sequence):
        raise InvalidConfigError(f"validators must be a list, got {validators!r}")
    checks = [as_validator(v) for v in validators]
    schema_checks: dict[str, SchemaCheck] = {}
    if schemas is not None:
        if not isinstance(schemas, Mapping):
            raise InvalidConfigError(f"schemas must map attribute -> model, got {schemas!r}")
        for attribute, model in schemas.items():
            schema_checks[attribute] = SchemaCheck(model, attribute=attribute)
    checks = list(schema_checks.values()) + checks
    if cross_check is True:
        checks.append(CrossCheck())
    elif isinstance(cross_check, CrossCheck):
        checks.append(cross_check)
    elif cross_check is not False:
        raise InvalidConfigError(f"cross_check must be a bool or a CrossCheck, got {cross_check!r}")
    if judge is not None:
        checks.append(judge if isinstance(judge, LLMJudge) else LLMJudge(judge))
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise InvalidConfigError(f"validator names must be unique (they key the log), got {names}")
    if human is True:
        reviewer: HumanReview | None = HumanReview()
    elif human is False or human is None:
        reviewer = None
    elif isinstance(human, HumanReview):
        reviewer = human
    else:
        raise InvalidConfigError(f"human must be a bool or a HumanReview, got {human!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidConfigError(f"timeout must be a number of seconds > 0, got {timeout!r}")
    if on_error not in ("continue", "stop"):
        raise InvalidConfigError(f"on_error must be 'continue' or 'stop', got {on_error!r}")
    for what, text in (("name", name), ("state_key", state_key)):
        if not isinstance(text, str) or not text:
            raise InvalidConfigError(f"{what} must be a non-empty string, got {text!r}")
    for what, flag in (("all_runs", all_runs), ("require_approval", require_approval)):
        if not isinstance(flag, bool):
            raise InvalidConfigError(f"{what} must be a bool, got {flag!r}")
    scope_list = None if scopes is None else [Scope.of(s) for s in scopes]
    node = ValidationNode(
        ledger,
        checks,
        human=reviewer,
        timeout=float(timeout),
        on_error=on_error,
        name=name,
        state_key=state_key,
        scopes=scope_list,
        all_runs=all_runs,
        require_approval=require_approval,
        schemas=schema_checks,
    )
    return RunnableLambda(node.invoke, afunc=node.ainvoke, name=name)
