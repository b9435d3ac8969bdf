"""Benchmark: SharedMemorySaver against LangGraph's SqliteSaver / AsyncSqliteSaver.

Run::

    python bench/bench_checkpointer.py [--quick] [--json OUT]

Methodology
-----------
Every measurement opens each saver on its own brand-new SQLite file in a temp directory and
drives the *same* real LangGraph workload through it, in the same process and run:

* State is ``{"messages": Annotated[list, add_messages]}``. The graph is a loop: one node
  (``agent``) appends ONE ``AIMessage`` of ~500 bytes per superstep, and a conditional edge
  sends control back to ``agent`` until the thread holds the requested number of AI messages.
  So a **step is one superstep** (one node run, one checkpoint), and one ``invoke`` of a
  thread runs all of its steps. The message text is drawn from a fixed vocabulary by an RNG
  seeded with ``(thread_id, step)``: it is varied (compression cannot cheat) and identical for
  every saver, so final states can be compared message by message.
* Savers run with their defaults (ours: WAL + ``synchronous=NORMAL``; SqliteSaver: WAL via its
  ``setup`` and SQLite's default ``synchronous=FULL``). Graph durability is LangGraph's default.

Measurements
------------
1. Throughput: ``threads x steps`` (4 x 200; 2 x 50 with ``--quick``). Sync: the threads run
   one after another with ``graph.invoke``. Async: the threads run concurrently on one event
   loop with ``graph.ainvoke`` under ``asyncio.gather``. Steps/s = total steps / wall time;
   each configuration runs 3 times (1 quick) on fresh files, interleaved between the savers,
   and the median run is reported (all runs are in the JSON). An extra, informational sync
   row runs SqliteSaver with ``PRAGMA synchronous=NORMAL`` (our default) to separate the
   cost of an fsync per commit from the rest; the goals use SqliteSaver's defaults.
2. ``graph.get_state(config)`` latency at the end of one long thread (800 steps; 50 quick):
   median of 20 calls after one warm-up call, in the process that wrote the thread. Then the
   same through a newly opened saver per call (what another process, or a restart, sees
   first: no per-process cache); the goal uses the first number.
3. Wall time of ``list(graph.get_state_history(config))`` on that same thread (one walk).
4. Database bytes per step for one thread of 50, 200 and 800 steps (quick: 50): after the
   saver is closed, ``PRAGMA wal_checkpoint(TRUNCATE)`` runs on a separate connection, then
   size(.db) + size(-wal) is divided by the number of steps.
5. Concurrent fresh open: 4 spawned worker processes wait on one barrier, then all open the
   same brand-new file at the same instant, each runs a 5-step loop graph on its own thread,
   and checks its final message count. Any exception or wrong count is an error. Rounds
   alternate between the savers, each round on a new file.

Correctness: after every run the final ``messages`` of each thread is read back and hashed
(type + content of every message); the hashes must agree across savers.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing as mp
import os
import platform
import shlex
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, closing, contextmanager
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from random import Random
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph

import langgraph_sharedmem
from langgraph_sharedmem import SharedMemorySaver

Kind = Literal["ours", "sqlite", "sqlite_normal"]
KINDS: tuple[Kind, ...] = ("ours", "sqlite")
SYNC_KINDS: tuple[Kind, ...] = ("ours", "sqlite", "sqlite_normal")
SYNC_NAMES: dict[Kind, str] = {
    "ours": "SharedMemorySaver",
    "sqlite": "SqliteSaver",
    "sqlite_normal": "SqliteSaver(synchronous=NORMAL)",
}
ASYNC_NAMES: dict[Kind, str] = {"ours": "SharedMemorySaver", "sqlite": "AsyncSqliteSaver"}

MESSAGE_BYTES = 500
_VOCABULARY_TEXT = """
    agent tool call result search query document summary plan step retry error timeout user
    request response context memory thread checkpoint state channel message update version
    database index vector embedding score rank filter policy budget latency throughput cache
    customer order invoice payment refund shipment warehouse supplier contract deadline review
    meeting schedule calendar report chart metric anomaly forecast quarter revenue growth risk
    the a an of to in for on with from by about into over after before under between through
    is was are were be been has have had will would can could should may might must do did
    analyze compare extract verify confirm approve reject escalate notify assign resolve merge
    quickly carefully roughly exactly probably clearly recently already still never often
    red green blue large small new old first last next previous main final partial complete
    Paris Berlin Tokyo Lagos Lima Oslo Denver Mumbai Sydney Toronto 2023 2024 2025 17 42 99 3.5
