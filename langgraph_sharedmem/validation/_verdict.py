"""Verdicts: what a validator says about one claim, and how loose answers become one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

Decision = Literal["approve", "reject", "abstain", "review"]
DECISIONS: Final = frozenset(get_args(Decision))


class GarbageVerdict(ValueError):
    """A validator answered something that is not a verdict: it counts as no verdict."""


@dataclass(frozen=True)
class Verdict:
    """``approve`` (the value holds), ``reject`` (it does not), ``abstain`` (no opinion) or
    ``review`` (a human must decide), with the reason given to the author and the log."""

    decision: Decision
    reason: str = ""

    def __post_init__(self) -> None:
        if self.decision not in DECISIONS:
            raise GarbageVerdict(
                f"verdict must be one of {sorted(DECISIONS)}, got {self.decision!r}"
            )
        if not isinstance(self.reason, str):
            raise GarbageVerdict(f"a verdict's reason must be a string, got {self.reason!r}")


def approve(reason: str = "") -> Verdict:
    return Verdict("approve", reason)


def reject(reason: str) -> Verdict:
    return Verdict("reject", reason)


def abstain(reason: str = "") -> Verdict:
    return Verdict("abstain", reason)


def review(reason: str) -> Verdict:
    return Verdict("review", reason)


def as_verdict(answer: Any, validator: str) -> Verdict:
    """A validator's answer as a `Verdict`: a Verdict; None (abstain); True/False; one of the
    decision words; ``(bool | word, reason)``; or ``{"verdict": ..., "reason": ...}``.
    Anything else raises `GarbageVerdict` (never an approval)."""
    if isinstance(answer, Verdict):
        return answer
    if answer is None:
        return Verdict("abstain", f"{validator} had no opinion")
    reason: Any = ""
    word: Any = answer
    if isinstance(answer, tuple) and len(answer) == 2:
        word, reason = answer
    elif isinstance(answer, Mapping):
        word = answer.get("verdict", answer.get("decision"))
        reason = answer.get("reason", "")
    if word is True:
        word = "approve"
    elif word is False:
        word = "reject"
        reason = reason or f"{validator} said no"
    if not isinstance(word, str) or word not in DECISIONS or not isinstance(reason, str):
        raise GarbageVerdict(f"{validator} answered {answer!r}, which is not a verdict")
    return Verdict(word, reason)  # type: ignore[arg-type]
