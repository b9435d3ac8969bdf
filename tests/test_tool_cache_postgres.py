"""The tool cache on PostgreSQL across processes: one real call per key, however many ask."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from langgraph_sharedmem import ToolCache
from tests import _tool_cache_workers as workers
from tests._spawn import run_together


def test_processes_calling_the_same_keys_make_one_real_call_per_key(
    postgres_db: str, tmp_path: Path
) -> None:
    """4 processes x 2 threads call the same 40 keys in different orders, then again once
    the results expired: each key runs exactly once per round."""
    keys, ttl, counter = 40, 2.0, str(tmp_path / "runs.txt")
    ToolCache(postgres_db).setup()
    outcomes = run_together(
        workers.many_keys_process,
        [(postgres_db, counter, f"p{i}", keys, ttl) for i in range(4)],
    )
    assert [o[3] for o in outcomes] == [None] * 4, [o[3] for o in outcomes if o[3]][0]
    assert all(o[1] for o in outcomes)  # every caller got the right answer
    ran = Counter(int(line) for line in Path(counter).read_text().split())
    assert ran == {k: 2 for k in range(keys)}  # one run per key per round, no more
    stats = [o[2] for o in outcomes]
    assert sum(s.misses for s in stats) == 2 * keys
    assert sum(s.hits + s.waits for s in stats) == 2 * 4 * 2 * keys - 2 * keys
    with ToolCache(postgres_db) as cache:
        shared = cache.shared_stats("lookup")
    assert (shared.entries, shared.runs) == (keys, 2 * keys)
