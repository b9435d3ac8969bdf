"""Benchmark: how the cost of one SharedMemory grows with processes, items and threads.

Run::

    python bench/bench_scaling.py [--quick] [--big] [--items S ...] [--procs N] [--json OUT]

Methodology
-----------
For each backend (a SQLite file in a temp dir; a throwaway durable PostgreSQL 15 server from
``tests/_servers.py``, fsync on, a new database per cell) and each cell of the grid
(store items S x checkpoint threads T), the parent pre-fills the store with S items (~150 bytes,
over 20 users, ``store.batch``), then N writer processes (``--procs``, default 8) open one
``SharedMemory`` each, wait on one barrier and run the same mixed agent workload, round after
round. One round is six operations:

* ``turn``: ``graph.invoke`` of the checkpoint benchmark's graph (``bench_checkpointer.py``) on
  one of the process's T/N threads: one user message and one agent superstep (~500 bytes);
* ``put``: ``store.put`` of one item into a user's namespace;
* ``search`` (x2): ``store.search((\"users\", user), filter=..., limit=10)``, a scoped filtered
  search (no semantic index: this measures storage, not the embedder);
* ``fact``: one CAS increment of one of 8 shared counter facts (read, ``assert_fact`` with
  ``expected_version``, retried on conflict: the latency includes the retries);
* ``tool``: one call through ``@mem.tool_cache.cached(scope="app")`` over 200 keys (misses
  at first, then hits).

Per cell: throughput = all operations / time from the barrier to the last process done;
p50/p99 latency per operation kind over all processes; client CPU = the processes' CPU time
over (wall x cores); server CPU = the same for the ``postgres`` processes;
machine CPU = busy share of all cores from ``/proc/stat`` over the cell
(server included); write-lock wait: SQLite, the time spent in ``BEGIN IMMEDIATE`` (SQLite's
busy handler waiting for the file's write lock) over the processes' wall time; PostgreSQL,
``pg_stat_activity`` sampled every 20 ms: the mean share of the N backends waiting on a
``Lock``/``LWLock``, on ``IO`` (WAL flush) and running. Statements per operation are counted
in the processes (SQLite: the connection's trace callback; PostgreSQL: psycopg
``Cursor.execute`` and the checkpointer's prepared libpq calls; in pipeline mode several
statements share one round trip, so this is an
upper bound of the round trips). The bottleneck named per cell follows from those shares (see
`bottleneck`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

KINDS = ("turn", "put", "search", "fact", "tool")
ROUND = ("turn", "put", "search", "fact", "search", "tool")
USERS = 20
COUNTERS = 8
TOOL_KEYS = 200


@dataclass(frozen=True)
class Config:
    items: tuple[int, ...]
    threads: tuple[int, ...]
    rounds: int
    backends: tuple[str, ...] = ("sqlite", "postgres")


DEFAULT = Config(items=(1_000, 10_000), threads=(100, 1_000), rounds=100)
BIG = Config(items=(1_000, 10_000, 100_000), threads=(100, 1_000), rounds=100)
QUICK = Config(items=(1_000,), threads=(100,), rounds=10)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def item_value(i: int) -> dict[str, Any]:
    return {
        "text": f"note {i} about ticket {i % 97} and customer {i % 31}",
        "tag": f"t{i // USERS % 10}",
    }


def open_memory(target: str) -> Any:
    from langgraph_sharedmem import SharedMemory

    return SharedMemory.open(target, index=None, fact_matcher=None)


def prefill(target: str, items: int) -> None:
    from langgraph.store.base import PutOp

    mem = open_memory(target)
    try:
        ops = [
            PutOp(("users", f"u{i % USERS}", "notes"), f"pre{i}", item_value(i))
            for i in range(items)
        ]
        for start in range(0, len(ops), 1000):
            mem.store.batch(ops[start : start + 1000])
        mem.facts  # noqa: B018  (tables made here, not raced by N processes)
        mem.tool_cache  # noqa: B018
        mem.checkpointer.setup()
    finally:
        mem.close()


# -- the writer process ----------------------------------------------------------------------


class _Counter:
    """Statements run by this process, and seconds spent waiting for SQLite's write lock."""

    statements = 0
    lock_wait = 0.0


