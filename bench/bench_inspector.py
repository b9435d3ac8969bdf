"""Benchmark the inspector: listing threads and a thread's history from SQL, against the
naive way through the checkpointer's API (``saver.list``, which decodes every checkpoint).

    python bench/bench_inspector.py            # 200 threads x 10 turns of a chat graph
    python bench/bench_inspector.py --quick    # a few seconds
    python bench/bench_inspector.py --json out.json

Also times one whole ``sharedmem threads --json`` process (Python start and imports
included), which is what a person at a shell waits for.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langchain_core.messages import AIMessage, HumanMessage  # noqa: E402
from langgraph.graph import END, START, MessagesState, StateGraph  # noqa: E402

from bench._stats import timings  # noqa: E402
from langgraph_sharedmem import SharedMemorySaver  # noqa: E402
from langgraph_sharedmem.cli import Inspector  # noqa: E402


def _reply(state: MessagesState) -> dict[str, Any]:
    return {"messages": [AIMessage(content=f"reply to {state['messages'][-1].content}")]}


def build(path: Path, threads: int, turns: int) -> None:
    builder = StateGraph(MessagesState)
    builder.add_node("reply", _reply)
    builder.add_edge(START, "reply")
    builder.add_edge("reply", END)
    with SharedMemorySaver.from_conn_string(path) as saver:
        graph = builder.compile(checkpointer=saver)
        for t in range(threads):
            for turn in range(turns):
                graph.invoke(
                    {"messages": [HumanMessage(content=f"message {turn}")]},
                    {"configurable": {"thread_id": f"thread-{t:04d}"}},
                )


def _median_ms(fn: Callable[[], Any], repeat: int) -> float:
    return round(statistics.median(timings(fn, repeat)) * 1000, 2)


def measure(path: Path, threads: int, repeat: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Inspector(path) as ins, SharedMemorySaver.from_conn_string(path) as saver:
        assert len(ins.threads(limit=threads + 1)) == threads
        naive_threads = {c.config["configurable"]["thread_id"] for c in saver.list(None)}
        assert len(naive_threads) == threads
        out["threads_ms"] = _median_ms(lambda: ins.threads(limit=threads + 1), repeat)
        out["threads_naive_ms"] = _median_ms(
            lambda: {c.config["configurable"]["thread_id"] for c in saver.list(None)}, repeat
        )
        config = {"configurable": {"thread_id": "thread-0000"}}
        out["history_ms"] = _median_ms(lambda: ins.history("thread-0000"), repeat * 5)
        out["history_naive_ms"] = _median_ms(lambda: list(saver.list(config)), repeat * 5)
        out["checkpoint_ms"] = _median_ms(lambda: ins.checkpoint("thread-0000"), repeat * 5)
        latest = ins.history("thread-0000", limit=1)[0]["checkpoint_id"]
        out["diff_ms"] = _median_ms(lambda: ins.diff("thread-0000", latest), repeat * 5)
        out["stats_ms"] = _median_ms(ins.stats, repeat)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "langgraph_sharedmem.cli", "threads", str(path), "--json"],
        check=True,
        capture_output=True,
    )
    out["cli_process_s"] = round(time.perf_counter() - start, 2)
    out["threads_speedup"] = round(out["threads_naive_ms"] / out["threads_ms"], 1)
    out["history_speedup"] = round(out["history_naive_ms"] / out["history_ms"], 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    threads, turns, repeat = (20, 4, 3) if args.quick else (200, 10, 5)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        start = time.perf_counter()
        build(path, threads, turns)
        built = time.perf_counter() - start
        results = measure(path, threads, repeat)
    report = {
        "threads": threads,
        "turns_per_thread": turns,
        "checkpoints": threads * turns * 3,
        "build_s": round(built, 1),
        "results": results,
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
