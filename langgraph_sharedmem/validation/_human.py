"""A human reviewer through LangGraph's ``interrupt()``: what is asked, and reading the answer.

The node interrupts with a `review_request` payload; the application resumes the graph with
``Command(resume=answer)`` where ``answer`` is, per claim id (int or str keys),
``{"action": "approve" | "reject" | "edit", "reason": str, "value": <edited value>,
"by": <reviewer>}``, a list of such dicts each with ``"claim_id"``, or one action word for
every claim. An entry that does not parse is no verdict: the claim stays quarantined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import ClaimRecord

ACTIONS: Final = ("approve", "reject", "edit")
When = Literal["review", "unsure", "always"]
_WHEN: Final = ("review", "unsure", "always")
_MISSING: Final = object()


@dataclass(frozen=True)
class HumanReview:
    """When the node asks a human: ``"review"`` (a validator asked for it), ``"unsure"`` (also
    when no validator approved or rejected: the default) or ``"always"`` (every claim no
    validator rejected). ``by`` names the reviewer when the answer does not."""

    when: When = "unsure"
    by: str = "human"

    def __post_init__(self) -> None:
        if self.when not in _WHEN:
            raise InvalidConfigError(f"HumanReview.when must be one of {_WHEN}, got {self.when!r}")
        if not isinstance(self.by, str) or not self.by:
            raise InvalidConfigError(f"HumanReview.by must be a non-empty string, got {self.by!r}")


@dataclass(frozen=True)
class HumanAnswer:
    action: str
    reason: str
    by: str
    value: Any = _MISSING

    @property
    def has_value(self) -> bool:
        return self.value is not _MISSING


def review_request(
    node: str, run: str | None, claims: Sequence[ClaimRecord], reasons: Mapping[int, list[str]]
) -> dict[str, Any]:
    """The interrupt payload: the claims to decide, with what the validators said."""
    return {
        "type": "fact_review",
        "node": node,
        "run": run,
        "actions": list(ACTIONS),
        "facts": [
            {
                "claim_id": c.claim_id,
                "scope": str(c.scope),
                "subject": c.subject,
                "attribute": c.attribute,
                "value": c.value,
                "author": c.author,
                "derived_from": list(c.derived_from),
                "validators": reasons.get(c.claim_id, []),
            }
            for c in claims
        ],
    }


def read_answers(
    answer: Any, claim_ids: Sequence[int], default_by: str
) -> tuple[dict[int, HumanAnswer], dict[int, str]]:
    """The reviewer's answer per claim, and the claims whose answer did not parse (why)."""
    wanted = set(claim_ids)
    entries: dict[int, Any] = {}
    errors: dict[int, str] = {}
    if isinstance(answer, str):
        entries = dict.fromkeys(claim_ids, {"action": answer})
    elif isinstance(answer, Mapping):
        for key, entry in answer.items():
            cid = _claim_id(key)
            if cid in wanted:
                entries[cid] = entry
    elif isinstance(answer, Sequence):
        for entry in answer:
            cid = _claim_id(entry.get("claim_id")) if isinstance(entry, Mapping) else None
            if cid in wanted:
                entries[cid] = entry
    out: dict[int, HumanAnswer] = {}
    for cid in claim_ids:
        if cid not in entries:
            errors[cid] = f"the review answer {answer!r} has no decision for claim {cid}"
            continue
        entry = entries[cid]
        if isinstance(entry, str):
            entry = {"action": entry}
        parsed = _answer(entry, default_by)
        if isinstance(parsed, str):
            errors[cid] = parsed
        else:
            out[cid] = parsed
    return out, errors


def _claim_id(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    if isinstance(key, str) and key.isdigit():
        return int(key)
    return None


def _answer(entry: Any, default_by: str) -> HumanAnswer | str:
    if not isinstance(entry, Mapping):
        return f"review answer {entry!r} is not a dict"
    action = entry.get("action")
    if action not in ACTIONS:
        return f"review action must be one of {ACTIONS}, got {action!r}"
    reason = entry.get("reason") or f"human review: {action}"
    by = entry.get("by") or default_by
    if not isinstance(reason, str) or not isinstance(by, str):
        return f"review reason and by must be strings, got {reason!r}, {by!r}"
    if action == "edit":
        if "value" not in entry:
            return "an edit needs a value"
        return HumanAnswer(action, reason, by, entry["value"])
    if action == "reject" and not entry.get("reason"):
        return "a rejection needs a reason (it goes back to the author)"
    return HumanAnswer(action, reason, by)
