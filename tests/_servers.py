"""Throwaway servers on 127.0.0.1 for tests: a `chroma run` started and stopped per use."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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
