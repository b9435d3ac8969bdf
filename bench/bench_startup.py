"""Start-up cost: how long a fresh interpreter takes to import the package and run the CLI.

    python bench/bench_startup.py              # 7 rounds
    python bench/bench_startup.py --rounds 3 --json out.json

Each command runs in a fresh process (`python -c ...`, so interpreter start is included),
alternating with LangGraph's own SQLite saver and store imports as the reference, and the
median of the rounds is reported with the ratio to that reference. Goal (issue 13): at most
0.4 s for ``import langgraph_sharedmem`` and for ``sharedmem --help``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMANDS: dict[str, list[str]] = {
    "python (empty)": [sys.executable, "-c", "pass"],
    "import langgraph_sharedmem": [sys.executable, "-c", "import langgraph_sharedmem"],
    "from langgraph_sharedmem import SharedMemory": [
        sys.executable,
        "-c",
        "from langgraph_sharedmem import SharedMemory",
    ],
    "sharedmem --help": [sys.executable, "-m", "langgraph_sharedmem.cli", "--help"],
    "reference: SqliteSaver + SqliteStore imports": [
        sys.executable,
        "-c",
        "from langgraph.checkpoint.sqlite import SqliteSaver; "
        "from langgraph.store.sqlite import SqliteStore",
    ],
}
REFERENCE = "reference: SqliteSaver + SqliteStore imports"
GOAL_SECONDS = {"import langgraph_sharedmem": 0.4, "sharedmem --help": 0.4}


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
    return time.perf_counter() - start


def measure(rounds: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for cmd in COMMANDS.values():
        wall(cmd)  # warm the file cache once
    for _ in range(rounds):
        for name, cmd in COMMANDS.items():
            samples[name].append(wall(cmd))
    return {name: statistics.median(times) for name, times in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    medians = measure(args.rounds)
    reference = medians[REFERENCE]
    print(f"{'command':48} {'median s':>9} {'× reference':>12} goal")
    for name, seconds in medians.items():
        goal = GOAL_SECONDS.get(name)
        verdict = "" if goal is None else (f"≤ {goal:.1f} s met" if seconds <= goal else "MISSED")
        print(f"{name:48} {seconds:9.3f} {seconds / reference:12.2f} {verdict}")
    if args.json:
        args.json.write_text(json.dumps({"median_seconds": medians}, indent=2))


if __name__ == "__main__":
    main()
