"""The ledger's write and read steps on an open connection, inside the caller's transaction.

How a claim's status follows from a write (the rules `docs/facts.md` explains):

* a value no one disputes becomes ``verified`` at once (unless asserted as ``quarantined``);
* an author replacing a verified value only it backs is an update: the old value becomes
  ``superseded``, with no disagreement;
* a different value from anyone else opens a disagreement between it and the verified value;
  the fact's policy picks a winner (``verified``) or holds them all (``quarantined``, readers
  keep the last verified value). Losers asserted before the winner become ``superseded``
  (newer information replaced them), losers asserted after it ``rejected`` (refused);
* while a disagreement is open every new value joins it, and the policy is asked again;
* a policy weighs only what arrived verified (I2): an assertion that arrived quarantined is a
  *held* source, invisible to every policy, so a claim backed by held sources alone can
  become verified only by a validation decision (`set_status`, `resolve`, `apply_decision`).
  A held assertion joins an open disagreement without asking the policy, and a matcher never
  folds a verified assertion into a claim no verified source backs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from langgraph_sharedmem.core import changelog
from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import FactConflictError, InvalidConfigError
from langgraph_sharedmem.facts import _schema
from langgraph_sharedmem.facts._model import (
    Claim,
    Fact,
    FactChange,
    Source,
    claim_from_row,
    sources_by_claim,
)
from langgraph_sharedmem.facts._policies import Policy, pick
from langgraph_sharedmem.facts._values import Status, value_hash

# Near-identical values (e.g. by embedding similarity) can be matched to an existing claim:
# ``matcher(value, claims_of_the_fact)`` returns the claim the value restates, or None.
Matcher = Callable[[Any, Sequence[Claim]], Claim | None]


def now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FactRow:
    id: int
    scope: str
    subject: str
    attribute: str
    version: int
    verified_claim: int | None
    head_claim: int | None
    open_disagreement: int | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Key:
    scope: Scope
    subject: str
    attribute: str


# -- reading ---------------------------------------------------------------------------------


def load_fact(conn: sqlite3.Connection, key: Key) -> FactRow | None:
    row = conn.execute(_schema.SELECT_FACT, (key.scope.key, key.subject, key.attribute)).fetchone()
    return None if row is None else FactRow(*row)


def load_fact_by_id(conn: sqlite3.Connection, fact_id: int) -> FactRow:
    return FactRow(*conn.execute(_schema.SELECT_FACT_BY_ID, (fact_id,)).fetchone())


def lock_fact(conn: sqlite3.Connection, scope: str, subject: str, attribute: str) -> None:
    """Hold the fact's write lock before reading what the write will change. On SQLite
    ``BEGIN IMMEDIATE`` already holds the file's one write lock: nothing to do. On
    PostgreSQL a one-fact write locks only its fact (`pg_compat.CompatConnection.lock_key`),
    so a compare-and-set reads the previous writer's commit of the same fact while writers
    of other facts run in parallel."""
    lock = getattr(conn, "lock_key", None)
    if lock is not None:
        lock("facts", scope, subject, attribute)


def locked_fact(conn: sqlite3.Connection, fact_id: int) -> FactRow:
    """The fact ``fact_id``, read after taking its write lock (`lock_fact`): its scope,
    subject and attribute never change, so the first read names the lock, the second sees
    what the last writer of the fact committed."""
    fact = load_fact_by_id(conn, fact_id)
    if getattr(conn, "keyed", False):
        lock_fact(conn, fact.scope, fact.subject, fact.attribute)
        fact = load_fact_by_id(conn, fact_id)
    return fact


def load_claims(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> list[Claim]:
    """Claims from claim rows, with their sources fetched in one query."""
    if not rows:
        return []
    ids = "[" + ",".join(str(r[0]) for r in rows) + "]"
    sources = sources_by_claim(conn.execute(_schema.SELECT_SOURCES, (ids,)).fetchall())
    return [claim_from_row(r, sources.get(r[0], [])) for r in rows]


def load_claim(conn: sqlite3.Connection, claim_id: int) -> Claim:
    # Both statements are sent before either result is read: one round trip in PostgreSQL's
    # pipeline mode (`pg_compat.SerializedDatabase.write_keyed`).
    claim = conn.execute(_schema.SELECT_CLAIM, (claim_id,))
    sources = conn.execute(_schema.SELECT_SOURCES, (f"[{int(claim_id)}]",))
    row = claim.fetchone()
    if row is None:
        raise InvalidConfigError(f"no claim with id {claim_id!r}")
    return claim_from_row(row, sources_by_claim(sources.fetchall()).get(row[0], []))


def claim_fact_id(conn: sqlite3.Connection, claim_id: int) -> int:
    row = conn.execute("SELECT fact_id FROM fact_claims WHERE id = ?", (claim_id,)).fetchone()
    if row is None:
        raise InvalidConfigError(f"no claim with id {claim_id!r}")
    return int(row[0])


def disagreement_claims(conn: sqlite3.Connection, disagreement_id: int) -> list[Claim]:
    """The disagreement's claims by id, with their sources: both reads sent at once."""
    claims = conn.execute(_schema.SELECT_DISAGREEMENT_CLAIMS, (disagreement_id,))
    sources = conn.execute(_schema.SELECT_DISAGREEMENT_SOURCES, (disagreement_id,))
    rows = claims.fetchall()
    by_claim = sources_by_claim(sources.fetchall())
    return [claim_from_row(r, by_claim.get(r[0], [])) for r in rows]


