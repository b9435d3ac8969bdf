"""Read-side queries: listing facts, history and disagreements.

WHERE clauses are built by pure functions returning ``(sql, params)``; values reach SQL only as
parameters, and the one column name chosen by an argument comes from a fixed pair.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.facts import _schema
from langgraph_sharedmem.facts._core import FactRow, Key, load_claims, load_fact, make_fact
from langgraph_sharedmem.facts._model import (
    Disagreement,
    DisagreementStatus,
    Fact,
    FactVersion,
    version_from_row,
)

_FACT_ARITY = len(_schema.FACT_COLUMNS.split(","))


def list_sql(
    scope: Scope, subject: str | None, *, include_unverified: bool
) -> tuple[str, list[Any]]:
    """Facts of a scope (and subject) joined with the claim a reader sees, in key order."""
    shown = "f.head_claim" if include_unverified else "f.verified_claim"
    where, params = ["f.scope = ?"], [scope.key]
    if subject is not None:
        where.append("f.subject = ?")
        params.append(subject)
    sql = (
        f"SELECT {_schema.FACT_COLUMNS}, {_schema.CLAIM_COLUMNS} FROM facts AS f "
        f"JOIN fact_claims AS c ON c.id = {shown} "
        f"WHERE {' AND '.join(where)} ORDER BY f.subject, f.attribute"
    )
    return sql, params


def disagreements_sql(
    scope: Scope | None,
    subject: str | None,
    attribute: str | None,
    status: DisagreementStatus | None,
) -> tuple[str, list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    for column, wanted in (
        ("f.scope", None if scope is None else scope.key),
        ("f.subject", subject),
        ("f.attribute", attribute),
        ("d.status", status),
    ):
        if wanted is not None:
            where.append(f"{column} = ?")
            params.append(wanted)
    sql = (
        f"SELECT {_schema.DISAGREEMENT_COLUMNS}, f.scope, f.subject, f.attribute "
        "FROM fact_disagreements AS d JOIN facts AS f ON f.id = d.fact_id"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY d.id"
    )
    return sql, params


def list_facts(
    conn: sqlite3.Connection, scope: Scope, subject: str | None, *, include_unverified: bool
) -> list[Fact]:
    sql, params = list_sql(scope, subject, include_unverified=include_unverified)
    rows = conn.execute(sql, params).fetchall()
    claims = load_claims(conn, [r[_FACT_ARITY:] for r in rows])
    return [make_fact(FactRow(*r[:_FACT_ARITY]), c) for r, c in zip(rows, claims, strict=True)]


def history(conn: sqlite3.Connection, key: Key) -> list[FactVersion]:
    fact = load_fact(conn, key)
    if fact is None:
        return []
    return [version_from_row(r) for r in conn.execute(_schema.SELECT_HISTORY, (fact.id,))]


def disagreements(
    conn: sqlite3.Connection,
    scope: Scope | None,
    subject: str | None,
    attribute: str | None,
    status: DisagreementStatus | None,
) -> list[Disagreement]:
    sql, params = disagreements_sql(scope, subject, attribute, status)
    return [_disagreement(conn, row) for row in conn.execute(sql, params).fetchall()]


def disagreement(conn: sqlite3.Connection, disagreement_id: int) -> Disagreement | None:
    sql = (
        f"SELECT {_schema.DISAGREEMENT_COLUMNS}, f.scope, f.subject, f.attribute "
        "FROM fact_disagreements AS d JOIN facts AS f ON f.id = d.fact_id WHERE d.id = ?"
    )
    row = conn.execute(sql, (disagreement_id,)).fetchone()
    return None if row is None else _disagreement(conn, row)


def _disagreement(conn: sqlite3.Connection, row: tuple[Any, ...]) -> Disagreement:
    (
        did,
        _fact_id,
        status,
        policy,
        winner,
        by,
        reason,
        created,
        decided,
        scope,
        subject,
        attribute,
    ) = row
    claim_rows = conn.execute(
        f"SELECT {_schema.CLAIM_COLUMNS} FROM fact_disagreement_claims AS m "
        "JOIN fact_claims AS c ON c.id = m.claim_id WHERE m.disagreement_id = ? "
        "ORDER BY c.first_seq",
        (did,),
    ).fetchall()
    return Disagreement(
        did,
        Scope.from_key(scope),
        subject,
        attribute,
        status,
        policy,
        tuple(load_claims(conn, claim_rows)),
        winner,
        by,
        reason,
        created,
        decided,
    )
