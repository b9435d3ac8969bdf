"""Benchmark the shared tool-call cache: hit latency, miss cost, and hits under threads.

    python bench/bench_tool_cache.py            # 5000 hits
    python bench/bench_tool_cache.py --quick    # a second
    python bench/bench_tool_cache.py --json out.json

A hit is one BEGIN IMMEDIATE transaction (look up the key, count the hit) plus decoding the
stored JSON; a miss adds taking the lease, the heartbeat thread and storing the result.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._stats import micros  # noqa: E402
from langgraph_sharedmem import ToolCache  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    n = 500 if opts.quick else 5000
    with tempfile.TemporaryDirectory() as tmp, ToolCache(Path(tmp) / "bench.db") as cache:

        @cache.cached
        def api(query: str, page: int = 1) -> dict[str, Any]:
            return {"query": query, "page": page, "items": list(range(20))}

        misses = []
        for i in range(n // 5):
            t0 = time.perf_counter()
            api("q", page=i)
            misses.append(time.perf_counter() - t0)
        hits = []
        for i in range(n):
            t0 = time.perf_counter()
            api("q", page=i % (n // 5))
            hits.append(time.perf_counter() - t0)
        results = {"hit": micros(hits), "miss": micros(misses), "stats": vars(cache.stats())}
    print(json.dumps(results, indent=2))
    if opts.json:
        opts.json.write_text(json.dumps({"results": results}, indent=2))


if __name__ == "__main__":
    main()