def vouched(conn: sqlite3.Connection, claims: Sequence[Claim]) -> list[Claim]:
    """The claims a policy may weigh, each as its vouched (not held) sources alone make it:
    their authors, assertion order and confidence. Claims with none are left out (I2)."""
    if not claims:
        return []
    ids = "[" + ",".join(str(c.id) for c in claims) + "]"
    seqs = {r[0]: r[1:] for r in conn.execute(_schema.SELECT_VOUCHED_SEQS, (ids,))}
    out = []
    for claim in claims:
        if claim.id in seqs:
            first, last, confidence = seqs[claim.id]
            sources = tuple(s for s in claim.sources if not s.held)
            out.append(
                replace(
                    claim,
                    sources=sources,
                    first_seq=first,
                    last_seq=last,
                    confidence=confidence,
                )
            )
    return out


def view(conn: sqlite3.Connection, fact: FactRow, *, include_unverified: bool) -> Fact | None:
    """What a reader sees: the verified claim, or with ``include_unverified`` the newest one."""
    claim_id = fact.head_claim if include_unverified else fact.verified_claim
    if claim_id is None:
        return None
    return make_fact(fact, load_claim(conn, claim_id))


def credit(claim: Claim, sources: Sequence[Source]) -> tuple[str, float]:
    """The author and confidence readers see for ``claim`` given ``sources``: those of the
    sources that arrived verified. A quarantined restatement of a verified value must not
    lend it its name or inflate its confidence (I2)."""
    vouched_sources = [s for s in sources if not s.held]
    author = vouched_sources[0].author if vouched_sources else claim.author
    return author, max((s.confidence for s in vouched_sources), default=claim.confidence)


def make_fact(fact: FactRow, claim: Claim) -> Fact:
    author, confidence = credit(claim, claim.sources)
    return Fact(
        fact.id,
        Scope.from_key(fact.scope),
        fact.subject,
        fact.attribute,
        claim.value,
        claim.status,
        fact.version,
        author,
        confidence,
        claim.sources,
        claim.id,
        fact.open_disagreement is not None,
        fact.created_at,
        fact.updated_at,
    )


# -- writing ---------------------------------------------------------------------------------


