"""Several processes updating one fact with compare-and-set: no update is lost."""

from __future__ import annotations

from langgraph_sharedmem import FactLedger
from tests import _facts_workers
from tests._spawn import run_together


def test_concurrent_cas_increments_lose_nothing(backend_url: str) -> None:
    path = backend_url
    workers, count = 4, 40
    outcomes = run_together(_facts_workers.increment, [(path, w, count) for w in range(workers)])
    assert [err for *_, err in outcomes if err] == []
    with FactLedger(path) as ledger:
        fact = ledger.get("app", "jobs", "done")
        assert fact is not None
        assert (fact.value, fact.version) == (workers * count, workers * count)
        history = ledger.history("app", "jobs", "done")
        assert [v.value for v in history] == list(range(1, workers * count + 1))
        # Each worker's own writes are in order, whoever else wrote in between.
        for w in range(workers):
            mine = [v.version for v in history if v.by == f"worker-{w}"]
            assert len(mine) == count and mine == sorted(mine)
    # The run only proves something if the workers actually collided.
    assert sum(conflicts for _, conflicts, _ in outcomes) > 0


def test_cas_on_shared_and_own_facts_at_once_loses_nothing(backend_url: str) -> None:
    """Two processes on one fact while two others each CAS a fact of their own: on
    PostgreSQL a one-fact write locks only its fact, so this runs the same-fact lock and
    different-fact writers in parallel against each other."""
    attributes = ["shared", "shared", "own-2", "own-3"]
    count = 30
    outcomes = run_together(
        _facts_workers.increment_fact,
        [(backend_url, w, count, attributes[w]) for w in range(len(attributes))],
    )
    assert [err for *_, err in outcomes if err] == []
    with FactLedger(backend_url) as ledger:
        for attribute in set(attributes):
            total = count * attributes.count(attribute)
            fact = ledger.get("app", "jobs", attribute)
            assert fact is not None and (fact.value, fact.version) == (total, total)
            history = ledger.history("app", "jobs", attribute)
            assert [v.value for v in history] == list(range(1, total + 1))