"""
VOCABULARY = tuple(_VOCABULARY_TEXT.split())


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


# -- workload ------------------------------------------------------------------------------


def message_text(thread_id: str, step: int, size: int = MESSAGE_BYTES) -> str:
    """~``size`` bytes of varied, deterministic prose for one step of one thread."""
    rng = Random(f"{thread_id}:{step}")
    words: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(VOCABULARY)
        if rng.random() < 0.08:
            word += rng.choice(".,;:")
        words.append(word)
        length += len(word) + 1
    return " ".join(words)[:size]


def _ai_count(state: State) -> int:
    return sum(1 for m in state["messages"] if isinstance(m, AIMessage))


def agent(state: State, config: RunnableConfig) -> dict[str, list[AnyMessage]]:
    thread_id = config["configurable"]["thread_id"]
    return {"messages": [AIMessage(content=message_text(thread_id, _ai_count(state)))]}


def route(state: State, config: RunnableConfig) -> str:
    return "agent" if _ai_count(state) < config["configurable"]["target_steps"] else END


def build_graph(saver: BaseCheckpointSaver[Any]) -> CompiledStateGraph[Any, Any, Any, Any]:
    builder = StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", route, ["agent", END])
    return builder.compile(checkpointer=saver)


def thread_config(thread_id: str, steps: int) -> RunnableConfig:
    return {
        "configurable": {"thread_id": thread_id, "target_steps": steps},
        "recursion_limit": steps + 10,
    }


def thread_input(thread_id: str) -> dict[str, list[AnyMessage]]:
    return {"messages": [HumanMessage(content=f"Please work on ticket {thread_id}.")]}


def messages_digest(messages: Sequence[AnyMessage]) -> str:
    h = hashlib.sha256()
    for m in messages:
        h.update(f"{m.type}\x00{m.content}\x01".encode())
    return h.hexdigest()[:16]


# -- savers --------------------------------------------------------------------------------


@contextmanager
def open_sync(kind: Kind, path: Path) -> Iterator[BaseCheckpointSaver[Any]]:
    if kind == "ours":
        with SharedMemorySaver.from_conn_string(path) as saver:
            yield saver
    elif kind == "sqlite":
        with SqliteSaver.from_conn_string(str(path)) as saver:
            yield saver
    else:  # SqliteSaver with ours' durability setting: no fsync per commit
        with closing(sqlite3.connect(str(path), check_same_thread=False)) as conn:
            conn.execute("PRAGMA synchronous=NORMAL")
            yield SqliteSaver(conn)


@asynccontextmanager
async def open_async(kind: Kind, path: Path) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    if kind == "ours":
        async with SharedMemorySaver.from_conn_string(path) as saver:
            yield saver
    else:
        async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
            yield saver


def db_bytes(path: Path) -> int:
    """Size of the database after folding the WAL back into the main file."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    finally:
        conn.close()
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


