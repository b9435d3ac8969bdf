"""Several processes registering one agent name at once: exactly one row, one profile."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

from langgraph_sharedmem import SharedMemory
from langgraph_sharedmem.registry import NAMESPACE
from tests import _registry_workers
from tests._spawn import run_together

SCALE = float(os.environ.get("SHAREDMEM_STRESS_SCALE", "1"))


def test_concurrent_registrations_of_one_name_leave_one_row(tmp_path: Path) -> None:
    path = str(tmp_path / "registry.db")
    workers, rounds = 4, max(1, int(3 * SCALE))
    outcomes = run_together(
        _registry_workers.register_same_name, [(path, w, rounds) for w in range(workers)]
    )
    assert [err for _, err in outcomes if err] == []
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT count(*) FROM registry_agents").fetchone() == (1,)
        assert conn.execute("SELECT count(*) FROM acl_agents").fetchone() == (1,)
        ops = [op for (op,) in conn.execute("SELECT op FROM changes WHERE kind='agent'")]
        caps = conn.execute("SELECT capability FROM registry_capabilities").fetchall()
    finally:
        conn.close()
    # One registration, then every other write was an update of that row.
    assert ops[0] == "register" and ops.count("register") == 1
    assert ops.count("update") == len(ops) - 1 >= 1
    with SharedMemory.open(path) as mem:
        agent = mem.registry.get("shared")
        assert agent is not None
        winner = int(agent.description.split()[1])
        # The row, its capability index and the store's text all hold the same (last) write.
        assert agent.capabilities == ("billing", f"w{winner}")
        assert sorted(c for (c,) in caps) == ["billing", f"w{winner}"]
        assert agent.trust == winner / 10
        item = mem.store.get(NAMESPACE, "shared")
        assert item is not None and agent.description in item.value["text"]
        assert json.loads(json.dumps(item.value["capabilities"])) == list(agent.capabilities)
        assert [a.name for a in mem.registry.find(f"w{winner}")] == ["shared"]
        assert mem.registry.search("billing", k=5)[0].agent.name == "shared"