def _instrument(mem: Any) -> None:
    """Count statements and time write-lock waits in this process (see the module doc)."""
    if mem.db.dialect == "sqlite":
        from langgraph_sharedmem.core.sqlite import Database

        def trace(_sql: str) -> None:
            _Counter.statements += 1

        mem.db.conn.set_trace_callback(trace)
        retry = Database._retry_busy

        def timed_retry(self: Any, fn: Any) -> Any:
            # Inside a worker every `_retry_busy` call is a write's BEGIN IMMEDIATE, which
            # blocks in SQLite's busy handler until the write lock is free.
            started = time.perf_counter()
            try:
                return retry(self, fn)
            finally:
                _Counter.lock_wait += time.perf_counter() - started

        Database._retry_busy = timed_retry  # type: ignore[method-assign]
    else:
        import psycopg

        execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

        def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            _Counter.statements += 1
            return execute(self, *args, **kwargs)

        def counted_many(self: Any, *args: Any, **kwargs: Any) -> Any:
            _Counter.statements += 1
            return executemany(self, *args, **kwargs)

        psycopg.Cursor.execute = counted  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted_many  # type: ignore[method-assign]

        # The checkpointer's hot statements go through libpq, not a cursor.
        from langgraph_sharedmem.core.postgres import PostgresDatabase

        exec_prepared = PostgresDatabase._exec_prepared

        def counted_prepared(self: Any, *args: Any, **kwargs: Any) -> Any:
            _Counter.statements += 1
            return exec_prepared(self, *args, **kwargs)

        PostgresDatabase._exec_prepared = counted_prepared  # type: ignore[method-assign]


def writer(
    target: str, worker: int, procs: int, threads: int, rounds: int, barrier: Any, out: Any
) -> None:
    """One agent process: ``rounds`` rounds of `ROUND`; reports its timings and counts."""
    try:
        from bench_checkpointer import build_graph, thread_config, thread_input

        from langgraph_sharedmem import FactConflictError

        mem = open_memory(target)
        graph = build_graph(mem.checkpointer)
        store, facts = mem.store, mem.facts

        @mem.tool_cache.cached(scope="app", name="lookup")
        def lookup(key: int) -> dict[str, Any]:
            return {"key": key, "rows": list(range(20))}

        _instrument(mem)
        own = [f"t{j}" for j in range(worker, threads, procs)] or [f"t{worker}"]
        turns: dict[str, int] = {}
        conflicts = 0
        counter = [0]

        def turn() -> None:
            tid = own[counter[0] % len(own)]
            turns[tid] = turns.get(tid, 0) + 1
            graph.invoke(thread_input(tid), thread_config(tid, turns[tid]))

        def put() -> None:
            n = worker * 1_000_000 + counter[0]
            store.put(("users", f"u{n % USERS}", "notes"), f"w{n}", item_value(n))

        def search() -> None:
            n = worker * 7 + counter[0]
            store.search(("users", f"u{n % USERS}"), filter={"tag": f"t{n % 10}"}, limit=10)

        def fact() -> None:
            nonlocal conflicts
            name = f"c{(worker + counter[0]) % COUNTERS}"
            while True:
                current = facts.get("app", "counters", name)
                value, version = (0, 0) if current is None else (current.value, current.version)
                try:
                    facts.assert_fact(
                        "app",
                        "counters",
                        name,
                        value + 1,
                        author=f"w{worker}",
                        expected_version=version,
                    )
                    return
                except FactConflictError:
                    conflicts += 1

        def tool() -> None:
            lookup((worker * 13 + counter[0]) % TOOL_KEYS)

        ops = {"turn": turn, "put": put, "search": search, "fact": fact, "tool": tool}
        latencies: dict[str, list[float]] = {k: [] for k in KINDS}
        statements: dict[str, int] = dict.fromkeys(KINDS, 0)
        barrier.wait(timeout=600)
        wall0, cpu0, lock0 = time.perf_counter(), time.process_time(), _Counter.lock_wait
        for _ in range(rounds):
            for kind in ROUND:
                before = _Counter.statements
                started = time.perf_counter()
                ops[kind]()
                latencies[kind].append(time.perf_counter() - started)
                statements[kind] += _Counter.statements - before
            counter[0] += 1
        done = time.time()
        result = {
            "worker": worker,
            "done": done,
            "wall": time.perf_counter() - wall0,
            "cpu": time.process_time() - cpu0,
            "lock_wait": _Counter.lock_wait - lock0,
            "latencies": latencies,
            "statements": statements,
            "conflicts": conflicts,
            "error": None,
        }
        mem.close()
        out.put(result)
    except BaseException:
        import traceback

        out.put({"worker": worker, "error": traceback.format_exc()})


