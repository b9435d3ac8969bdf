"""Benchmark: SharedMemorySaver on PostgreSQL against LangGraph's PostgresSaver.

Run::

    python bench/bench_postgres.py [--quick] [--floor] [--lengths] [--warm] [--json OUT]

Methodology
-----------
One throwaway PostgreSQL 15 server is started for the run (``tests/_servers.py``, the helper the
tests use) on 127.0.0.1 with its durable defaults: fsync on, ``synchronous_commit=on``, so every
commit waits for its WAL flush, for both savers. Every measurement gives each saver a brand-new
database on that server, and drives the workload of ``bench_checkpointer.py`` through it: a
loop graph whose one node appends ONE ``AIMessage`` of ~500 bytes per superstep to an
``add_messages`` channel, so a step is one superstep (one checkpoint).

1. Throughput with 1 writer: ``threads x steps`` (4 x 100; 2 x 20 quick) run one after another
   with ``graph.invoke`` in this process. Steps/s = total steps / wall time.
2. Throughput with 8 writer processes (4 quick): each spawned process opens its saver, waits
   on one barrier, then runs its own thread of ``steps`` (100; 20 quick) steps. Steps/s = all
   steps / time from the barrier to the last process done.
   The same again with threads of ``long_writer_steps`` (400; 50 quick): how the ratio moves
   with thread length, since PostgresSaver's put rewrites a thread's whole message list.
   Every throughput runs 3 times (1 quick), alternating the savers, each run on a new
   database; the median run is reported and every run is in the JSON.
   The 8-writer runs also count CPU time per step from the barrier on: the writers' own
   (``process_time``, all threads) and the server's (the postmaster, its backends and
   background processes, from ``/proc``): on 2 cores, what a step costs the machine, which
   is what bounds steps/s when 8 processes share it.
3. Bytes per step: one thread of 800 steps (50 quick); the sum of ``pg_total_relation_size``
   (table + indexes + TOAST) of the saver's tables, divided by the steps. Nothing is vacuumed.
   The steps/s of building that thread is reported too, and the server's WAL flushes per step
   (``pg_stat_wal.wal_sync`` over the build): each is a commit waiting for the disk, and
   LangGraph's protocol makes two of them a step durable (the task's writes, then the
   checkpoint), which bounds one writer's steps/s for any saver that keeps that guarantee.
4. ``graph.get_state`` at the end of that thread: median of 20 calls after one warm-up, in the
   process that wrote it.

``--lengths`` measures how the throughput ratios move with thread length: the 1-writer and the
8-writer runs again with threads of each of ``lengths`` steps (25 to 400; 10 quick), each
3 times alternating the savers (1 quick), medians reported. PostgresSaver's put rewrites the
thread's whole message list, ours appends a segment, so the ratio grows with the thread; this
says from which length on a given ratio holds.

``--warm`` has each saver run a 5-step thread of its own before the clock starts (in every
writer process too): the throughputs are then those of a long-lived process, without the
first use of each pooled connection (ours opens 3 a process, on demand; PostgresSaver 1, at
open) that a fresh process pays.

``--floor`` adds a third saver to the throughput runs: `BareDurableSaver`, which keeps only
what LangGraph's protocol makes a step cost any durable saver -- the task's writes and the
checkpoint each committed by one round trip (a bare ``INSERT`` of two ids) -- and stores
nothing else, so nothing can be resumed from it. Its steps/s bound what any saver keeping those
two durable commits can reach here, and how far ours is from that bound.

Correctness: the final messages of every thread are hashed and must agree between the savers.
Ratios are ours / theirs for throughput and theirs / ours for bytes and latency, so > 1 is
always "ours is better".
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import psycopg  # noqa: E402
from bench_checkpointer import (  # noqa: E402
    build_graph,
    messages_digest,
    thread_config,
    thread_input,
)
from bench_scaling import postmaster_pid, server_cpu  # noqa: E402
from langchain_core.runnables import RunnableConfig  # noqa: E402
from langgraph.checkpoint.base import (  # noqa: E402
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
)
from langgraph.checkpoint.postgres import PostgresSaver  # noqa: E402
from psycopg_pool import ConnectionPool  # noqa: E402

from langgraph_sharedmem import SharedMemorySaver  # noqa: E402
from tests._servers import postgres_server  # noqa: E402

Kind = Literal["ours", "postgres", "floor"]
KINDS: tuple[Kind, ...] = ("ours", "postgres")
NAMES = {"ours": "SharedMemorySaver", "postgres": "PostgresSaver", "floor": "BareDurableSaver"}
TABLES = {
    "ours": ("checkpoints", "channel_values", "writes"),
    "postgres": ("checkpoints", "checkpoint_blobs", "checkpoint_writes", "checkpoint_migrations"),
}
CTX = mp.get_context("spawn")


@dataclass(frozen=True)
class Config:
    threads: int
    steps: int
    writers: int
    writer_steps: int
    long_writer_steps: int
    long_steps: int
    repeats: int
    runs: int
    lengths: tuple[int, ...]
    warm_steps: int = 0  # a thread each saver runs before the clock starts (0: none)


FULL = Config(
    threads=4,
    steps=100,
    writers=8,
    writer_steps=100,
    long_writer_steps=400,
    long_steps=800,
    repeats=20,
    runs=3,
    lengths=(25, 50, 100, 200, 400),
)
QUICK = Config(
    threads=2,
    steps=20,
    writers=4,  # a smoke run: spawning the processes is most of its time
    writer_steps=20,
    long_writer_steps=50,
    long_steps=50,
    repeats=5,
    runs=1,
    lengths=(10,),
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Server:
    """The run's PostgreSQL server: hands out a new database per measurement."""

    def __init__(self, url: str, prefix: str = "bench") -> None:
        self.url = url
        self.prefix = prefix
        self._count = 0

    def new_database(self) -> str:
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url.rsplit("/", 1)[0] + "/" + name


