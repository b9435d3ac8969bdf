"""Benchmark agent views against the bare store: what do the access checks and audit cost?

    python bench/bench_views.py            # 2000 items, 15 rounds
    python bench/bench_views.py --quick    # a few seconds
    python bench/bench_views.py --json out.json

Each pair reads the same item(s) from the same namespace, once through the store and once
through a view (grant check against the cached permissions + the grants version, audit row
buffered); the two are interleaved in rounds on one database, so background noise hits both,
and the ratio is the median of per-round ratios. The goal is <= 1.10.

* get: ``view.get(key, scope="user")`` vs ``store.get(("sharedmem", "user", uid), key)``
* recall: ``view.recall(key)`` (run, agent, user, app in one batch) vs the same four GetOps
* search: ``view.search(q, scope="user")`` vs ``store.search(user namespace, query=q)``
* list: ``view.list("user")`` vs ``store.search(user namespace)`` (no query)

Fact write/read latency and CAS throughput under 4 processes: ``bench/bench_facts.py``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langgraph.store.base import GetOp  # noqa: E402

from langgraph_sharedmem import SharedMemory  # noqa: E402
from langgraph_sharedmem.agents import namespace  # noqa: E402
from langgraph_sharedmem.facts import Scope  # noqa: E402

WORDS = [
    "invoice",
    "refund",
    "plan",
    "upgrade",
    "card",
    "address",
    "shipping",
    "delay",
    "coupon",
    "tax",
]


def _per_call(fn: Any, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n


def run(items: int, rounds: int, calls: int, search_calls: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, SharedMemory.open(Path(tmp) / "bench.db") as mem:
        acl = mem.access
        acl.register_agent("billing")
        acl.register_user("u1")
        acl.grant_user("u1", "billing", read=True, write=True)
        view = mem.agent("billing", user_id="u1", run_id="r1")
        store = mem.store
        user_ns = namespace(Scope.user("u1"))
        for i in range(items):
            text = f"{WORDS[i % 10]} note {i} about {WORDS[(i * 7) % 10]}"
            store.put(user_ns, f"k{i}", {"text": text})
        keys = [f"k{(i * 37) % items}" for i in range(calls)]
        recall_ns = [namespace(s) for s in (Scope.run("r1"), Scope.agent("billing"))]
        recall_ns += [user_ns, namespace(Scope.app())]
        pairs = {
            "get": (
                lambda i: store.get(user_ns, keys[i], refresh_ttl=False),
                lambda i: view.get(keys[i], scope="user"),
                calls,
            ),
            "recall": (
                lambda i: store.batch([GetOp(ns, keys[i], False) for ns in recall_ns]),
                lambda i: view.recall(keys[i]),
                calls,
            ),
            "search": (
                lambda i: store.search(user_ns, query=f"{WORDS[i % 10]} {i}", limit=5),
                lambda i: view.search(f"{WORDS[i % 10]} {i}", scope="user", limit=5),
                search_calls,
            ),
            "list": (
                lambda i: store.search(user_ns, limit=20),
                lambda i: view.list("user", limit=20),
                search_calls,
            ),
        }
        for bare, viewed, n in pairs.values():  # warm caches, vector cache, audit table
            _per_call(bare, min(n, 50))
            _per_call(viewed, min(n, 50))
        out: dict[str, Any] = {}
        for name, (bare, viewed, n) in pairs.items():
            bare_t, view_t, ratios = [], [], []
            for r in range(rounds):
                first, second = (bare, viewed) if r % 2 == 0 else (viewed, bare)
                a = _per_call(first, n)
                b = _per_call(second, n)
                tb, tv = (a, b) if r % 2 == 0 else (b, a)
                bare_t.append(tb)
                view_t.append(tv)
                ratios.append(tv / tb)
            out[name] = {
                "store_us": round(statistics.median(bare_t) * 1e6, 1),
                "view_us": round(statistics.median(view_t) * 1e6, 1),
                "ratio": round(statistics.median(ratios), 3),
            }
        mem.access.audit_log.flush()
        out["audit_rows"] = len(mem.audit(limit=10**9))
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.quick:
        results = run(items=300, rounds=5, calls=300, search_calls=20)
    else:
        results = run(items=2000, rounds=15, calls=2000, search_calls=100)
    print(f"{'read':8} {'store':>10} {'view':>10} {'ratio':>7}  (goal <= 1.10)")
    for name, r in results.items():
        if isinstance(r, dict):
            print(f"{name:8} {r['store_us']:>8}us {r['view_us']:>8}us {r['ratio']:>7}")
    print(f"audit rows written: {results['audit_rows']}")
    if args.json:
        args.json.write_text(json.dumps({"results": results}, indent=2))


if __name__ == "__main__":
    main()