class Tx:
    """One write operation on one fact: collects the changes, then records one version."""

    def __init__(self, conn: sqlite3.Connection, fact: FactRow, policy: Policy) -> None:
        self.conn, self.fact, self.policy, self.at = conn, fact, policy, now()

    @classmethod
    def open(
        cls, conn: sqlite3.Connection, key: Key, policy: Policy, expected_version: int | None
    ) -> Tx:
        lock_fact(conn, key.scope.key, key.subject, key.attribute)
        return cls.on(conn, key, load_fact(conn, key), policy, expected_version)

    @classmethod
    def on(
        cls,
        conn: sqlite3.Connection,
        key: Key,
        fact: FactRow | None,
        policy: Policy,
        expected_version: int | None,
    ) -> Tx:
        """`open` with the fact's row already read in this transaction (None: no fact yet),
        so the callers that found the fact by id do not read it again."""
        current = 0 if fact is None else fact.version
        if expected_version is not None and expected_version != current:
            raise FactConflictError(
                f"fact {key.subject!r}.{key.attribute!r} in scope {str(key.scope)!r} is at "
                f"version {current}, not {expected_version}: it changed since it was read; "
                "re-read it and retry",
                expected_version=expected_version,
                current_version=current,
            )
        if fact is None:
            at = now()
            cur = conn.execute(
                _schema.INSERT_FACT, (key.scope.key, key.subject, key.attribute, at, at)
            )
            fact = load_fact_by_id(conn, int(cur.lastrowid or 0))
        return cls(conn, fact, policy)

    def add_source(
        self,
        value_text: str,
        value: Any,
        author: str,
        source_text: str,
        confidence: float,
        matcher: Matcher | None,
        *,
        held: bool,
    ) -> tuple[Claim, int]:
        """Record one assertion (``held``: it arrived quarantined): on the claim with the same
        value (or the one ``matcher`` says it restates), else on a new claim. Returns the
        claim and the source id."""
        digest = value_hash(value_text)
        row = self.conn.execute(_schema.SELECT_CLAIM_BY_HASH, (self.fact.id, digest)).fetchone()
        claim_id = None if row is None else int(row[0])
        if claim_id is None and matcher is not None:
            rows = self.conn.execute(_schema.SELECT_CLAIMS_OF_FACT, (self.fact.id,)).fetchall()
            claims = load_claims(self.conn, rows)
            if not held:  # folded into a held-only claim, it would vouch for words never said
                claims = [c for c in claims if any(not s.held for s in c.sources)]
            match = matcher(value, claims) if claims else None
            claim_id = None if match is None else match.id
        if claim_id is None:
            cur = self.conn.execute(
                _schema.INSERT_CLAIM,
                (
                    self.fact.id,
                    value_text,
                    digest,
                    author,
                    confidence,
                    self.at,
                    self.at,
                ),
            )
            claim_id = int(cur.lastrowid or 0)
        seq = self.conn.execute(
            _schema.INSERT_SOURCE,
            (claim_id, author, source_text, confidence, self.at, int(held)),
        ).lastrowid
        self.conn.execute(
            _schema.TOUCH_CLAIM,
            {"confidence": confidence, "seq": seq, "now": self.at, "id": claim_id},
        )
        return load_claim(self.conn, claim_id), int(seq or 0)

    def set_status(self, claim_id: int, status: Status) -> None:
        self.conn.execute(_schema.SET_CLAIM_STATUS, (status, self.at, claim_id))

    def vouch(self, claim_id: int, vouched: bool) -> None:
        """A validation decision on the claim: verifying vouches for every source so far,
        rejecting or quarantining withdraws them all from every policy (I2)."""
        self.conn.execute(_schema.HOLD_SOURCES, (0 if vouched else 1, claim_id))

    def open_disagreement(self, claims: Sequence[Claim]) -> int:
        if self.fact.open_disagreement is None:
            cur = self.conn.execute(
                _schema.INSERT_DISAGREEMENT, (self.fact.id, self.policy.name, self.at)
            )
            self.fact.open_disagreement = int(cur.lastrowid or 0)
        for claim in claims:
            self.conn.execute(
                _schema.ADD_DISAGREEMENT_CLAIM, (self.fact.open_disagreement, claim.id)
            )
        return self.fact.open_disagreement

    def decide(
        self,
        disagreement_id: int,
        winner: Claim,
        *,
        by: str,
        reason: str | None,
        manual: bool,
        claims: Sequence[Claim] | None = None,
    ) -> None:
        """Make ``winner`` the verified value and close the disagreement with the age rule
        (``claims``: the disagreement's claims, if just read in this transaction)."""
        if claims is None:
            claims = disagreement_claims(self.conn, disagreement_id)
        for claim in claims:
            if claim.id != winner.id:
                self.set_status(
                    claim.id, "superseded" if claim.last_seq < winner.last_seq else "rejected"
                )
        old = self.fact.verified_claim
        if old is not None and old != winner.id:  # a verified value outside this disagreement
            self.set_status(old, "superseded")
        self.set_status(winner.id, "verified")
        self.fact.verified_claim = winner.id
        self.conn.execute(
            _schema.DECIDE_DISAGREEMENT,
            {
                "status": "resolved" if manual else "settled",
                "policy": "manual" if manual else self.policy.name,
                "winner": winner.id,
                "by": by,
                "reason": reason,
                "now": self.at,
                "id": disagreement_id,
            },
        )
        if self.fact.open_disagreement == disagreement_id:
            self.fact.open_disagreement = None

    def settle(self, claims: Sequence[Claim], *, reason: str | None, ask: bool = True) -> int:
        """Open (or extend) the disagreement over ``claims`` and, if ``ask``, let the policy
        settle it over the claims it may weigh (`vouched`)."""
        disagreement_id = self.open_disagreement(claims)
        if not ask:
            return disagreement_id
        everyone = disagreement_claims(self.conn, disagreement_id)
        eligible = vouched(self.conn, everyone)
        choice = pick(self.policy, eligible) if eligible else None
        winner = None if choice is None else next(c for c in everyone if c.id == choice.id)
        if winner is not None:  # else held: the last verified value stays, the rest wait
            note = f"policy {self.policy.name} picked claim {winner.id}"
            self.decide(
                disagreement_id,
                winner,
                by=f"policy:{self.policy.name}",
                reason=note if reason is None else f"{note}; {reason}",
                manual=False,
                claims=everyone,
            )
        return disagreement_id

    def commit(
        self,
        *,
        event: str,
        by: str,
        claim_id: int,
        source_id: int | None = None,
        disagreement_id: int | None = None,
        reason: str | None = None,
        head: int | None = None,
    ) -> FactChange:
        """Record the change as the next version and return what readers now see."""
        fact = self.fact
        fact.version += 1
        if head is not None:
            fact.head_claim = head
        claim = load_claim(self.conn, claim_id)
        self.conn.execute(
            _schema.INSERT_HISTORY,
            {
                "fact_id": fact.id,
                "version": fact.version,
                "event": event,
                "by": by,
                "claim_id": claim_id,
                "status": claim.status,
                "source_id": source_id,
                "verified_claim": fact.verified_claim,
                "disagreement_id": disagreement_id,
                "reason": reason,
                "now": self.at,
            },
        )
        self.conn.execute(
            _schema.UPDATE_FACT,
            {
                "version": fact.version,
                "verified_claim": fact.verified_claim,
                "head_claim": fact.head_claim,
                "open_disagreement": fact.open_disagreement,
                "now": self.at,
                "id": fact.id,
            },
        )
        fact.updated_at = self.at
        changelog.append(
            self.conn,
            kind="fact",
            op=event,
            scope=fact.scope,
            key=f"{fact.subject}/{fact.attribute}",
            author=by,
            data={
                "subject": fact.subject,
                "attribute": fact.attribute,
                "version": fact.version,
                "claim_id": claim_id,
                "status": claim.status,
                "verified_claim": fact.verified_claim,
                "disagreement_id": disagreement_id,
            },
        )
        if fact.verified_claim == claim_id:  # read above, after every change to claims
            return FactChange(fact.version, claim, make_fact(fact, claim), disagreement_id)
        return self.result(claim, disagreement_id)

    def result(self, claim: Claim, disagreement_id: int | None = None) -> FactChange:
        return FactChange(
            self.fact.version,
            claim,
            view(self.conn, self.fact, include_unverified=False),
            disagreement_id,
        )
