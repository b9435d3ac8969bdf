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
