"""A library leaves the application's logging alone: using the default index (WordLlama, whose
package calls ``logging.basicConfig(level=INFO)`` when imported) must not change the root
logger. Each case runs in a fresh interpreter, where nothing has imported WordLlama yet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_SCRIPT = """
import json, logging, sys
root = logging.getLogger()
if sys.argv[3] == "error-level":  # configured a level, no handler yet
    root.setLevel(logging.ERROR)
before = [root.level, [repr(h) for h in root.handlers]]
from langgraph_sharedmem import SharedMemory
conn, chroma = sys.argv[1], sys.argv[2]
with SharedMemory.open(conn, chroma=chroma) as mem:  # index="default": WordLlama
    mem.store.put(("docs",), "a", {"text": "the cat sat on the mat"})
    hits = mem.store.search(("docs",), query="a cat on a mat")
    assert hits and hits[0].key == "a", hits
after = [root.level, [repr(h) for h in root.handlers]]
print(json.dumps([before, after]))
"""


@pytest.mark.parametrize("setup", ["unconfigured", "error-level"])
def test_the_default_index_leaves_the_root_logger_as_it_was(
    backend_url: str, tmp_path: Path, setup: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, backend_url, str(tmp_path / "chroma"), setup],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = json.loads(done.stdout.strip().splitlines()[-1])
    assert after == before
    assert before[1] == []