class BareDurableSaver(BaseCheckpointSaver[Any]):
    """The bound, not a saver: each put and put_writes commits one two-id row, and nothing
    is ever read back (every thread starts afresh)."""

    def __init__(self, url: str) -> None:
        super().__init__()
        # Two at once, as LangGraph runs a put and a task's writes together.
        self.pool = ConnectionPool(
            url, min_size=2, max_size=4, kwargs={"autocommit": True}, open=False
        )  # opened by open_saver

    def setup(self) -> None:
        with self.pool.connection() as conn:
            for table in ("bare_checkpoints", "bare_writes"):
                conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (thread_id text, id text)")

    def get_tuple(self, config: RunnableConfig) -> None:
        return None

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        thread_id = config["configurable"]["thread_id"]
        with self.pool.connection() as conn:
            conn.execute(
                "INSERT INTO bare_checkpoints VALUES (%s, %s)", (thread_id, checkpoint["id"])
            )
        return {"configurable": {**config["configurable"], "checkpoint_id": checkpoint["id"]}}

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        thread_id = config["configurable"]["thread_id"]
        with self.pool.connection() as conn:
            conn.execute("INSERT INTO bare_writes VALUES (%s, %s)", (thread_id, task_id))


@contextmanager
def open_saver(kind: Kind, url: str) -> Iterator[BaseCheckpointSaver[Any]]:
    if kind == "floor":
        bare = BareDurableSaver(url)
        with bare.pool:
            bare.setup()
            yield bare
    elif kind == "ours":
        with SharedMemorySaver.from_conn_string(url) as saver:
            saver.setup()
            yield saver
    else:
        with PostgresSaver.from_conn_string(url) as theirs:
            theirs.setup()
            yield theirs


