"""Benchmark the fact ledger: write and read latency, and CAS throughput under processes.

    python bench/bench_facts.py            # 2000 facts, 4 processes x 200 increments
    python bench/bench_facts.py --quick    # a few seconds
    python bench/bench_facts.py --json out.json
    python bench/bench_facts.py --postgres # the same on a throwaway durable PostgreSQL

Latencies are per call on one connection (median and p95 in microseconds). The CAS runs have
every process increment ONE counter fact (read, compare-and-set, retry on conflict): the worst
case, all writers on one row; and each process its OWN fact (writers that share nothing but
the ledger); they report committed increments per second and conflicts. With ``--postgres``
the same runs go to a PostgreSQL 15 started for the run (``tests/_servers.py``, fsync on, a
new database per part), and the CAS latency gets its p99 too.

The validation part (docs/validation.md) compares, in the same run: a quarantined write
tagged with its run against a plain verified write; an author's read (``viewer=``, which
also looks for its own quarantined claim) against a plain read; and a validation node
clearing N quarantined claims (schema + a check, logged, each decision keyed and recorded)
against the naive loop of one ``set_status`` per claim.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._stats import micros  # noqa: E402
from langgraph_sharedmem import FactLedger  # noqa: E402
from tests import _facts_workers  # noqa: E402


def _timed(fn: Any, count: int) -> list[float]:
    out = []
    for i in range(count):
        start = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - start)
    return out


def latencies(path: Path | str, count: int) -> dict[str, Any]:
    with FactLedger(path) as ledger:
        ledger.setup()
        scope = ("user", "u1")
        new = _timed(
            lambda i: ledger.assert_fact(
                scope, f"s{i}", "a", {"n": i}, author="bench", source={"run": "r1"}
            ),
            count,
        )
        same = _timed(
            lambda i: ledger.assert_fact(scope, f"s{i}", "a", {"n": i}, author="other"), count
        )
        update = _timed(
            lambda i: ledger.assert_fact(
                scope, f"s{i}", "a", {"n": -i}, author="other", expected_version=1
            ),
            count,
        )
        read = _timed(lambda i: ledger.get(scope, f"s{i}", "a"), count)
        start = time.perf_counter()
        listed = len(ledger.list(scope))
        list_s = time.perf_counter() - start
    return {
        "assert_new_fact": micros(new),
        "assert_same_value_new_source": micros(same),
        "assert_cas_disagreement_latest_wins": micros(update),
        "assert_cas_disagreement_p99_us": round(sorted(update)[int(count * 0.99) - 1] * 1e6, 1),
        "get": micros(read),
        f"list_{listed}_facts_ms": round(list_s * 1e3, 1),
    }


def validation(path: Path | str, count: int) -> dict[str, Any]:
    from pydantic import BaseModel

    from langgraph_sharedmem import Check, validation_node

    class Value(BaseModel):
        n: int

    with FactLedger(path) as ledger:
        ledger.setup()
        scope = ("run", "r1")
        plain = _timed(
            lambda i: ledger.assert_fact(scope, f"p{i}", "a", {"n": i}, author="bench"), count
        )
        held = _timed(
            lambda i: ledger.assert_fact(
                scope, f"q{i}", "a", {"n": i}, author="bench", status="quarantined", run="r1"
            ),
            count,
        )
        read = _timed(lambda i: ledger.get(scope, f"p{i}", "a"), count)
        author_read = _timed(lambda i: ledger.get(scope, f"p{i}", "a", viewer="bench"), count)
        start = time.perf_counter()
        pending = ledger.pending(run="r1")
        pending_s = time.perf_counter() - start
        node = validation_node(
            ledger, [Check(lambda c: c.value["n"] >= 0, name="sign")], schemas={"a": Value}
        )
        start = time.perf_counter()
        report = node.invoke({}, {"configurable": {"thread_id": "r1"}})["validation"]
        node_s = time.perf_counter() - start
        assert len(report["verified"]) == count, report["status"]
        # The naive way: no validators, no log, no decision records, one set_status each.
        for i in range(count):
            ledger.assert_fact(
                scope, f"n{i}", "a", {"n": i}, author="bench", status="quarantined", run="r2"
            )
        start = time.perf_counter()
        for claim in ledger.pending(run="r2"):
            ledger.set_status(claim.claim_id, "verified", by="naive", reason="ok")
        naive_s = time.perf_counter() - start
    ratio = lambda a, b: round(a["median_us"] / b["median_us"], 2)  # noqa: E731
    quarantined, verified = micros(held), micros(plain)
    viewer, get = micros(author_read), micros(read)
    return {
        "assert_quarantined_with_run": quarantined,
        "assert_verified": verified,
        "quarantined_vs_verified_write": ratio(quarantined, verified),
        "get_as_author": viewer,
        "get": get,
        "author_vs_plain_read": ratio(viewer, get),
        f"pending_{len(pending)}_claims_ms": round(pending_s * 1e3, 1),
        f"node_clears_{count}_claims_ms": round(node_s * 1e3, 1),
        f"naive_set_status_{count}_claims_ms": round(naive_s * 1e3, 1),
        "node_vs_naive": round(node_s / naive_s, 2),
        "node_per_claim_us": round(node_s / count * 1e6, 1),
    }


def cas_throughput(
    path: Path | str, workers: int, count: int, *, own_fact: bool = False
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers + 1), ctx.Queue()
    names = [f"done{w}" if own_fact else "done" for w in range(workers)]
    procs = [
        ctx.Process(
            target=_facts_workers.increment,
            args=(str(path), w, count, barrier, results, names[w]),
        )
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    barrier.wait(timeout=120)  # start the clock when every worker has opened the file
    start = time.perf_counter()
    outcomes = [results.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - start
    for p in procs:
        p.join(timeout=60)
    errors = [err for *_, err in outcomes if err]
    if errors:
        raise RuntimeError(errors[0])
    with FactLedger(path) as ledger:
        total = sum(ledger.get("app", "jobs", name).value for name in set(names))  # type: ignore[union-attr]
    assert total == workers * count, "lost an update"
    return {
        "processes": workers,
        "increments": workers * count,
        "seconds": round(elapsed, 2),
        "increments_per_s": round(workers * count / elapsed),
        "conflicts_retried": sum(c for _, c, _ in outcomes),
    }


@contextmanager
def targets(tmp: Path, postgres: bool) -> Iterator[Callable[[str], str]]:
    """``target(name)``: a new SQLite file, or a new database on a throwaway PostgreSQL."""
    if not postgres:
        yield lambda name: str(tmp / f"{name}.db")
        return
    import psycopg

    from tests._servers import postgres_server

    with postgres_server(fast=False) as url:  # durable: fsync on, as in production

        def target(name: str) -> str:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE bench_{name}")
            return url.rsplit("/", 1)[0] + f"/bench_{name}"

        yield target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--postgres", action="store_true", help="on a throwaway PostgreSQL")
    args = parser.parse_args()
    facts, workers, count = (200, 4, 25) if args.quick else (2000, 4, 200)
    with tempfile.TemporaryDirectory() as tmp, targets(Path(tmp), args.postgres) as target:
        result = {
            "backend": "postgres" if args.postgres else "sqlite",
            "latency": latencies(target("lat"), facts),
            "validation": validation(target("val"), facts // 2),
            "cas": cas_throughput(target("cas"), workers, count),
            "cas_own_fact": cas_throughput(target("own"), workers, count, own_fact=True),
        }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
