"""Docs are code: every Python block of README.md and docs/*.md runs as printed.

A page's blocks run in order in one fresh interpreter (as a reader pasting them into one
session would), in an empty temporary folder, so a block may use what an earlier block of the
same page defined but nothing else: no fixtures, no hidden set-up.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests._servers import chroma_server, postgres_server

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text(encoding="utf-8"))


def script_for(page: Path) -> str:
    """One script of the page's blocks, each tagged so a failure names its block."""
    parts = []
    for number, block in enumerate(python_blocks(page), 1):
        parts.append(f"# --- {page.name}, python block {number} ---\n{block}")
    return "\n".join(parts)


@pytest.mark.parametrize(
    "page", [p for p in PAGES if python_blocks(p)], ids=lambda p: p.relative_to(ROOT).as_posix()
)
def test_python_blocks_run_as_printed(page: Path, tmp_path: Path) -> None:
    script = tmp_path / f"{page.stem}_blocks.py"
    script.write_text(script_for(page), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ANONYMIZED_TELEMETRY": "False"}
    with ExitStack() as servers:
        if "CHROMA_PORT" in page.read_text(encoding="utf-8"):
            # The page tells its reader to start `chroma run` first; so does the test.
            port = servers.enter_context(chroma_server(tmp_path / "chroma-server"))
            env["CHROMA_PORT"] = str(port)
        if "DATABASE_URL" in page.read_text(encoding="utf-8"):
            # The page reads its PostgreSQL URL from DATABASE_URL: a throwaway server here.
            url = servers.enter_context(postgres_server())
            env["DATABASE_URL"] = url
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert done.returncode == 0, (
        f"a Python block of {page.relative_to(ROOT)} fails as printed:\n{done.stderr[-4000:]}"
    )


def test_every_page_with_code_is_checked() -> None:
    """A page whose examples are marked ``py`` or left unmarked would dodge the runner."""
    dodging = [
        p.relative_to(ROOT).as_posix()
        for p in PAGES
        if re.search(r"^```(py|python3|pycon)\s*$", p.read_text(encoding="utf-8"), re.M)
    ]
    assert dodging == [], f"mark Python blocks as ```python so they run: {dodging}"