def run_thread(saver: BaseCheckpointSaver[Any], thread_id: str, steps: int) -> str:
    graph = build_graph(saver)
    cfg = thread_config(thread_id, steps)
    graph.invoke(thread_input(thread_id), cfg)
    if isinstance(saver, BareDurableSaver):
        return ""  # it keeps no state to read back
    return messages_digest(graph.get_state(cfg).values["messages"])


# -- measurements ----------------------------------------------------------------------------


def warm_up(saver: BaseCheckpointSaver[Any], cfg: Config, name: str) -> None:
    """Bring the saver to its steady state (connections open and warmed up) before the clock."""
    if cfg.warm_steps:
        run_thread(saver, f"warm-{name}", cfg.warm_steps)


def one_writer(kind: Kind, url: str, cfg: Config) -> dict[str, Any]:
    with open_saver(kind, url) as saver:
        warm_up(saver, cfg, "one")
        started = time.perf_counter()
        digests = [run_thread(saver, f"t{i}", cfg.steps) for i in range(cfg.threads)]
        seconds = time.perf_counter() - started
    return {"steps_per_s": cfg.threads * cfg.steps / seconds, "digests": digests}


def writer_process(
    kind: Kind, url: str, worker: int, cfg: Config, steps: int, barrier: Any, out: Any
) -> None:
    try:
        with open_saver(kind, url) as saver:
            build_graph(saver)  # compile before the clock starts
            warm_up(saver, cfg, str(worker))
            barrier.wait()
            cpu = time.process_time()
            digest = run_thread(saver, f"w{worker}", steps)
            cpu = time.process_time() - cpu
        out.put((worker, time.time(), digest, None, cpu))
    except BaseException as exc:  # reported, never swallowed: the parent fails the run
        out.put((worker, time.time(), None, f"{type(exc).__name__}: {exc}", 0.0))


def many_writers(kind: Kind, url: str, cfg: Config) -> dict[str, Any]:
    return writers_of(kind, url, cfg, cfg.writer_steps)


def many_long_writers(kind: Kind, url: str, cfg: Config) -> dict[str, Any]:
    return writers_of(kind, url, cfg, cfg.long_writer_steps)


def writers_of(kind: Kind, url: str, cfg: Config, steps: int) -> dict[str, Any]:
    with open_saver(kind, url):
        pass  # tables first: this measures writing, not N processes racing to create them
    postmaster = postmaster_pid(url)
    barrier, out = CTX.Barrier(cfg.writers + 1), CTX.Queue()
    procs = [
        CTX.Process(target=writer_process, args=(kind, url, w, cfg, steps, barrier, out))
        for w in range(cfg.writers)
    ]
    for p in procs:
        p.start()
    barrier.wait(timeout=300)
    started, server_started = time.time(), server_cpu(postmaster)
    results = sorted(out.get(timeout=1800) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    errors = [err for _, _, _, err, _ in results if err]
    if errors:
        raise RuntimeError(f"{NAMES[kind]} writer failed: {errors[0]}")
    seconds = max(done for _, done, _, _, _ in results) - started
    wait_for_no_other_clients(url)  # the writers' backends have exited and been counted
    all_steps = cfg.writers * steps
    return {
        "steps_per_s": all_steps / seconds,
        "client_cpu_ms_per_step": sum(cpu for *_, cpu in results) / all_steps * 1000,
        "server_cpu_ms_per_step": (server_cpu(postmaster) - server_started) / all_steps * 1000,
        "digests": [d for _, _, d, _, _ in results],
    }


def wait_for_no_other_clients(url: str) -> None:
    """Wait until every other client's backend has exited: it has reported its statistics,
    and its CPU time is its postmaster's."""
    with psycopg.connect(url, autocommit=True) as conn:
        deadline = time.monotonic() + 30
        while conn.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchone() != (0,):
            if time.monotonic() > deadline:
                raise RuntimeError("saver connections are still open after 30 s")
            time.sleep(0.01)


def wal_flushes(url: str) -> int:
    """The server's WAL flushes so far (``pg_stat_wal.wal_sync``): one per commit that waited
    for the disk. A backend reports its counts when it exits (or at most once a second), so
    this first waits until every saver connection has reported."""
    wait_for_no_other_clients(url)
    with psycopg.connect(url, autocommit=True) as conn:
        (count,) = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()  # type: ignore[misc]
    return int(count)


def long_thread(kind: Kind, url: str, cfg: Config) -> dict[str, Any]:
    flushes_before = wal_flushes(url)
    with open_saver(kind, url) as saver:
        started = time.perf_counter()
        digest = run_thread(saver, "long", cfg.long_steps)
        build_seconds = time.perf_counter() - started
        graph = build_graph(saver)
        config = thread_config("long", cfg.long_steps)
        graph.get_state(config)
        times = []
        for _ in range(cfg.repeats):
            started = time.perf_counter()
            graph.get_state(config)
            times.append(time.perf_counter() - started)
    flushes = wal_flushes(url) - flushes_before  # reads commit nothing: these are the writes'
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        (size,) = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(%s)",
            (list(TABLES[kind]),),
        ).fetchone()  # type: ignore[misc]  # an aggregate: always one row
    return {
        "bytes": int(size),
        "bytes_per_step": int(size) / cfg.long_steps,
        "get_state_ms": statistics.median(times) * 1000,
        "steps_per_s": cfg.long_steps / build_seconds,
        "wal_flushes_per_step": flushes / cfg.long_steps,
        "digest": digest,
    }


