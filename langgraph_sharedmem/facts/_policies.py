"""Policies that settle a disagreement: given the competing claims, pick one or hold them all.

A policy is pure: it sees the claims (values, authors, confidences, sources, assertion order)
and returns the winning claim, or None to hold the fact in quarantine until someone resolves it
by hand. It runs inside the write transaction, so a policy that raises writes nothing.

Policies live in the process, not in the database (a resolver is code), so every process
writing a fact should configure the same ones; each disagreement records the policy's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from langgraph_sharedmem.core.values import Scope, check_name
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts._model import Claim

Decision = Claim | int | None
Resolver = Callable[[Sequence[Claim]], Decision]


@runtime_checkable
class Policy(Protocol):
    """Settles a disagreement. ``decide`` returns a claim (or its id), or None to hold."""

    @property
    def name(self) -> str: ...

    def decide(self, claims: Sequence[Claim]) -> Decision: ...


@dataclass(frozen=True)
class LatestWins:
    """The most recently asserted value wins (the default: what a plain store would do)."""

    name: str = "latest_wins"

    def decide(self, claims: Sequence[Claim]) -> Decision:
        return max(claims, key=lambda c: c.last_seq)


@dataclass(frozen=True)
class FirstWins:
    """The value asserted first stands; later different values are rejected."""

    name: str = "first_wins"

    def decide(self, claims: Sequence[Claim]) -> Decision:
        return min(claims, key=lambda c: c.first_seq)


@dataclass(frozen=True)
class RequireValidation:
    """Nothing wins on its own: the fact is quarantined until `FactLedger.resolve`."""

    name: str = "require_validation"

    def decide(self, claims: Sequence[Claim]) -> Decision:
        return None


@dataclass(frozen=True)
class TrustRanking:
    """The claim backed by the highest-ranked author wins; ties go to ``tie_break``.

    ``ranks`` maps agent to rank (higher is more trusted); unlisted agents rank
    ``default_rank``. ``TrustRanking({"fulfilment": 2, "support": 1})``.
    """

    ranks: Mapping[str, float]
    tie_break: Policy = field(default_factory=LatestWins)
    default_rank: float = 0.0
    name: str = "trust_ranking"

    def __post_init__(self) -> None:
        if not isinstance(self.ranks, Mapping) or not self.ranks:
            raise InvalidConfigError(f"TrustRanking needs a dict agent -> rank, got {self.ranks!r}")
        for agent, rank in self.ranks.items():
            check_name("TrustRanking agent", agent)
            if isinstance(rank, bool) or not isinstance(rank, (int, float)):
                raise InvalidConfigError(f"rank of agent {agent!r} must be a number, got {rank!r}")
        object.__setattr__(self, "ranks", MappingProxyType(dict(self.ranks)))

    def rank(self, claim: Claim) -> float:
        return max(
            (self.ranks.get(a, self.default_rank) for a in claim.authors), default=self.default_rank
        )

    def decide(self, claims: Sequence[Claim]) -> Decision:
        top = max(self.rank(c) for c in claims)
        best = [c for c in claims if self.rank(c) == top]
        return best[0] if len(best) == 1 else self.tie_break.decide(best)


@dataclass(frozen=True)
class CustomResolver:
    """Wraps a callable ``fn(claims) -> Claim | claim id | None`` (None holds the fact)."""

    fn: Resolver
    name: str = "custom"

    def decide(self, claims: Sequence[Claim]) -> Decision:
        return self.fn(claims)


POLICY_NAMES: Mapping[str, Callable[[], Policy]] = {
    "latest_wins": LatestWins,
    "first_wins": FirstWins,
    "require_validation": RequireValidation,
}


def as_policy(policy: Policy | str | Mapping[str, float] | Resolver) -> Policy:
    """A policy from a `Policy`, a name, a trust-ranking dict or a resolver callable."""
    if isinstance(policy, str):
        if policy not in POLICY_NAMES:
            raise InvalidConfigError(
                f"unknown policy {policy!r}; expected one of {sorted(POLICY_NAMES)}, a dict "
                "agent -> rank, a Policy or a resolver callable"
            )
        return POLICY_NAMES[policy]()
    if isinstance(policy, Mapping):
        return TrustRanking(policy)
    if isinstance(policy, Policy):
        return policy
    if callable(policy):
        return CustomResolver(policy, name=getattr(policy, "__name__", "custom"))
    raise InvalidConfigError(f"not a policy: {policy!r}")


def pick(policy: Policy, claims: Sequence[Claim]) -> Claim | None:
    """Run ``policy`` and check that what it picked is one of ``claims``."""
    decision = policy.decide(claims)
    if decision is None:
        return None
    wanted = decision.id if isinstance(decision, Claim) else decision
    for claim in claims:
        if claim.id == wanted:
            return claim
    raise InvalidConfigError(
        f"policy {policy.name!r} picked {decision!r}, which is not one of the competing claims "
        f"{[c.id for c in claims]}; return one of them, its id, or None to hold"
    )


class PolicyTable:
    """Which policy settles which fact: (scope, attribute), then attribute, then scope, then
    the default."""

    def __init__(self, default: Policy) -> None:
        self.default = default
        self._rules: dict[tuple[str | None, str | None], Policy] = {}

    def set(self, policy: Policy, scope: Scope | None, attribute: str | None) -> None:
        key = (None if scope is None else scope.key, attribute)
        if key == (None, None):
            self.default = policy
        else:
            self._rules[key] = policy

    def lookup(self, scope_key: str, attribute: str) -> Policy:
        for key in ((scope_key, attribute), (None, attribute), (scope_key, None)):
            if key in self._rules:
                return self._rules[key]
        return self.default
