"""Validation nodes in several processes on one database: each claim is decided once."""

from __future__ import annotations

from pathlib import Path

from _spawn import run_together
from _validation_workers import decide_all

from langgraph_sharedmem import SharedMemory

RUN = ("run", "r1")


def test_concurrent_validators_in_processes_decide_each_claim_once(tmp_path: Path) -> None:
    path = tmp_path / "agents.db"
    with SharedMemory.open(path, index=None) as mem:
        claims = [
            mem.facts.assert_fact(RUN, f"s{i}", "a", i, author="w", status="quarantined", run="r1")
            for i in range(20)
        ]
    outcomes = run_together(decide_all, [(str(path), "r1", n) for n in range(3)])
    assert all(isinstance(o, int) for o in outcomes), outcomes
    assert sum(outcomes) == len(claims)  # every claim decided by exactly one process
    with SharedMemory.open(path, index=None) as mem:
        assert len(mem.facts.decisions(run="r1")) == len(claims)
        for c in claims:
            history = mem.facts.history(RUN, f"s{c.claim.value}", "a")
            assert [h.event for h in history] == ["quarantined", "verified"]