# -- the parent ------------------------------------------------------------------------------


def _proc_cpu(pid: int, children: bool) -> float:
    """CPU seconds of process ``pid`` (and of its reaped children when ``children``)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0  # gone meanwhile: its time is in its parent's reaped children now
    fields = text.rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11 : 15 if children else 13]) / os.sysconf("SC_CLK_TCK")


def postmaster_pid(url: str) -> int:
    """The pid of the server behind ``url``: the parent of one of its backends."""
    import psycopg

    with psycopg.connect(url) as conn:  # read while the backend lives: it exits on close
        (backend,) = conn.execute("SELECT pg_backend_pid()").fetchone()  # type: ignore[misc]
        return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def server_cpu(postmaster: int) -> float:
    """CPU seconds used so far by this server: the postmaster, its reaped backends and its
    live ones (other PostgreSQL servers on the machine are not counted)."""
    total = _proc_cpu(postmaster, children=True)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == postmaster:
            total += _proc_cpu(int(stat.parent.name), children=False)
    return total


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def advisory_lock_names() -> dict[int, str]:
    """The package's advisory lock keys, by the name of their constant."""
    from langgraph_sharedmem.agents import _schema_pg as acl
    from langgraph_sharedmem.conversation import _schema_pg as conversation
    from langgraph_sharedmem.core import changelog_pg, postgres
    from langgraph_sharedmem.facts import _schema_pg as facts
    from langgraph_sharedmem.registry import _schema_pg as registry

    return {
        facts.FACTS_LOCK: "FACTS_LOCK",
        acl.ACL_LOCK: "ACL_LOCK",
        registry.REGISTRY_LOCK: "REGISTRY_LOCK",
        conversation.CONVERSATION_LOCK: "CONVERSATION_LOCK",
        postgres.MIGRATION_LOCK: "MIGRATION_LOCK",
        changelog_pg.LOG_LOCK: "LOG_LOCK (change log)",
    }


