"""The benchmark keeps running: a --quick pass, checked for correctness, never for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_checkpointer_benchmark_quick_run_agrees_with_sqlitesaver(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_checkpointer.py"),
            "--quick",
            "--json",
            str(out),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=600,
    )
    results = json.loads(out.read_text())["results"]
    assert results["correctness"] and all(results["correctness"].values()), results["correctness"]
    assert results["fresh_open"]["ours"]["errors"] == 0
