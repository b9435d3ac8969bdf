"""docs/inspector.md's walk through the demo's database runs as printed, writes nothing, and
prints what the page promises (80-character cells, `--viewer` without write access)."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from langgraph_sharedmem.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "inspector.md"
DB = Path("demo-output") / "demo.db"

# CI installs jq (.ci/run); elsewhere a machine without it skips, and says why.
pytestmark = pytest.mark.skipif(
    shutil.which("jq") is None and not os.environ.get("CI"), reason="the walk-through uses jq"
)


def _walkthrough() -> list[str]:
    block = re.search(r"```bash\n(.*?)```", DOCS.read_text(), re.S)
    assert block, "docs/inspector.md has no bash walk-through"
    return [line for line in block.group(1).splitlines() if line.strip()]


def _bash(tmp_path: Path, lines: list[str]) -> subprocess.CompletedProcess[str]:
    # `python` and `sharedmem` as a user's shell has them, from this interpreter and tree.
    prelude = [
        "set -euo pipefail",
        'python() { "$PY" "$@"; }',
        'sharedmem() { "$PY" -m langgraph_sharedmem.cli "$@"; }',
    ]
    env = {**os.environ, "PY": sys.executable, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    return subprocess.run(
        ["bash", "-c", "\n".join(prelude + lines)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_walkthrough_runs_as_printed_on_the_demo_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _walkthrough()
    assert lines[0].startswith("python examples/demo.py")
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    made = _bash(tmp_path, lines[:1])
    assert made.returncode == 0, made.stderr
    db = tmp_path / DB
    with sqlite3.connect(db) as conn:  # settle the WAL so the hash below covers everything
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        audit_rows = conn.execute("SELECT count(*) FROM acl_audit").fetchone()[0]
    before = _digest(db)

    done = _bash(tmp_path, lines[1:])
    assert done.returncode == 0, done.stderr
    assert "ticket-1001" in done.stdout and "cust-7" in done.stdout
    assert _digest(db) == before  # read-only, --viewer included
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM acl_audit").fetchone()[0] == audit_rows

    # Cells are cut at 80 characters; --full prints whole values.
    monkeypatch.chdir(tmp_path)
    assert main(["checkpoint", str(DB), "ticket-1001"]) == 0
    cut = capsys.readouterr().out
    assert main(["checkpoint", str(DB), "ticket-1001", "--full"]) == 0
    full = capsys.readouterr().out
    assert len(cut) < 6000 < len(full)
    values = [line for line in cut.splitlines() if line.startswith("│ messages")]
    assert values and all(len(v) <= 120 for v in values)