Throughput = Callable[[Kind, str, Config], dict[str, Any]]

THROUGHPUTS: dict[str, Throughput] = {
    "one_writer": one_writer,
    "many_writers": many_writers,
    "many_long_writers": many_long_writers,
}


def medians(
    name: str, fn: Throughput, kinds: tuple[Kind, ...], cfg: Config, server: Server
) -> dict[Kind, dict[str, Any]]:
    """``cfg.runs`` runs of ``fn`` per saver, alternating which goes first, each on a new
    database; the median run of each saver, with every run's steps/s."""
    runs: dict[Kind, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for run in range(cfg.runs):
        for kind in kinds if run % 2 == 0 else kinds[::-1]:
            log(f"{name}, run {run + 1}/{cfg.runs}: {NAMES[kind]}")
            runs[kind].append(fn(kind, server.new_database(), cfg))
    result: dict[Kind, dict[str, Any]] = {}
    for kind in kinds:
        ordered = sorted(runs[kind], key=lambda r: r["steps_per_s"])
        median = dict(ordered[len(ordered) // 2])
        median["all_steps_per_s"] = [r["steps_per_s"] for r in runs[kind]]
        median["all_digests_agree"] = all(r["digests"] == median["digests"] for r in ordered)
        result[kind] = median
    return result


def by_length(cfg: Config, server: Server) -> dict[str, Any]:
    """The 1-writer and the many-writer throughputs at each of ``cfg.lengths`` steps a thread."""
    results: dict[str, Any] = {}
    for steps in cfg.lengths:
        at = dataclasses.replace(cfg, steps=steps, writer_steps=steps)
        results[str(steps)] = {
            name: medians(f"{name} at {steps} steps", THROUGHPUTS[name], KINDS, at, server)
            for name in ("one_writer", "many_writers")
        }
    return results


def measure(
    cfg: Config, server: Server, *, floor: bool = False, lengths: bool = False
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    kinds: tuple[Kind, ...] = (*KINDS, "floor") if floor else KINDS
    for name, fn in THROUGHPUTS.items():
        results[name] = medians(name, fn, kinds, cfg, server)
    if lengths:
        results["by_length"] = by_length(cfg, server)
    results["long_thread"] = {}
    for kind in KINDS:
        log(f"long thread of {cfg.long_steps} steps: {NAMES[kind]}")
        results["long_thread"][kind] = long_thread(kind, server.new_database(), cfg)
    return results


def throughput_sections(r: dict[str, Any]) -> list[dict[Kind, dict[str, Any]]]:
    """Every throughput measured (the main ones, then those by length): per saver, its run."""
    sections = [r[name] for name in THROUGHPUTS]
    return sections + [m for at in r.get("by_length", {}).values() for m in at.values()]


def correctness(r: dict[str, Any]) -> dict[str, bool]:
    return {
        "every_run": all(
            s[kind]["all_digests_agree"] for s in throughput_sections(r) for kind in KINDS
        ),
        "by_length": all(
            m["ours"]["digests"] == m["postgres"]["digests"]
            for at in r.get("by_length", {}).values()
            for m in at.values()
        ),
        "one_writer": r["one_writer"]["ours"]["digests"] == r["one_writer"]["postgres"]["digests"],
        **{
            name: r[name]["ours"]["digests"] == r[name]["postgres"]["digests"]
            for name in THROUGHPUTS
            if name != "one_writer"
        },
        "long_thread": r["long_thread"]["ours"]["digest"] == r["long_thread"]["postgres"]["digest"],
    }


def render(cfg: Config, r: dict[str, Any]) -> tuple[list[str], dict[str, float]]:
    ours, theirs = r["long_thread"]["ours"], r["long_thread"]["postgres"]
    ratios = {
        "steps_per_s_1_writer": r["one_writer"]["ours"]["steps_per_s"]
        / r["one_writer"]["postgres"]["steps_per_s"],
        f"steps_per_s_{cfg.writers}_writers": r["many_writers"]["ours"]["steps_per_s"]
        / r["many_writers"]["postgres"]["steps_per_s"],
        f"steps_per_s_{cfg.writers}_writers_{cfg.long_writer_steps}_steps": r["many_long_writers"][
            "ours"
        ]["steps_per_s"]
        / r["many_long_writers"]["postgres"]["steps_per_s"],
        "bytes_per_step": theirs["bytes_per_step"] / ours["bytes_per_step"],
        "get_state": theirs["get_state_ms"] / ours["get_state_ms"],
    }
    rows = [
        (
            f"steps/s, 1 writer ({cfg.threads} x {cfg.steps} steps)",
            f"{r['one_writer']['ours']['steps_per_s']:.0f}",
            f"{r['one_writer']['postgres']['steps_per_s']:.0f}",
            f"{ratios['steps_per_s_1_writer']:.2f}x",
        ),
        (
            f"steps/s, {cfg.writers} writer processes ({cfg.writer_steps} steps each)",
            f"{r['many_writers']['ours']['steps_per_s']:.0f}",
            f"{r['many_writers']['postgres']['steps_per_s']:.0f}",
            f"{ratios[f'steps_per_s_{cfg.writers}_writers']:.2f}x",
        ),
        (
            f"steps/s, {cfg.writers} writer processes ({cfg.long_writer_steps} steps each)",
            f"{r['many_long_writers']['ours']['steps_per_s']:.0f}",
            f"{r['many_long_writers']['postgres']['steps_per_s']:.0f}",
            f"{ratios[f'steps_per_s_{cfg.writers}_writers_{cfg.long_writer_steps}_steps']:.2f}x",
        ),
        (
            f"steps/s, 1 writer, one {cfg.long_steps}-step thread",
            f"{ours['steps_per_s']:.0f}",
            f"{theirs['steps_per_s']:.0f}",
            f"{ours['steps_per_s'] / theirs['steps_per_s']:.2f}x",
        ),
        (
            f"WAL flushes per step (commits waiting for the disk), {cfg.long_steps}-step thread",
            f"{ours['wal_flushes_per_step']:.2f}",
            f"{theirs['wal_flushes_per_step']:.2f}",
            "",
        ),
        (
            f"bytes per step @ {cfg.long_steps} steps",
            f"{ours['bytes_per_step']:,.0f}",
            f"{theirs['bytes_per_step']:,.0f}",
            f"1/{ratios['bytes_per_step']:.0f}",
        ),
        (
            f"get_state ms @ {cfg.long_steps} steps (median of {cfg.repeats})",
            f"{ours['get_state_ms']:.2f}",
            f"{theirs['get_state_ms']:.2f}",
            f"{ratios['get_state']:.2f}x faster",
        ),
    ]
    many = r["many_writers"]
    for part in ("client", "server"):
        ours_ms, theirs_ms = (many[k][f"{part}_cpu_ms_per_step"] for k in KINDS)
        rows.append(
            (
                f"{part} CPU ms per step, {cfg.writers} writer processes"
                + (
                    f" (the bound: {many['floor'][f'{part}_cpu_ms_per_step']:.2f})"
                    if "floor" in many
                    else ""
                ),
                f"{ours_ms:.2f}",
                f"{theirs_ms:.2f}",
                f"{theirs_ms / ours_ms:.2f}x less",
            )
        )
    for steps, at in r.get("by_length", {}).items():
        for name, label in (("one_writer", "1 writer"), ("many_writers", f"{cfg.writers} writers")):
            ours_s, theirs_s = (at[name][k]["steps_per_s"] for k in KINDS)
            key = "1_writer" if name == "one_writer" else f"{cfg.writers}_writers"
            ratios[f"steps_per_s_{key}_{steps}_steps"] = ours_s / theirs_s
            rows.append(
                (
                    f"steps/s, {label}, threads of {steps} steps",
                    f"{ours_s:.0f}",
                    f"{theirs_s:.0f}",
                    f"{ours_s / theirs_s:.2f}x",
                )
            )
    if "floor" in r["one_writer"]:
        for name, label in (
            ("one_writer", "1 writer"),
            ("many_writers", f"{cfg.writers} writers"),
            ("many_long_writers", f"{cfg.writers} writers x {cfg.long_writer_steps} steps"),
        ):
            ours_s, theirs_s, floor_s = (r[name][k]["steps_per_s"] for k in (*KINDS, "floor"))
            ratios[f"floor_{name}"] = floor_s / theirs_s
            rows.append(
                (
                    f"steps/s, {label}: the bound, {NAMES['floor']} {floor_s:.0f}",
                    f"{ours_s / floor_s:.0%} of the bound",
                    f"{theirs_s / floor_s:.0%} of the bound",
                    f"bound {floor_s / theirs_s:.2f}x",
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("measure", NAMES["ours"], NAMES["postgres"], "ours vs theirs")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    lines = [
        " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
        "-+-".join("-" * w for w in widths),
        *(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows),
    ]
    return lines, ratios


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--json", metavar="OUT", type=Path, help="write all numbers here")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also run BareDurableSaver, the bound any durable saver stays under",
    )
    parser.add_argument(
        "--warm",
        action="store_true",
        help="each saver runs a 5-step thread before the clock starts (steady state)",
    )
    parser.add_argument(
        "--lengths",
        action="store_true",
        help="also measure the throughput ratios at each of several thread lengths",
    )
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    if args.warm:
        cfg = dataclasses.replace(cfg, warm_steps=5)
    with postgres_server(fast=False) as url:  # durable: fsync on, as in production
        with psycopg.connect(url) as conn:
            server_version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        results = measure(cfg, Server(url), floor=args.floor, lengths=args.lengths)
    checks = correctness(results)
    lines, ratios = render(cfg, results)
    print(
        f"PostgreSQL {server_version} on 127.0.0.1 (fsync on); langgraph-checkpoint-postgres "
        f"{version('langgraph-checkpoint-postgres')}, psycopg {version('psycopg')}"
    )
    print("\n".join(lines))
    print(f"correctness (same final messages): {checks}")
    if args.json:
        for section in throughput_sections(results):
            for measured in section.values():
                measured.pop("digests")
        args.json.write_text(
            json.dumps(
                {"config": cfg.__dict__, "results": results, "ratios": ratios, "correct": checks},
                indent=2,
            )
        )
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
