"""Two-host simulation: processes in separate working directories, sharing nothing but a
PostgreSQL server, run the tool cache, facts compare-and-set and the change feed together."""

from __future__ import annotations

from collections import Counter

from langgraph_sharedmem import SharedMemory
from tests._spawn import run_together
from tests._two_hosts_workers import host


def test_hosts_sharing_only_postgresql(postgres_db: str) -> None:
    hosts, keys, increments = 4, 30, 25
    total = hosts * increments
    SharedMemory.open(postgres_db).close()  # schema created once, before the race
    outcomes = run_together(
        host, [(postgres_db, f"h{i}", keys, increments, total) for i in range(hosts)]
    )
    assert [o[4] for o in outcomes] == [None] * hosts, [o[4] for o in outcomes if o[4]][0]
    # Exactly one real tool call per key, whichever host made it.
    ran: Counter[int] = Counter()
    for o in outcomes:
        ran.update(o[1])
    assert ran == {k: 1 for k in range(keys)}
    # 0 lost increments, and the hosts did collide.
    with SharedMemory.open(postgres_db) as mem:
        fact = mem.facts.get("app", "jobs", "done")
        assert fact is not None and (fact.value, fact.version) == (total, total)
    assert sum(o[2] for o in outcomes) > 0
    # 0 dropped changes: every host saw every version of the counter, once, in order.
    for o in outcomes:
        assert o[3] == list(range(1, total + 1)), o[0]