class Workdir:
    """Hands out brand-new database paths inside one temp directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0

    def fresh(self, label: str) -> Path:
        self._n += 1
        return self.root / f"{self._n:03d}-{label}.db"


# -- 1. throughput -------------------------------------------------------------------------


@dataclass
class RunResult:
    seconds: float
    steps: int
    digests: dict[str, str]
    message_counts: dict[str, int]

    @property
    def steps_per_s(self) -> float:
        return self.steps / self.seconds


def run_sync(kind: Kind, path: Path, threads: int, steps: int) -> RunResult:
    with open_sync(kind, path) as saver:
        graph = build_graph(saver)
        ids = [f"t{i}" for i in range(threads)]
        start = time.perf_counter()
        for tid in ids:
            graph.invoke(thread_input(tid), thread_config(tid, steps))
        seconds = time.perf_counter() - start
        finals = {tid: graph.get_state(thread_config(tid, steps)).values["messages"] for tid in ids}
    return _result(seconds, threads * steps, finals)


async def run_async(kind: Kind, path: Path, threads: int, steps: int) -> RunResult:
    async with open_async(kind, path) as saver:
        graph = build_graph(saver)
        ids = [f"t{i}" for i in range(threads)]
        start = time.perf_counter()
        await asyncio.gather(
            *(graph.ainvoke(thread_input(tid), thread_config(tid, steps)) for tid in ids)
        )
        seconds = time.perf_counter() - start
        finals: dict[str, list[AnyMessage]] = {}
        for tid in ids:
            finals[tid] = (await graph.aget_state(thread_config(tid, steps))).values["messages"]
    return _result(seconds, threads * steps, finals)


def _result(seconds: float, steps: int, finals: dict[str, list[AnyMessage]]) -> RunResult:
    return RunResult(
        seconds=seconds,
        steps=steps,
        digests={tid: messages_digest(msgs) for tid, msgs in finals.items()},
        message_counts={tid: len(msgs) for tid, msgs in finals.items()},
    )


def median_run(runs: Sequence[RunResult]) -> RunResult:
    """The run with the median steps/s (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r.steps_per_s)
    return ordered[(len(ordered) - 1) // 2]


# -- 2-4. one long thread ------------------------------------------------------------------


@dataclass
class LongThreadResult:
    steps: int
    build_steps_per_s: float
    get_state_median_ms: float
    get_state_samples_ms: list[float]
    cold_get_state_median_ms: float
    history_walk_s: float
    history_len: int
    message_count: int
    digest: str
    db_bytes: int


def long_thread(kind: Kind, path: Path, steps: int, repeats: int) -> LongThreadResult:
    tid = "long"
    cfg = thread_config(tid, steps)
    with open_sync(kind, path) as saver:
        graph = build_graph(saver)
        start = time.perf_counter()
        graph.invoke(thread_input(tid), cfg)
        build_s = time.perf_counter() - start
        graph.get_state(cfg)  # warm-up
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            state = graph.get_state(cfg)
            samples.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        history = list(graph.get_state_history(cfg))
        walk_s = time.perf_counter() - t0
    cold_ms = cold_get_state_ms(kind, path, cfg, repeats)
    messages = state.values["messages"]
    return LongThreadResult(
        steps=steps,
        build_steps_per_s=steps / build_s,
        get_state_median_ms=statistics.median(samples),
        get_state_samples_ms=[round(s, 3) for s in samples],
        cold_get_state_median_ms=cold_ms,
        history_walk_s=walk_s,
        history_len=len(history),
        message_count=len(messages),
        digest=messages_digest(messages),
        db_bytes=db_bytes(path),
    )


def cold_get_state_ms(kind: Kind, path: Path, cfg: RunnableConfig, repeats: int) -> float:
    """Median ``get_state`` through a newly opened saver, as another process would first see it.

    The saver is opened and set up (a read of an unknown thread) before the timed call.
    """
    samples = []
    for _ in range(repeats):
        with open_sync(kind, path) as saver:
            graph = build_graph(saver)
            graph.get_state(thread_config("unknown-thread", 1))
            t0 = time.perf_counter()
            graph.get_state(cfg)
            samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def size_only(kind: Kind, path: Path, steps: int) -> tuple[int, str]:
    """Database bytes after one thread of ``steps`` steps, and the final messages' digest."""
    run = run_sync(kind, path, threads=1, steps=steps)
    return db_bytes(path), run.digests["t0"]


# -- 5. concurrent fresh open --------------------------------------------------------------

MP_WORKERS = 4
MP_STEPS = 5


@dataclass
class OpenTask:
    kind: Kind
    path: str
    worker_slot: int


def mp_worker(barrier: Any, tasks: Any, results: Any) -> None:
    """Worker process: per task, meet the others at the barrier, then open and write."""
    while (task := tasks.get()) is not None:
        barrier.wait(timeout=120)
        results.put((task.worker_slot, _open_and_write(task)))


def _open_and_write(task: OpenTask) -> str | None:
    tid = f"w{task.worker_slot}"
    cfg = thread_config(tid, MP_STEPS)
    try:
        with open_sync(task.kind, Path(task.path)) as saver:
            graph = build_graph(saver)
            graph.invoke(thread_input(tid), cfg)
            count = len(graph.get_state(cfg).values["messages"])
    except Exception as exc:  # every failure is what we count
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:160]
    if count != MP_STEPS + 1:
        return f"wrong message count {count}, expected {MP_STEPS + 1}"
    return None


