"""LangGraph's own suites, run in subprocesses beside the rest of the session.

Each suite is one pytest of ``scripts/langgraph_suites.py`` in a subprocess. Together they need
about 200 s of CPU, and on 2 cores the rest of the session leaves about 0.9 of a core idle (its
tests wait on spawned processes and on the server). So the suites start with the session's
first test (``langgraph_suite_runs``, pulled in by tests/conftest.py), at a lower priority
(``nice``) so the session's own timing-sensitive tests keep the cores they had, and
tests/test_langgraph_suites.py, which runs last, waits for their results. When they ran in
that module, after the rest, they took about 160 s of a 660 s session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "langgraph_suites.py"
TEST_NAME = "test_langgraph_suite_passes_with_our_backend"
TEST_MODULE = "test_langgraph_suites.py"

# SHAREDMEM_PG_SUITES_SAMPLE=K runs a fixed 1 in K of the longest PostgreSQL suites for a quick
# local look: the same tests on every run, picked by a hash of their ids.
PG_SAMPLE = int(os.environ.get("SHAREDMEM_PG_SUITES_SAMPLE") or 1)
PG_SAMPLED = ("graph-postgres", "graph-inline-postgres", "store-postgres")

# The PostgreSQL suites wait on the server much of the time, so three run at once. Seconds each
# took alone, longest first, so the lanes finish together.
PARALLEL = 3
SECONDS_ALONE = {
    "graph-postgres": 87, "graph": 56, "graph-inline-postgres": 55, "store-postgres": 55,
    "graph-inline": 44, "store": 41, "memory-postgres": 6, "memory": 5, "saver-postgres": 4,
    "saver": 3,
}  # fmt: skip
# The lowest priority: the suites take what the session leaves idle. At 10 the session's first
# tests (process races, racing the suites for the cores) took about 25 s longer than at 19.
NICENESS = 19


@dataclass
class SuiteRuns:
    """The selected suites, started together at the session's first test."""

    runs: dict[str, Future[subprocess.CompletedProcess[str]]]
    outputs: dict[str, Path]
    postgres_url: str | None
    postgres_missing: BaseException | None  # the session's skip (or, under CI, failure)
    running: dict[str, subprocess.Popen[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: bool = False


def run_suite(
    suite: str,
    out: Path,
    postgres_url: str | None,
    pytest_args: tuple[str, ...] = (),
    runs: SuiteRuns | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run one suite (or, with ``pytest_args``, some of its tests) and wait for it."""
    command = [sys.executable, str(SCRIPT), suite, "--json", str(out)]
    if runs is not None:  # beside the session's tests, not a rerun alone
        command = ["nice", "-n", str(NICENESS), *command]
    env = dict(os.environ)
    if postgres_url is not None:
        env["LANGGRAPH_SUITES_POSTGRES_URL"] = postgres_url  # the script makes its database
    if suite in PG_SAMPLED and not pytest_args:
        command += ["--sample", str(PG_SAMPLE)]
    if pytest_args:
        command += ["--", *pytest_args]
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: stopped whole with the script's pytest
    )
    if runs is not None:
        with runs.lock:
            if runs.stopped:
                _stop(proc)
            runs.running[suite] = proc
    try:
        stdout, stderr = proc.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        _stop(proc)
        stdout, stderr = proc.communicate()
    return subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def _stop(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def langgraph_suite_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SuiteRuns]:
    """The suites the session selected, started now; suites whose tests never ran (the session
    stopped early) are stopped at its end instead of awaited."""
    selected = {
        item.callspec.params["suite"]
        for item in request.session.items
        if getattr(item, "originalname", None) == TEST_NAME
    }
    postgres_url, missing = None, None
    if any(suite.endswith("-postgres") for suite in selected):
        try:  # the session's server: skipped where none starts, an error under CI
            postgres_url = request.getfixturevalue("postgres_url")
        except (pytest.skip.Exception, pytest.fail.Exception) as exc:
            missing = exc
    runnable = [s for s in selected if postgres_url is not None or not s.endswith("-postgres")]
    outputs = {s: tmp_path_factory.mktemp(s) / "results.json" for s in runnable}
    with ThreadPoolExecutor(PARALLEL, thread_name_prefix="langgraph-suite") as pool:
        runs = SuiteRuns({}, outputs, postgres_url, missing)
        for s in sorted(runnable, key=lambda s: -SECONDS_ALONE.get(s, 0)):
            url = postgres_url if s.endswith("-postgres") else None
            runs.runs[s] = pool.submit(run_suite, s, outputs[s], url, (), runs)
        try:
            yield runs
        finally:
            with runs.lock:
                runs.stopped = True
                for proc in runs.running.values():
                    if proc.poll() is None:
                        _stop(proc)
            for future in runs.runs.values():
                future.cancel()


def is_suite_test(item: pytest.Item) -> bool:
    return item.path.name == TEST_MODULE
