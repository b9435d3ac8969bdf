"""Helpers for the conversation tests, importable by child processes under spawn."""

from __future__ import annotations

import time
import traceback
from typing import Any

from langchain_core.messages import AIMessage

from langgraph_sharedmem import ConversationLog


def agent_process(path: str, agent: str, n: int, barrier: Any, results: Any) -> None:
    """One agent process appending ``n`` messages to run r1; reports (agent, seqs, error)."""
    try:
        with ConversationLog(path, embeddings=None) as log:
            log.setup()
            barrier.wait(timeout=120)
            seqs = [
                log.append(
                    AIMessage(content=f"{agent} says {i}", id=f"{agent}-{i}"),
                    run="r1",
                    sender=agent,
                ).seq
                for i in range(n)
            ]
        results.put((agent, seqs, None))
    except BaseException:
        results.put((agent, None, traceback.format_exc()))


def tail_reader(path: str, expected: int, barrier: Any, results: Any) -> None:
    """Page run r1 with ``after=`` cursors while others append, until ``expected`` messages
    were seen; report (seqs seen in order, None, error). A message committed after a reader
    moved past its seq would be missed for good: the seqs must come out complete."""
    try:
        with ConversationLog(path, embeddings=None) as log:
            log.setup()
            barrier.wait(timeout=120)
            seen: list[int] = []
            cursor = None
            deadline = time.monotonic() + 120
            while len(seen) < expected and time.monotonic() < deadline:
                page = log.page("r1", after=cursor, limit=7)
                seen += [m.seq for m in page.items]
                cursor = page.items[-1].seq if page.items else cursor
        results.put((seen, None, None))
    except BaseException:
        results.put((None, None, traceback.format_exc()))


def writer_or_tail(role: str, path: str, agent: str, n: int, barrier: Any, results: Any) -> None:
    """`agent_process` (role ``"write"``) or `tail_reader` (``"tail"``, expecting ``n``)."""
    if role == "write":
        agent_process(path, agent, n, barrier, results)
    else:
        tail_reader(path, n, barrier, results)
