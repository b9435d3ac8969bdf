"""Checks on what callers hand the ledger besides names and values (those are in
`core.values`): statuses, confidences, expected versions, and the hash of a canonical value.

Everything here is pure and raises `InvalidConfigError` naming the problem before anything is
written.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any, Final, Literal, get_args

from langgraph_sharedmem.errors import InvalidConfigError

Status = Literal["quarantined", "verified", "rejected", "superseded"]
STATUSES: Final = frozenset(get_args(Status))


def check_status(status: Any, *, allowed: frozenset[str] = STATUSES) -> Status:
    if status not in allowed:
        raise InvalidConfigError(f"unknown status {status!r}; expected one of {sorted(allowed)}")
    return status  # type: ignore[no-any-return]


def check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)):
        raise InvalidConfigError(f"confidence must be a number in [0, 1], got {confidence!r}")
    if not (math.isfinite(confidence) and 0.0 <= confidence <= 1.0):
        raise InvalidConfigError(f"confidence must be in [0, 1], got {confidence!r}")
    return float(confidence)


def check_version(version: Any, what: str = "expected_version") -> int | None:
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InvalidConfigError(
            f"{what} must be an int >= 0 (0: the fact must not exist yet), got {version!r}"
        )
    return version


def value_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
