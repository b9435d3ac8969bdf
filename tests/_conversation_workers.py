"""Helpers for the conversation tests, importable by child processes under spawn."""

from __future__ import annotations

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