@dataclass
class OpenStats:
    attempts: int = 0
    errors: int = 0
    rounds_with_errors: int = 0
    messages: dict[str, int] = field(default_factory=dict)


def concurrent_open(work: Workdir, rounds: int) -> dict[Kind, OpenStats]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(MP_WORKERS)
    tasks = ctx.Queue()
    results = ctx.Queue()
    procs = [
        ctx.Process(target=mp_worker, args=(barrier, tasks, results), daemon=True)
        for _ in range(MP_WORKERS)
    ]
    for p in procs:
        p.start()
    stats: dict[Kind, OpenStats] = {k: OpenStats() for k in KINDS}
    try:
        for _ in range(rounds):
            for kind in KINDS:
                path = work.fresh(f"open-{kind}")
                for slot in range(MP_WORKERS):
                    tasks.put(OpenTask(kind, str(path), slot))
                errors = [results.get(timeout=180)[1] for _ in range(MP_WORKERS)]
                _tally(stats[kind], errors)
    finally:
        for _ in procs:
            tasks.put(None)
        for p in procs:
            p.join(timeout=30)
    return stats


def _tally(stats: OpenStats, errors: list[str | None]) -> None:
    failed = [e for e in errors if e is not None]
    stats.attempts += len(errors)
    stats.errors += len(failed)
    stats.rounds_with_errors += bool(failed)
    for e in failed:
        stats.messages[e] = stats.messages.get(e, 0) + 1


# -- orchestration and report --------------------------------------------------------------


@dataclass
class Config:
    threads: int
    steps: int
    long_steps: int
    size_steps: tuple[int, ...]
    get_state_repeats: int
    throughput_repeats: int
    open_rounds: int


FULL = Config(4, 200, 800, (50, 200, 800), 20, 3, 20)
QUICK = Config(2, 50, 50, (50,), 5, 1, 3)


def log(msg: str) -> None:
    print(f"  .. {msg}", file=sys.stderr, flush=True)


def throughput(cfg: Config, work: Workdir) -> dict[str, list[RunResult]]:
    """Every sync and async run, keyed ``{mode}_{kind}``; repeats interleaved between savers."""
    runs: dict[str, list[RunResult]] = {f"sync_{k}": [] for k in SYNC_KINDS}
    runs |= {f"async_{k}": [] for k in KINDS}
    for i in range(cfg.throughput_repeats):
        for kind in SYNC_KINDS:
            log(f"sync throughput {SYNC_NAMES[kind]} ({i + 1}/{cfg.throughput_repeats})")
            path = work.fresh(f"sync-{kind}")
            runs[f"sync_{kind}"].append(run_sync(kind, path, cfg.threads, cfg.steps))
        for kind in KINDS:
            log(f"async throughput {ASYNC_NAMES[kind]} ({i + 1}/{cfg.throughput_repeats})")
            path = work.fresh(f"async-{kind}")
            runs[f"async_{kind}"].append(asyncio.run(run_async(kind, path, cfg.threads, cfg.steps)))
    return runs


