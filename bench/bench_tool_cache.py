"""Benchmark the shared tool-call cache: hit latency, miss cost, and hits while another
connection writes, against LangGraph's own SQLite node cache and a write-per-hit design.

    python bench/bench_tool_cache.py            # 5000 hits
    python bench/bench_tool_cache.py --quick    # a second or two
    python bench/bench_tool_cache.py --json out.json

* ``hit``: a decorated function called with arguments already cached. A hit is one read
  transaction (look the key up) plus decoding the stored JSON; its hit count is buffered and
  written with the next write (at most every second).
* ``langgraph_sqlite_cache_get``: ``langgraph.cache.sqlite.SqliteCache.get`` of one stored
  key with the same value (LangGraph's node cache; it does not share in-flight calls).
* ``*_under_writer``: the same while another connection takes the write lock for 2 ms out
  of every 4 ms (another process writing checkpoints). ``write_per_hit_under_writer``
  emulates counting every hit in its own ``BEGIN IMMEDIATE`` transaction (the cache's first
  design): that must wait for the writer, a read never does.
* ``miss``: first call of a trivial function: claim the lease, run, store.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langgraph.cache.sqlite import SqliteCache  # noqa: E402

from bench._stats import micros  # noqa: E402
from langgraph_sharedmem import ToolCache  # noqa: E402


def _timed(fn: Callable[[int], Any], n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t0)
    return out


class _Writer:
    """Another connection that holds the write lock for ``hold`` s out of every ``period``."""

    def __init__(self, path: Path, hold: float = 0.002, period: float = 0.004) -> None:
        self.path, self.hold, self.period = path, hold, period
        self.stop = threading.Event()
        self.commits = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        conn.execute("CREATE TABLE IF NOT EXISTS other_writes (x)")
        while not self.stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO other_writes VALUES (1)")
            time.sleep(self.hold)
            conn.execute("COMMIT")
            self.commits += 1
            time.sleep(self.period - self.hold)
        conn.close()

    def __enter__(self) -> _Writer:
        self.thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    n = 500 if opts.quick else 5000
    keys = n // 5
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        with ToolCache(path) as cache:

            @cache.cached(scope="app")  # called outside any LangGraph run: no run to scope to
            def api(query: str, page: int = 1) -> dict[str, Any]:
                return {"query": query, "page": page, "items": list(range(20))}

            misses = _timed(lambda i: api("q", page=i), keys)
            hits = _timed(lambda i: api("q", page=i % keys), n)

            lg = SqliteCache(path=str(Path(tmp) / "langgraph_cache.db"))
            value = {"query": "q", "page": 1, "items": list(range(20))}
            lg.set({(("api",), f"k{i}"): (value, 3600) for i in range(keys)})
            lg_hits = _timed(lambda i: lg.get([(("api",), f"k{i % keys}")]), n)

            from langgraph_sharedmem.toolcache import _protocol

            def write_per_hit(i: int) -> Any:
                key = f"page-{i % keys}"
                with cache.db.write() as conn:  # what counting each hit in SQL costs
                    conn.execute("UPDATE tool_calls SET hits = hits + 1 WHERE key = ?", (key,))
                return _protocol.lookup(cache.db, key)

            m = max(n // 10, 100)
            hits_busy: list[float] = []
            per_hit_busy: list[float] = []
            with _Writer(path) as writer:
                for i in range(m):  # interleaved: both meet the same writer
                    hits_busy += _timed(lambda _, i=i: api("q", page=i % keys), 1)
                    per_hit_busy += _timed(lambda _, i=i: write_per_hit(i), 1)
                    time.sleep(0.001)
            writer_commits = writer.commits
            stats = vars(cache.stats())
            shared = vars(cache.shared_stats())
    # Each summary once: the ratios below reuse them instead of sorting the samples again.
    hit, lg_get = micros(hits), micros(lg_hits)
    hit_busy, write_busy = micros(hits_busy), micros(per_hit_busy)
    results = {
        "hit": hit,
        "langgraph_sqlite_cache_get": lg_get,
        "miss": micros(misses),
        "hit_under_writer": hit_busy,
        "write_per_hit_under_writer": write_busy,
        "ratio_hit_vs_langgraph_get": round(hit["median_us"] / lg_get["median_us"], 2),
        "ratio_write_per_hit_vs_read_hit_under_writer_p95": round(
            write_busy["p95_us"] / hit_busy["p95_us"], 1
        ),
        "writer_commits_meanwhile": writer_commits,
        "stats": stats,
        "shared_stats": shared,
    }
    print(json.dumps(results, indent=2))
    if opts.json:
        opts.json.write_text(json.dumps({"results": results}, indent=2))


if __name__ == "__main__":
    main()
