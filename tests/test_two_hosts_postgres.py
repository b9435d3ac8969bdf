"""Two-host simulation: processes in separate working directories, sharing nothing but a
PostgreSQL server and a Chroma server, open the memory at the same moment and run the tool
cache, facts compare-and-set, the change feed, a customer-service team and semantic search
together."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from langgraph_sharedmem import SharedMemory
from tests._servers import chroma_server
from tests._spawn import run_together
from tests._two_hosts_workers import host


def test_hosts_sharing_only_postgresql_and_chroma(postgres_db: str, tmp_path: Path) -> None:
    hosts, keys, increments = 4, 30, 25
    total = hosts * increments
    names = [f"h{i}" for i in range(hosts)]
    with chroma_server(tmp_path / "chroma") as port:
        outcomes = run_together(
            host,
            [
                (postgres_db, port, n, keys, increments, total, [o for o in names if o != n])
                for n in names
            ],
        )
    assert [o[7] for o in outcomes] == [None] * hosts, [o[7] for o in outcomes if o[7]][0]
    # Exactly one real tool call per key, whichever host made it.
    ran: Counter[int] = Counter()
    for o in outcomes:
        ran.update(o[1])
    assert ran == {k: 1 for k in range(keys)}
    # One real order lookup for the customer's four tickets, on four hosts.
    assert sum(o[4] for o in outcomes) == 1
    assert all("order:42.status = 'processing'" in o[5] for o in outcomes)
    # Each host found every other host's note by meaning, through the Chroma server.
    for o in outcomes:
        assert all(found == other for other, found in o[6].items()), (o[0], o[6])
    # 0 lost increments, and the hosts did collide.
    with SharedMemory.open(postgres_db, index=None) as mem:
        fact = mem.facts.get("app", "jobs", "done")
        assert fact is not None and (fact.value, fact.version) == (total, total)
        for name in names:
            state = mem.checkpointer.get_tuple({"configurable": {"thread_id": f"ticket-{name}"}})
            assert state is not None and state.checkpoint["channel_values"]["final"]
    assert sum(o[2] for o in outcomes) > 0
    # 0 dropped changes: every host saw every version of the counter, once, in order.
    for o in outcomes:
        assert o[3] == list(range(1, total + 1)), o[0]