class PgSampler(threading.Thread):
    """Samples pg_stat_activity of one database every 20 ms: what its backends are doing."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stop, self.samples = url, threading.Event(), 0
        self.counts = {"running": 0, "lock": 0, "io": 0, "idle": 0, "other": 0}
        self.waits: dict[str, int] = {}  # which locks and IO: "Lock:advisory", "IO:WALSync"

    def run(self) -> None:
        import psycopg

        names = advisory_lock_names()
        dbname = self.url.rsplit("/", 1)[1]
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            while not self.stop.wait(0.02):
                rows = conn.execute(
                    "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                    "WHERE datname = %s AND backend_type = 'client backend'",
                    (dbname,),
                ).fetchall()
                self.samples += 1
                for (key,) in conn.execute(
                    "SELECT (l.classid::bigint << 32) | l.objid::bigint FROM pg_locks AS l "
                    "JOIN pg_database AS d ON d.oid = l.database "
                    "WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = %s",
                    (dbname,),
                ).fetchall():
                    name = f"advisory:{names.get(key, 'a key (one fact or tool call)')}"
                    self.waits[name] = self.waits.get(name, 0) + 1
                for state, wait, event in rows:
                    if wait in ("Lock", "LWLock", "IO"):
                        name = f"{wait}:{event}"
                        self.waits[name] = self.waits.get(name, 0) + 1
                    if state == "active" and wait is None:
                        self.counts["running"] += 1
                    elif wait in ("Lock", "LWLock"):
                        self.counts["lock"] += 1
                    elif wait == "IO":
                        self.counts["io"] += 1
                    elif wait == "Client" or state in ("idle", "idle in transaction"):
                        self.counts["idle"] += 1  # waiting on its process (or idle in the pool)
                    else:
                        self.counts["other"] += 1

    def shares(self, procs: int) -> dict[str, float]:
        """Mean share of the ``procs`` writers in each state. A process runs one statement
        at a time, so at most one of its pooled backends is active; the idle ones are the
        rest of its pool ("idle" is a count per process, not a share)."""
        return {k: v / max(self.samples, 1) / procs for k, v in self.counts.items()}


def run_cell(target: str, procs: int, threads: int, rounds: int) -> dict[str, Any]:
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(procs + 1), ctx.Queue()
    workers = [
        ctx.Process(target=writer, args=(target, w, procs, threads, rounds, barrier, out))
        for w in range(procs)
    ]
    for p in workers:
        p.start()
    try:
        return _measure_cell(target, procs, rounds, workers, barrier, out)
    finally:
        for p in workers:  # a failed cell must not leave writers retrying a stopped server
            if p.is_alive():
                p.terminate()
            p.join(timeout=60)


def _measure_cell(
    target: str, procs: int, rounds: int, workers: list[Any], barrier: Any, out: Any
) -> dict[str, Any]:
    barrier.wait(timeout=600)
    sampler = PgSampler(target) if target.startswith("postgresql://") else None
    if sampler:
        sampler.start()
    busy0, total0 = cpu_times()
    postmaster = postmaster_pid(target) if sampler else 0
    server0 = server_cpu(postmaster) if sampler else 0.0
    started = time.time()
    results = [out.get(timeout=1800) for _ in workers]
    busy1, total1 = cpu_times()
    server1 = server_cpu(postmaster) if sampler else 0.0
    if sampler:
        sampler.stop.set()
        sampler.join()
    for p in workers:
        p.join(timeout=60)
    errors = [r["error"] for r in results if r["error"]]
    if errors:
        raise RuntimeError(f"a writer failed:\n{errors[0]}")
    seconds = max(r["done"] for r in results) - started
    mem = open_memory(target)
    try:  # every CAS increment must have landed: a fast but lossy cell is not a result
        counted = sum(
            f.value
            for i in range(COUNTERS)
            if (f := mem.facts.get("app", "counters", f"c{i}")) is not None
        )
    finally:
        mem.close()
    ops = procs * rounds * len(ROUND)
    cores = os.cpu_count() or 1
    latency = {}
    for kind in KINDS:
        samples = sorted(s for r in results for s in r["latencies"][kind])
        latency[kind] = {
            "p50_ms": statistics.median(samples) * 1000,
            "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
            "statements_per_op": sum(r["statements"][kind] for r in results) / len(samples),
        }
    wall = sum(r["wall"] for r in results)
    cell = {
        "ops": ops,
        "seconds": seconds,
        "ops_per_s": ops / seconds,
        "latency": latency,
        "client_cpu": sum(r["cpu"] for r in results) / (seconds * cores),
        "server_cpu": (server1 - server0) / (seconds * cores),
        "machine_cpu": (busy1 - busy0) / max(total1 - total0, 1),
        "fact_conflicts": sum(r["conflicts"] for r in results),
        "lost_increments": procs * rounds - counted,
        "lock_wait": sum(r["lock_wait"] for r in results) / wall,
    }
    if sampler:
        cell["pg_backends"] = sampler.shares(procs)
        cell["lock_wait"] = cell["pg_backends"]["lock"]
        cell["pg_waits"] = {
            k: round(v / max(sampler.samples, 1) / procs, 3)
            for k, v in sorted(sampler.waits.items(), key=lambda kv: -kv[1])
        }
    cell["bottleneck"] = bottleneck(cell)
    return cell


def bottleneck(cell: dict[str, Any]) -> str:
    """The limiting resource: CPU when the cores are >= 85% busy (naming its biggest user:
    the writer processes, the server or other work on the machine); the write lock when the
    writers wait for it >= 25% of their time (both are named when both hold: on an
    oversubscribed machine a lock holder that is descheduled makes the others wait); else
    WAL flushes (PostgreSQL backends in IO); else round trips (processes mostly waiting on
    the network or the other side)."""
    locked = cell["lock_wait"] >= 0.25
    if cell["machine_cpu"] >= 0.85:
        users = {
            "client": cell["client_cpu"],
            "server": cell["server_cpu"],
            "other work": cell["machine_cpu"] - cell["client_cpu"] - cell["server_cpu"],
        }
        return f"CPU ({max(users, key=users.__getitem__)})" + (" + write lock" if locked else "")
    if locked:
        return "write lock"
    if cell.get("pg_backends", {}).get("io", 0) >= 0.25:
        return "WAL fsync"
    return "round trips" if "pg_backends" in cell else "fsync/latency"


def measure(cfg: Config, procs: int, pg_url: str | None, tmp: Path) -> list[dict[str, Any]]:
    import psycopg

    cells = []
    n = 0
    for backend in cfg.backends:
        for items in cfg.items:
            for threads in cfg.threads:
                n += 1
                if backend == "sqlite":
                    target = str(tmp / f"cell{n}.db")
                else:
                    assert pg_url is not None
                    with psycopg.connect(pg_url, autocommit=True) as conn:
                        conn.execute(f"CREATE DATABASE scaling_{n}")
                    target = pg_url.rsplit("/", 1)[0] + f"/scaling_{n}"
                log(f"{backend}: {items} items, {threads} threads, {procs} processes")
                started = time.perf_counter()
                prefill(target, items)
                prefill_s = time.perf_counter() - started
                cell = run_cell(target, procs, threads, cfg.rounds)
                cells.append(
                    {"backend": backend, "items": items, "threads": threads, "procs": procs}
                    | {"prefill_s": prefill_s}
                    | cell
                )
                log(f"  {cell['ops_per_s']:.0f} ops/s, bottleneck: {cell['bottleneck']}")
    return cells


def render(cells: list[dict[str, Any]]) -> list[str]:
    header = [
        "backend", "items", "threads", "ops/s",
        *(f"{k} p50/p99 ms" for k in KINDS),
        "client CPU", "server CPU", "machine CPU", "lock wait", "stmts/turn", "bottleneck",
    ]  # fmt: skip
    rows = []
    for c in cells:
        lat = c["latency"]
        rows.append(
            [
                c["backend"],
                f"{c['items']:,}",
                f"{c['threads']:,}",
                f"{c['ops_per_s']:.0f}",
                *(f"{lat[k]['p50_ms']:.1f}/{lat[k]['p99_ms']:.0f}" for k in KINDS),
                f"{c['client_cpu']:.0%}",
                f"{c['server_cpu']:.0%}" if c["backend"] == "postgres" else "-",
                f"{c['machine_cpu']:.0%}",
                f"{c['lock_wait']:.0%}",
                f"{lat['turn']['statements_per_op']:.0f}",
                c["bottleneck"],
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return [
        " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
        *(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny grid, under a minute")
    parser.add_argument("--big", action="store_true", help="add 100k items (takes long)")
    parser.add_argument("--procs", type=int, default=8, help="writer processes (default 8)")
    parser.add_argument("--json", metavar="OUT", type=Path, help="write all numbers here")
    parser.add_argument(
        "--backend", choices=("sqlite", "postgres"), action="append", help="default: both"
    )
    parser.add_argument(
        "--items",
        type=int,
        action="append",
        help="store sizes to run, instead of the grid's (e.g. --items 100000)",
    )
    args = parser.parse_args(argv)
    if args.procs < 1:
        parser.error("--procs must be >= 1")
    cfg = QUICK if args.quick else BIG if args.big else DEFAULT
    procs = min(args.procs, 4) if args.quick else args.procs
    if args.backend:
        cfg = Config(cfg.items, cfg.threads, cfg.rounds, tuple(args.backend))
    if args.items:
        cfg = Config(tuple(args.items), cfg.threads, cfg.rounds, cfg.backends)
    from tests._servers import postgres_server

    with tempfile.TemporaryDirectory() as tmp:
        if "postgres" in cfg.backends:
            with postgres_server(fast=False) as url:  # durable: fsync on, as in production
                cells = measure(cfg, procs, url, Path(tmp))
        else:
            cells = measure(cfg, procs, None, Path(tmp))
    load = os.getloadavg()[0]  # other helpers share this machine: said, not hidden
    print(f"load average {load:.1f} at the end (other work on the machine counts in machine CPU)")
    print(
        f"{procs} writer processes on {os.cpu_count()} cores, {cfg.rounds} rounds of "
        f"{len(ROUND)} ops each; PostgreSQL 15 on 127.0.0.1, fsync on"
    )
    print("\n".join(render(cells)))
    if args.json:
        args.json.write_text(
            json.dumps({"config": cfg.__dict__, "procs": procs, "cells": cells}, indent=2)
        )
    lost = sum(c["lost_increments"] for c in cells)
    print(f"lost fact increments: {lost}")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
