"""I1 and I4 under a race: a writer keeps adding data in scopes the reader may not read,
a flipper grants and revokes the one user scope it may, and readers call every read.

Every returned owner must have been readable by the reader at some moment during that
read: ``x<i>`` and ``ug`` never granted it (never allowed at all), and ``uf`` only inside an
interval when its grant may have been live. Store views keep permissions for up to
``recheck_seconds`` between checks of the grants version (`AccessControl.permissions`), the
documented bound for another process's revocation to reach a view's reads.
"""

from __future__ import annotations

from _scope_workers import FLIPPING, flipper, prepare, reader, writer
from _spawn import run_together

from langgraph_sharedmem import SharedMemory
from tests.adversarial._stress import race_seconds


def _worker(role: str, path: str, seconds: float, barrier: object, results: object) -> None:
    {"writer": writer, "flipper": flipper, "reader": reader}[role](path, seconds, barrier, results)


def test_no_read_returns_a_scope_the_reader_could_not_read_then(backend_url: str) -> None:
    # On PostgreSQL too: there the grants and views run through the translated SQL and the
    # read snapshot is REPEATABLE READ, so the same race must hold the same invariant.
    path = backend_url
    prepare(path)
    seconds = race_seconds(3)
    outcomes = run_together(
        _worker, [(r, path, seconds) for r in ("writer", "flipper", "reader", "reader")]
    )
    errors = [err for _, _, err in outcomes if err]
    assert not errors, errors[0]
    intervals = next(v for who, v, _ in outcomes if who == "flipper")
    reads = [v for who, v, _ in outcomes if who == "reader"]
    written = next(v for who, v, _ in outcomes if who == "writer")
    with SharedMemory.open(path, index=None) as mem:
        slack = mem.access.recheck_seconds + 0.01

    leaks: list[tuple[str, str, float]] = []
    total = leaky_reads = 0
    for seen, counts in reads:
        total += sum(counts.values())
        assert set(counts) >= {
            "last",
            "summary",
            "context",
            "feed",
            "subscription",
            "view.search",
        }, counts
        for op, t0, t1, owners in seen:
            late = slack if op.startswith("view.") else 0.0
            live = any(a <= t1 and t0 <= b + late for a, b in intervals)
            bad = [o for o in owners if not (o == FLIPPING and live)]
            leaky_reads += bool(bad)
            leaks += [(op, o, round(t1 - t0, 4)) for o in bad]
    assert written > 20 and total > 50, (written, total)
    assert not leaks, f"{leaky_reads} of {total} reads returned unreadable scopes: {leaks[:10]}"
