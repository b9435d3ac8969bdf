"""Bad input is refused with `InvalidConfigError` naming the problem, and nothing is written."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest

from langgraph_sharedmem import FactLedger, InvalidConfigError, Scope

TABLES = (
    "facts",
    "fact_claims",
    "fact_sources",
    "fact_history",
    "fact_disagreements",
    "fact_disagreement_claims",
)


@pytest.fixture
def ledger(backend_url: str) -> Iterator[FactLedger]:
    with FactLedger(backend_url) as ledger:
        ledger.assert_fact("app", "acme", "plan", "pro", author="billing")
        yield ledger


def snapshot(ledger: FactLedger) -> dict[str, list[tuple[Any, ...]]]:
    with ledger.db.read() as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall() for t in TABLES}


def good(**override: Any) -> dict[str, Any]:
    return {
        "scope": "app",
        "subject": "acme",
        "attribute": "plan",
        "value": "free",
        "author": "sales",
        **override,
    }


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"scope": ("team", "x")}, "unknown scope kind 'team'"),
        ({"scope": ("user",)}, "'user' scope needs an id"),
        ({"scope": ("app", "x")}, "'app' scope takes no id"),
        ({"scope": ("user", "")}, "user scope id must be a non-empty string"),
        ({"scope": ("user", "a", "b")}, "a scope is a Scope"),
        ({"scope": 7}, "a scope is a Scope"),
        ({"subject": ""}, "subject must be a non-empty string"),
        ({"attribute": None}, "attribute must be a non-empty string"),
        ({"subject": "x\ud800"}, "not valid Unicode"),
        ({"attribute": "\udfffplan"}, "attribute .* is not valid Unicode"),
        ({"scope": ("user", "u\ud800")}, "not valid Unicode"),
        ({"value": "lone \ud800 here"}, "value holds a lone surrogate"),
        ({"value": {"notes": ["ok", "x\udc00"]}}, r"value\['notes'\]\[1\] holds a lone surrogate"),
        ({"value": {"k\ud800": 1}}, "a key of value .* holds a lone surrogate"),
        ({"source": {"url": "\ud83d"}}, r"source\['url'\] holds a lone surrogate"),
        ({"author": ""}, "author must be a non-empty string"),
        ({"value": math.nan}, r"value is nan; JSON has no NaN"),
        ({"value": {"price": [1, math.inf]}}, r"value\['price'\]\[1\] is inf"),
        ({"value": {1: "x"}}, "has a key of type int"),
        ({"value": {"when": object()}}, r"value\['when'\] is a object"),
        ({"value": (1, 2)}, "value is a tuple"),
        ({"source": {"tool": {1, 2}}}, r"source\['tool'\] is a set"),
        ({"confidence": 1.5}, r"confidence must be in \[0, 1\], got 1.5"),
        ({"confidence": -0.1}, r"confidence must be in \[0, 1\]"),
        ({"confidence": math.nan}, r"confidence must be in \[0, 1\]"),
        ({"confidence": True}, "confidence must be a number"),
        ({"status": "verifed"}, "unknown status 'verifed'"),
        ({"status": "superseded"}, "unknown status 'superseded'"),
        ({"expected_version": -1}, "expected_version must be an int >= 0"),
        ({"expected_version": "1"}, "expected_version must be an int >= 0"),
        ({"reason": ""}, "reason must be a non-empty string"),
    ],
)
def test_assert_fact_refuses_bad_input(
    ledger: FactLedger, override: dict[str, Any], message: str
) -> None:
    before = snapshot(ledger)
    args = good(**override)
    with pytest.raises(InvalidConfigError, match=message):
        ledger.assert_fact(
            args.pop("scope"), args.pop("subject"), args.pop("attribute"), args.pop("value"), **args
        )
    assert snapshot(ledger) == before


def test_the_value_limit_counts_utf8_bytes(ledger: FactLedger) -> None:
    """4 MiB of stored JSON, not 4 Mi characters: two-byte characters reach it at half."""
    before = snapshot(ledger)
    wide = "\u00e9" * (2 * 1024 * 1024)  # 2 Mi characters, 4 MiB + 2 quotes as UTF-8
    with pytest.raises(InvalidConfigError, match=r"value is 4194306 bytes as UTF-8 JSON"):
        ledger.assert_fact("app", "acme", "notes", wide, author="sales")
    with pytest.raises(InvalidConfigError, match=r"the limit is 4194304 \(4 MiB\)"):
        ledger.assert_fact("app", "acme", "notes", "x", author="sales", source={"log": wide})
    assert snapshot(ledger) == before
    fits = wide[: 2 * 1024 * 1024 - 1]  # 4 MiB exactly with its quotes
    assert ledger.assert_fact("app", "acme", "notes", fits, author="sales").accepted
    assert ledger.get("app", "acme", "notes").value == fits  # type: ignore[union-attr]


def test_a_failing_policy_writes_nothing(ledger: FactLedger) -> None:
    def broken(claims: list) -> object:
        raise RuntimeError("resolver crashed")

    ledger.set_policy(broken, attribute="plan")
    before = snapshot(ledger)
    with pytest.raises(RuntimeError, match="resolver crashed"):
        ledger.assert_fact("app", "acme", "plan", "free", author="sales", source={"run": "r1"})
    assert snapshot(ledger) == before
    ledger.set_policy(lambda claims: 12345, attribute="plan")
    with pytest.raises(InvalidConfigError, match="not one of the competing claims"):
        ledger.assert_fact("app", "acme", "plan", "free", author="sales")
    assert snapshot(ledger) == before
    assert ledger.get("app", "acme", "plan").value == "pro"  # type: ignore[union-attr]


def test_bad_policies_and_resolutions(ledger: FactLedger) -> None:
    with pytest.raises(InvalidConfigError, match="unknown policy 'newest'"):
        ledger.set_policy("newest")
    with pytest.raises(InvalidConfigError, match="rank of agent 'a' must be a number"):
        ledger.set_policy({"a": "high"})
    with pytest.raises(InvalidConfigError, match="not a policy"):
        ledger.set_policy(42)  # type: ignore[arg-type]
    ledger.set_policy("require_validation")
    held = ledger.assert_fact("app", "acme", "plan", "free", author="sales")
    other = ledger.assert_fact("app", "acme", "seats", 3, author="sales")
    before = snapshot(ledger)
    did = held.disagreement_id
    assert did is not None
    for kwargs, message in [
        ({}, "exactly one of value= or claim_id="),
        ({"value": "x", "claim_id": held.claim.id}, "exactly one of"),
        ({"claim_id": other.claim.id}, "is not part of disagreement"),
        ({"value": math.inf}, "value is inf"),
        ({"value": "x", "reason": " "}, "reason must be a non-empty string"),
        ({"value": "x", "by": ""}, "by must be a non-empty string"),
    ]:
        call = {"by": "reviewer", "reason": "checked", **kwargs}
        with pytest.raises(InvalidConfigError, match=message):
            ledger.resolve(did, **call)
    with pytest.raises(InvalidConfigError, match="no disagreement with id 99"):
        ledger.resolve(99, "x", by="r", reason="r")
    with pytest.raises(InvalidConfigError, match="no disagreement with id 99"):
        ledger.disagreement(99)
    with pytest.raises(InvalidConfigError, match="unknown disagreement status 'closed'"):
        ledger.disagreements(status="closed")  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="unknown status 'approved'"):
        ledger.set_status(held.claim.id, "approved", by="r", reason="r")  # type: ignore[arg-type]
    assert snapshot(ledger) == before
    assert ledger.is_contested("app", "acme", "plan")


def test_scope_forms() -> None:
    assert Scope.of("app") == Scope.of(("app",)) == Scope.app()
    assert Scope.of("run:r7") == Scope("run", "r7") and str(Scope.run("r7")) == "run:r7"
    assert Scope.of("user:a:b").id == "a:b"  # ids may hold colons; stored as a JSON array
    assert Scope.from_key(Scope.user('x"y').key) == Scope.user('x"y')
    with pytest.raises(InvalidConfigError, match="scope kind must be a non-empty string"):
        Scope.of(":x")
