"""The change feed across processes: four writer processes, a subscriber process killed
mid-stream and restarted from its cursor, and an agent subscriber that must never see what
it may not read."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from _changes_workers import consume, write_changes
from _spawn import CTX, run_together, wait_until

from langgraph_sharedmem import SharedMemory

SCALE = float(os.environ.get("SHAREDMEM_STRESS_SCALE", "1"))
PER_WRITER = max(10, int(30 * SCALE))


def prepare(path: Path) -> None:
    with SharedMemory.open(path, index=None) as mem:
        mem.register_agent("support")
        mem.register_user("u1")
        mem.facts.setup()
        mem.store.setup()


def lines(out: Path) -> list[dict[str, Any]]:
    if not out.exists():
        return []
    return [json.loads(x) for x in out.read_text().splitlines() if x.strip()]


def start_consumer(
    path: Path, name: str, out: Path, agent: str | None = None, delay: float = 0.0
) -> Any:
    p = CTX.Process(target=consume, args=(str(path), name, str(out), 0, agent, delay))
    p.start()
    return p


def test_no_change_lost_or_reordered_across_kills_and_restarts(tmp_path: Path) -> None:
    path, out = tmp_path / "m.db", tmp_path / "seen.jsonl"
    prepare(path)
    outcomes: list[Any] = []
    writers = threading.Thread(
        target=lambda: outcomes.extend(
            run_together(write_changes, [(str(path), w, PER_WRITER) for w in range(4)])
        )
    )
    consumer = start_consumer(path, "c1", out, delay=0.005)  # slow: killed mid-stream
    writers.start()
    kills = 0
    while kills < 2:
        # kill it mid-stream, once it has made progress since the last start
        before = len(lines(out))
        wait_until(lambda before=before: len(lines(out)) > before + 20, 60)
        consumer.kill()
        consumer.join()
        kills += 1
        consumer = start_consumer(path, "c1", out, delay=0.005 if kills < 2 else 0.0)
    writers.join()
    assert all(o[0] == "ok" for o in outcomes), outcomes
    with SharedMemory.open(path, index=None) as mem:
        head = mem.changes.head()
        expected = [c.seq for c in mem.changes.read(0, limit=100_000)]
    assert wait_until(lambda: bool(lines(out)) and lines(out)[-1]["seq"] == head, 60)
    consumer.kill()
    consumer.join()

    seen = [x["seq"] for x in lines(out)]
    first_time: list[int] = []
    for seq in seen:
        if seq not in first_time:
            first_time.append(seq)
    assert first_time == expected  # every change, each first seen in commit order
    assert len(expected) >= 4 * PER_WRITER * 2
    restarts = sum(1 for a, b in zip(seen, seen[1:], strict=False) if b <= a)
    assert restarts <= kills  # re-deliveries only where a killed consumer restarted
    assert len(seen) - len(expected) <= kills * 8  # at most one unacknowledged batch each


def test_agent_subscriber_in_another_process_never_sees_unreadable_scopes(
    tmp_path: Path,
) -> None:
    path, out = tmp_path / "m.db", tmp_path / "seen.jsonl"
    prepare(path)
    with SharedMemory.open(path, index=None) as mem:
        mem.access.grant_user("u1", "support", read=True)
    consumer = start_consumer(path, "support-1", out, agent="support")
    outcomes: list[Any] = []
    writers = threading.Thread(
        target=lambda: outcomes.extend(
            run_together(write_changes, [(str(path), w, PER_WRITER) for w in range(2)])
        )
    )
    writers.start()
    assert wait_until(lambda: any(x["scope"] == "user:u1" for x in lines(out)), 60)
    with SharedMemory.open(path, index=None) as mem:
        mem.access.revoke_user("u1", "support")
        revoked_at = mem.changes.head()
    writers.join()
    assert all(o[0] == "ok" for o in outcomes), outcomes
    with SharedMemory.open(path, index=None) as mem:
        head = mem.changes.head()
        app_facts = [c.seq for c in mem.changes.read(0, kinds="fact", scopes="app", limit=10**5)]
    assert wait_until(lambda: bool(lines(out)) and lines(out)[-1]["seq"] >= app_facts[-1], 60)
    time.sleep(0.2)
    consumer.kill()
    consumer.join()

    seen = lines(out)
    scopes = {x["scope"] for x in seen}
    assert scopes <= {"app", "user:u1", "None"}  # never run:rN (other runs), never others
    assert not [x for x in seen if x["scope"] == "user:u1" and x["seq"] > revoked_at]
    assert [x["seq"] for x in seen if x["kind"] == "fact" and x["scope"] == "app"] == app_facts
    assert all(x["seq"] <= head for x in seen)