def measure(cfg: Config, work: Workdir) -> dict[str, Any]:
    runs = throughput(cfg, work)
    results: dict[str, Any] = {key: median_run(rs) for key, rs in runs.items()}
    results["all_runs"] = {key: [round(r.steps_per_s, 1) for r in rs] for key, rs in runs.items()}
    for kind in KINDS:
        log(f"long thread ({cfg.long_steps} steps) {SYNC_NAMES[kind]}")
        results[f"long_{kind}"] = long_thread(
            kind, work.fresh(f"long-{kind}"), cfg.long_steps, cfg.get_state_repeats
        )
    for kind in KINDS:
        sizes: dict[int, tuple[int, str]] = {}
        for steps in cfg.size_steps:
            if steps == cfg.long_steps:
                long: LongThreadResult = results[f"long_{kind}"]
                sizes[steps] = (long.db_bytes, long.digest)
            else:
                log(f"size at {steps} steps {SYNC_NAMES[kind]}")
                sizes[steps] = size_only(kind, work.fresh(f"size{steps}-{kind}"), steps)
        results[f"size_{kind}"] = sizes
    log(f"concurrent fresh open: {cfg.open_rounds} rounds x {MP_WORKERS} processes per saver")
    results["open"] = concurrent_open(work, cfg.open_rounds)
    return results


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else "n/a"


