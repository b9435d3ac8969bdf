"""Benchmark the change feed: wake-up checks, cross-process latency, and the write cost.

    python bench/bench_changes.py            # 4 writers x 300 facts; 3000 writes per arm
    python bench/bench_changes.py --quick    # a few seconds of work (plus process start-up)
    python bench/bench_changes.py --json out.json

1. *Wake-up check*: what one "did anything change?" look costs, for the candidates:
   ``PRAGMA data_version`` on a connection of its own, reading the log's newest seq, and
   ``os.stat`` of the ``-wal`` file (mtime). Microseconds per check.
2. *Latency*: 4 writer processes assert facts (each every ~``interval`` s), and subscriber
   processes measure commit -> delivery (``time.time() - change.at``): ours (data_version,
   1 ms polling backing off to 10 ms) and the naive baseline, a periodic re-read of the log
   every 100 ms ("periodic sync"). Goals: ours p50 < 20 ms, p99 < 100 ms.
3. *Write cost*: the time of a fact write and of a store put (user scope; run scope, whose
   log row carries the value) with the log written (``changelog.record`` /
   ``changelog.item_changes``) against the same code with both turned into no-ops, the arms
   alternating write by write; goal: under 10 % slower (median).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langgraph.store.base import PutOp  # noqa: E402

from bench._stats import micros, timings  # noqa: E402
from langgraph_sharedmem import SharedMemory  # noqa: E402
from langgraph_sharedmem.core import changelog  # noqa: E402

CTX = mp.get_context("spawn")


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


# -- 1. wake-up checks --------------------------------------------------------------------


def wake_checks(path: Path, count: int) -> dict[str, Any]:
    with SharedMemory.open(path, index=None) as mem:
        mem.facts.assert_fact("app", "s", "a", 1, author="bench")
    conn = sqlite3.connect(path, isolation_level=None)
    wal = f"{path}-wal"
    candidates = {
        "pragma_data_version": lambda: conn.execute("PRAGMA data_version").fetchone(),
        "max_seq": lambda: conn.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'changes'"
        ).fetchone(),
        "wal_mtime": lambda: os.stat(wal).st_mtime_ns,
    }
    out = {}
    for name, check in candidates.items():
        out[name] = micros(timings(check, count))
    conn.close()
    return out


# -- 2. latency ---------------------------------------------------------------------------


def _writer(
    path: str, worker: int, count: int, interval: float, barrier: Any, results: Any
) -> None:
    try:
        with SharedMemory.open(path, index=None) as mem:
            mem.facts.setup()
            barrier.wait()
            for i in range(count):
                mem.facts.assert_fact("app", f"w{worker}", f"a{i}", i, author=f"w{worker}")
                time.sleep(interval)
        results.put(("writer", worker, None))
    except BaseException:
        results.put(("error", worker, traceback.format_exc()))


def _subscriber(
    path: str, label: str, expected: int, fixed: float, barrier: Any, results: Any
) -> None:
    try:
        with SharedMemory.open(path, index=None) as mem:
            options = {} if not fixed else {"poll_interval": fixed, "max_poll_interval": fixed}
            sub = mem.changes.subscribe(None, kinds="fact", **options)
            barrier.wait()
            lat = []
            for change in sub.changes(idle_timeout=15):
                lat.append(time.time() - change.at)
                if len(lat) >= expected:
                    break
            sub.close()
        results.put(("subscriber", label, lat))
    except BaseException:
        results.put(("error", label, traceback.format_exc()))


def latency(path: Path, per_writer: int, interval: float) -> dict[str, Any]:
    with SharedMemory.open(path, index=None) as mem:
        mem.facts.setup()
        mem.changes.setup()
    writers, subs = 4, [("ours", 0.0), ("naive_poll_100ms", 0.1)]
    barrier, results = CTX.Barrier(writers + len(subs)), CTX.Queue()
    procs = [
        CTX.Process(
            target=_subscriber,
            args=(str(path), label, writers * per_writer, fixed, barrier, results),
        )
        for label, fixed in subs
    ] + [
        CTX.Process(target=_writer, args=(str(path), w, per_writer, interval, barrier, results))
        for w in range(writers)
    ]
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    errors = [g for g in got if g[0] == "error"]
    if errors:
        raise RuntimeError(errors)
    out: dict[str, Any] = {"writers": writers, "writes": writers * per_writer}
    for kind, label, lat in got:
        if kind == "subscriber":
            out[label] = {
                "delivered": len(lat),
                "p50_ms": round(percentile(lat, 0.50) * 1e3, 2),
                "p99_ms": round(percentile(lat, 0.99) * 1e3, 2),
                "max_ms": round(max(lat) * 1e3, 2),
            }
    out["naive_over_ours_p50"] = round(
        out["naive_poll_100ms"]["p50_ms"] / max(out["ours"]["p50_ms"], 1e-3), 1
    )
    return out


# -- 3. write cost ------------------------------------------------------------------------


def write_cost(path: Path, count: int, index: Any = None) -> dict[str, Any]:
    """Each write timed alone, the log on and off alternating write by write in one
    process, so the load of a shared machine falls on both arms alike."""
    saved = changelog.record, changelog.item_changes

    def off() -> None:
        changelog.record = lambda *a, **k: 0  # type: ignore[assignment]
        changelog.item_changes = lambda *a, **k: None  # type: ignore[assignment]

    def on() -> None:
        changelog.record, changelog.item_changes = saved  # type: ignore[misc]

    out: dict[str, Any] = {"writes_per_arm": count}
    with SharedMemory.open(path, index=index) as mem:
        mem.facts.setup()
        mem.store.setup()
        writes = {
            "fact_writes": lambda i: mem.facts.assert_fact("app", f"s{i}", "a", i, author="b"),
            "puts_user_scope": lambda i: mem.store.put(
                ("sharedmem", "user", "u1"), f"k{i}", {"i": i}
            ),
            "puts_run_scope": lambda i: mem.store.put(
                ("sharedmem", "run", "r1"), f"k{i}", {"i": i}
            ),
            # Throughput writers batch: one transaction of 100 puts (the log's page is shared).
            "batch_100_puts_user_scope": lambda i: mem.store.batch(
                [PutOp(("sharedmem", "user", "u2"), f"b{i}-{j}", {"j": j}) for j in range(100)]
            ),
        }
        for name, write in writes.items():
            times: dict[bool, list[float]] = {True: [], False: []}
            rounds = count if not name.startswith("batch") else max(count // 25, 20)
            for i in range(2 * rounds):
                logged = i % 2 == 0
                (on if logged else off)()
                try:
                    start = time.perf_counter()
                    write(i)
                    times[logged].append(time.perf_counter() - start)
                finally:
                    on()
            med_on, med_off = statistics.median(times[True]), statistics.median(times[False])
            mean_on, mean_off = statistics.mean(times[True]), statistics.mean(times[False])
            out[name] = {
                "with_feed_median_us": round(med_on * 1e6, 1),
                "without_feed_median_us": round(med_off * 1e6, 1),
                "cost_median_pct": round((med_on / med_off - 1) * 100, 1),
                "cost_mean_pct": round((mean_on / mean_off - 1) * 100, 1),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    per_writer, interval = (40, 0.01) if args.quick else (300, 0.01)
    count = 300 if args.quick else 5000
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "wake_check_us": wake_checks(Path(tmp) / "wake.db", 2000 if args.quick else 20000),
            "latency": latency(Path(tmp) / "latency.db", per_writer, interval),
            # Worst case: puts without embeddings, where a put is only its item row.
            "write_cost": write_cost(Path(tmp) / "cost.db", count),
            # What SharedMemory.open gives: puts embedded by the default index.
            "write_cost_default_index": write_cost(
                Path(tmp) / "cost_indexed.db", count // 2, index="default"
            ),
        }
    results["goals_met"] = {
        "p50_under_20ms": results["latency"]["ours"]["p50_ms"] < 20,
        "p99_under_100ms": results["latency"]["ours"]["p99_ms"] < 100,
        **{
            f"{arm}.{name}_cost_under_10pct": results[arm][name]["cost_median_pct"] < 10
            for arm in ("write_cost", "write_cost_default_index")
            for name in (
                "fact_writes",
                "puts_user_scope",
                "puts_run_scope",
                "batch_100_puts_user_scope",
            )
        },
    }
    text = json.dumps({"quick": args.quick, "results": results}, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)


if __name__ == "__main__":
    main()
