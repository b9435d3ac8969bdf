"""What the ledger hands back: immutable records built from rows, never live views of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.facts._values import Status

DisagreementStatus = Literal["open", "settled", "resolved"]


@dataclass(frozen=True)
class Source:
    """One assertion of a claim: who said it, where it came from, how sure they were, when.

    ``held``: it arrived quarantined, so it counts for no policy (trust ranking, latest
    wins...) until a validation decision verifies its claim.
    """

    author: str
    source: Any
    confidence: float
    at: str
    held: bool = False


@dataclass(frozen=True)
class Claim:
    """One distinct value asserted for a fact, with everyone who asserted it.

    ``first_seq``/``last_seq`` order assertions across processes (first-wins, latest-wins).
    """

    id: int
    value: Any
    status: Status
    author: str
    confidence: float
    sources: tuple[Source, ...]
    first_seq: int
    last_seq: int
    created_at: str
    updated_at: str

    @property
    def authors(self) -> frozenset[str]:
        return frozenset(s.author for s in self.sources)


@dataclass(frozen=True)
class Fact:
    """A fact as a reader sees it: its settled value (or, asked by name, its newest claim).

    ``status`` is the status of the value shown; ``contested`` says an open disagreement holds
    the fact (readers still see the last verified value, or nothing).
    """

    id: int
    scope: Scope
    subject: str
    attribute: str
    value: Any
    status: Status
    version: int
    author: str
    confidence: float
    sources: tuple[Source, ...]
    claim_id: int
    contested: bool
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class FactVersion:
    """One change of a fact: who (``by``) changed what (``event`` on ``claim_id``), when, why."""

    version: int
    event: str
    by: str
    claim_id: int | None
    value: Any
    status: Status
    author: str | None
    source: Any
    confidence: float | None
    verified_claim: int | None
    disagreement_id: int | None
    reason: str | None
    at: str


@dataclass(frozen=True)
class Disagreement:
    """Different values asserted for one fact by different authors, and how it was settled."""

    id: int
    scope: Scope
    subject: str
    attribute: str
    status: DisagreementStatus
    policy: str
    claims: tuple[Claim, ...]
    winner_claim: int | None
    decided_by: str | None
    reason: str | None
    created_at: str
    decided_at: str | None


@dataclass(frozen=True)
class FactChange:
    """The outcome of a write: the fact's new ``version`` (the next compare-and-set token), the
    claim the write concerned (its ``status`` says whether it was accepted), what readers now
    see (``fact``, None when nothing is verified) and the disagreement involved, if any."""

    version: int
    claim: Claim
    fact: Fact | None
    disagreement_id: int | None

    @property
    def accepted(self) -> bool:
        return self.claim.status == "verified"


def sources_by_claim(rows: list[tuple[Any, ...]]) -> dict[int, list[Source]]:
    out: dict[int, list[Source]] = {}
    for _id, claim_id, author, source, confidence, at, held in rows:
        out.setdefault(claim_id, []).append(
            Source(author, json.loads(source), confidence, at, bool(held))
        )
    return out


def claim_from_row(row: tuple[Any, ...], sources: list[Source]) -> Claim:
    cid, _fact_id, value, status, author, confidence, first_seq, last_seq, created, updated = row
    return Claim(
        cid,
        json.loads(value),
        status,
        author,
        confidence,
        tuple(sources),
        first_seq,
        last_seq,
        created,
        updated,
    )


def version_from_row(row: tuple[Any, ...]) -> FactVersion:
    (
        version,
        event,
        by,
        claim_id,
        value,
        status,
        author,
        source,
        confidence,
        verified,
        disagreement_id,
        reason,
        at,
    ) = row
    return FactVersion(
        version,
        event,
        by,
        claim_id,
        None if value is None else json.loads(value),
        status,
        author,
        None if source is None else json.loads(source),
        confidence,
        verified,
        disagreement_id,
        reason,
        at,
    )


ValidationOutcome = Literal["approve", "reject", "abstain", "review", "error"]


@dataclass(frozen=True)
class ClaimRecord:
    """A claim with the key and version of its fact: what validators get.

    ``fact_version`` is the fact's version when it was read: a decision on the claim is a
    compare-and-set on it. ``since_version`` is the version at which the claim last changed
    (entered quarantine, e.g.): validator results logged at or after it still hold.
    ``derived_from`` lists the claim ids it was derived from; ``run`` the run it belongs to.
    """

    claim: Claim
    fact_id: int
    scope: Scope
    subject: str
    attribute: str
    fact_version: int
    verified_claim: int | None
    run: str | None
    derived_from: tuple[int, ...]
    since_version: int

    @property
    def claim_id(self) -> int:
        return self.claim.id

    @property
    def value(self) -> Any:
        return self.claim.value

    @property
    def author(self) -> str:
        return self.claim.author

    @property
    def decision_key(self) -> str:
        """Unique per claim and fact version: the same decision is never applied twice."""
        return f"{self.claim.id}@{self.fact_version}"


@dataclass(frozen=True)
class Lineage:
    """What a claim was derived from (``parents``) and what was derived from it."""

    claim_id: int
    parents: tuple[int, ...]
    children: tuple[int, ...]


@dataclass(frozen=True)
class ValidationEntry:
    """One validator's result on one claim at one fact version (``validation_log``)."""

    id: int
    run: str | None
    thread: str | None
    checkpoint_id: str | None
    node: str
    claim_id: int
    fact_version: int
    validator: str
    outcome: ValidationOutcome
    reason: str | None
    at: str


@dataclass(frozen=True)
class ValidationDecision:
    """A decision applied to a claim: by whom, in which run and checkpoint, and why.

    ``key`` is ``"<claim id>@<fact version>"``; ``version_after`` the fact's version once
    applied.
    """

    key: str
    claim_id: int
    fact_version: int
    decision: str
    reason: str
    by: str
    run: str | None
    thread: str | None
    checkpoint_id: str | None
    node: str | None
    version_after: int | None
    at: str
