"""Worker functions for the validation tests, run in separate processes by `_spawn`."""

from __future__ import annotations

from typing import Any

from langgraph_sharedmem import FactConflictError, SharedMemory


def decide_all(path: str, run: str, worker: int, barrier: Any, results: Any) -> None:
    """Verify every pending claim of ``run`` as a validation node would; report how many
    decisions this process applied (the others found them decided, or the fact moved)."""
    try:
        with SharedMemory.open(path, index=None) as mem:
            pending = mem.facts.pending(run=run)
            barrier.wait()
            applied = 0
            for claim in pending:
                try:
                    _decision, change = mem.facts.apply_decision(
                        claim.claim_id,
                        "verified",
                        by=f"validator-{worker}",
                        reason="checked",
                        expected_version=claim.fact_version,
                        run=run,
                        node="validate",
                    )
                except FactConflictError:
                    continue
                applied += change is not None
            results.put(applied)
    except Exception as exc:  # the test asserts on it
        results.put(repr(exc))