def render(cfg: Config, r: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The printed report and the JSON-ready numbers."""
    rows: list[tuple[str, str, str, str, str]] = []
    numbers: dict[str, Any] = {}

    def add(metric: str, ours: float, theirs: float, fmt: str, better: str, key: str) -> None:
        rows.append((metric, format(ours, fmt), format(theirs, fmt), ratio(ours, theirs), better))
        numbers[key] = {"ours": ours, "theirs": theirs, "ratio_ours_over_theirs": ours / theirs}

    tp = f"{cfg.threads} threads x {cfg.steps} steps"
    sync_o, sync_s = r["sync_ours"], r["sync_sqlite"]
    async_o, async_s = r["async_ours"], r["async_sqlite"]
    add(
        f"sync steps/s ({tp}) vs SqliteSaver",
        sync_o.steps_per_s,
        sync_s.steps_per_s,
        ".1f",
        "higher",
        "sync_steps_per_s",
    )
    add(
        f"async steps/s ({tp}) vs AsyncSqliteSaver",
        async_o.steps_per_s,
        async_s.steps_per_s,
        ".1f",
        "higher",
        "async_steps_per_s",
    )
    normal = r["sync_sqlite_normal"]
    add(
        "  (info) sync steps/s vs SqliteSaver(synchronous=NORMAL)",
        sync_o.steps_per_s,
        normal.steps_per_s,
        ".1f",
        "higher",
        "sync_steps_per_s_vs_sqlite_normal",
    )
    for key, mode, kind in (
        ("sync_steps_per_s", "sync", "sqlite"),
        ("async_steps_per_s", "async", "sqlite"),
        ("sync_steps_per_s_vs_sqlite_normal", "sync", "sqlite_normal"),
    ):
        every = r["all_runs"]
        numbers[key]["runs"] = {"ours": every[f"{mode}_ours"], "theirs": every[f"{mode}_{kind}"]}
    lo, ls = r["long_ours"], r["long_sqlite"]
    n = cfg.long_steps
    add(
        f"sync steps/s building 1 x {n}-step thread",
        lo.build_steps_per_s,
        ls.build_steps_per_s,
        ".1f",
        "higher",
        f"long_build_steps_per_s_{n}",
    )
    add(
        f"get_state median ms @ {n} steps",
        lo.get_state_median_ms,
        ls.get_state_median_ms,
        ".2f",
        "lower",
        f"get_state_ms_{n}",
    )
    add(
        f"get_state median ms @ {n} steps, newly opened saver",
        lo.cold_get_state_median_ms,
        ls.cold_get_state_median_ms,
        ".2f",
        "lower",
        f"cold_get_state_ms_{n}",
    )
    add(
        f"get_state_history walk s @ {n} steps",
        lo.history_walk_s,
        ls.history_walk_s,
        ".3f",
        "lower",
        f"history_walk_s_{n}",
    )
    for steps in cfg.size_steps:
        ours_b = r["size_ours"][steps][0] / steps
        theirs_b = r["size_sqlite"][steps][0] / steps
        add(
            f"DB bytes/step @ {steps} steps",
            ours_b,
            theirs_b,
            ",.0f",
            "lower",
            f"bytes_per_step_{steps}",
        )
    op, os_ = r["open"]["ours"], r["open"]["sqlite"]
    rows.append(
        (
            f"fresh-open errors ({MP_WORKERS} procs x {cfg.open_rounds} rounds)",
            f"{op.errors}/{op.attempts}",
            f"{os_.errors}/{os_.attempts}",
            "",
            "lower",
        )
    )
    numbers["fresh_open"] = {"ours": asdict(op), "theirs": asdict(os_)}

    checks = correctness(cfg, r)
    numbers["history_len"] = {"ours": lo.history_len, "theirs": ls.history_len}
    numbers["get_state_samples_ms"] = {
        "ours": lo.get_state_samples_ms,
        "theirs": ls.get_state_samples_ms,
    }
    numbers["correctness"] = checks
    goals = evaluate_goals(cfg, numbers)
    numbers["goals"] = goals

    lines = table(rows)
    lines += ["", "Correctness (final messages of every thread, ours vs theirs):"]
    lines += [f"  [{'ok' if ok else 'MISMATCH'}] {what}" for what, ok in checks.items()]
    for label, st in (("SharedMemorySaver", op), ("SqliteSaver", os_)):
        for msg, count in sorted(st.messages.items(), key=lambda kv: -kv[1]):
            lines.append(f"  fresh-open error {label} x{count}: {msg}")
    lines += ["", "Goals:" + (" (--quick sizes: indicative only)" if cfg is QUICK else "")]
    lines += [f"  [{'MET' if g['met'] else 'MISSED'}] {g['goal']}: {g['value']}" for g in goals]
    return lines, numbers


def table(rows: list[tuple[str, str, str, str, str]]) -> list[str]:
    header = ("metric", "SharedMemorySaver", "SqliteSaver/Async", "ours/theirs", "better")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    sep = "  ".join("-" * w for w in widths)
    return [fmt.format(*header), sep, *(fmt.format(*row) for row in rows)]


def correctness(cfg: Config, r: dict[str, Any]) -> dict[str, bool]:
    checks: dict[str, bool] = {}
    for mode in ("sync", "async"):
        o, s = r[f"{mode}_ours"], r[f"{mode}_sqlite"]
        expected = {f"t{i}": cfg.steps + 1 for i in range(cfg.threads)}
        checks[f"{mode}: {cfg.threads} threads have {cfg.steps + 1} messages each (both)"] = (
            o.message_counts == expected == s.message_counts
        )
        checks[f"{mode}: same message contents"] = o.digests == s.digests
    checks["sync: same contents with SqliteSaver(synchronous=NORMAL)"] = (
        r["sync_ours"].digests == r["sync_sqlite_normal"].digests
    )
    lo, ls = r["long_ours"], r["long_sqlite"]
    checks[f"long: {cfg.long_steps + 1} messages, same contents"] = (
        lo.message_count == ls.message_count == cfg.long_steps + 1 and lo.digest == ls.digest
    )
    # input checkpoint + the step that applies the input + one per agent step
    checks[f"long: history has {cfg.long_steps + 2} checkpoints (both)"] = (
        lo.history_len == ls.history_len == cfg.long_steps + 2
    )
    for steps in cfg.size_steps:
        checks[f"size @ {steps}: same final contents"] = (
            r["size_ours"][steps][1] == r["size_sqlite"][steps][1]
        )
    return checks


def evaluate_goals(cfg: Config, numbers: dict[str, Any]) -> list[dict[str, Any]]:
    n = cfg.long_steps
    bps = numbers[f"bytes_per_step_{max(cfg.size_steps)}"]["ours"]
    sync_ratio = numbers["sync_steps_per_s"]["ratio_ours_over_theirs"]
    async_ratio = numbers["async_steps_per_s"]["ratio_ours_over_theirs"]
    gs = numbers[f"get_state_ms_{n}"]
    errors = numbers["fresh_open"]["ours"]["errors"]
    return [
        _goal(f"bytes/step @ {max(cfg.size_steps)} steps <= 2.5 kB", f"{bps:,.0f} B", bps <= 2500),
        _goal(
            f">= 1.5x SqliteSaver sync steps/s @ {cfg.steps} steps",
            f"{sync_ratio:.2f}x",
            sync_ratio >= 1.5,
        ),
        _goal(
            f">= 1.5x AsyncSqliteSaver async steps/s @ {cfg.steps} steps",
            f"{async_ratio:.2f}x",
            async_ratio >= 1.5,
        ),
        _goal(
            f"get_state @ {n} steps no slower than SqliteSaver",
            f"{gs['ours']:.2f} ms vs {gs['theirs']:.2f} ms",
            gs["ours"] <= gs["theirs"],
        ),
        _goal(f"zero errors, {MP_WORKERS}-process fresh open", f"{errors} errors", errors == 0),
    ]


def _goal(goal: str, value: str, met: bool) -> dict[str, Any]:
    return {"goal": goal, "value": value, "met": met}


def environment() -> dict[str, str]:
    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": str(os.cpu_count()),
        "sqlite": sqlite3.sqlite_version,
    }
    for dist in (
        "langgraph",
        "langgraph-checkpoint",
        "langgraph-checkpoint-sqlite",
        "aiosqlite",
        "langgraph-sharedmem",
    ):
        env[dist] = version(dist)
    env["sharedmem_source"] = source_revision()
    env["loadavg_at_start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return env


def source_revision() -> str:
    """Where `langgraph_sharedmem` was imported from, with its git commit when known."""
    package = Path(langgraph_sharedmem.__file__).resolve().parent
    described = str(package)
    try:
        git = ["git", "-C", str(package)]
        commit = subprocess.run(
            [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout.strip()
        described += f"@{commit}{'+uncommitted' if dirty else ''}"
    except (OSError, subprocess.CalledProcessError):
        pass
    return described


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--json", metavar="OUT", type=Path, help="write all numbers here")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    command = shlex.join([sys.executable, *sys.argv])
    print(f"$ {command}")
    env = environment()
    print("  ".join(f"{k}={v}" for k, v in env.items()))
    print(
        f"step = one superstep of a loop graph (1 node run, 1 checkpoint, +1 AIMessage of "
        f"~{MESSAGE_BYTES} B); sync threads sequential, async threads concurrent (gather)"
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-checkpointer-") as tmp:
        results = measure(cfg, Workdir(Path(tmp)))
    lines, numbers = render(cfg, results)
    print()
    print("\n".join(lines))
    elapsed = time.perf_counter() - started
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\ntotal benchmark time: {elapsed:.1f} s; load average at the end: {load}")
    if args.json:
        payload = {
            "command": command,
            "quick": args.quick,
            "environment": env,
            "config": asdict(cfg),
            "results": numbers,
            "elapsed_s": elapsed,
            "loadavg_at_end": load,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
