"""Async twins await a remote embedder before their SQL runs on the database's worker thread.

One `SharedMemory` serves all async calls of a process through one worker thread. A remote
embedder called from that thread would hold up every other async call (checkpoint reads
included) for each network round trip. The embedder below stands in for a remote one: its
async methods take a while (awaited, so the event loop and the worker stay free) and every
call of a sync method records the thread it ran on, so the tests can assert none ran on the
worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings
from langchain_core.messages import AIMessage, HumanMessage

from langgraph_sharedmem import ConversationLog, SharedMemory

DIMS = 16
WORKER = "langgraph-sharedmem"  # the database worker's thread-name prefix (Database.run)


def _vector(text: str) -> list[float]:
    digest = hashlib.sha256(text.lower().encode("utf-8", "surrogatepass")).digest()
    return (np.frombuffer(digest[:DIMS], dtype=np.uint8).astype(np.float32) + 1.0).tolist()


class RemoteEmbeddings(Embeddings):
    """Deterministic vectors after ``delay`` seconds (awaited in the async methods); every
    sync call records the thread it ran on."""

    def __init__(self, delay: float = 0.6) -> None:
        self.delay = delay
        self.sync_threads: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.sync_threads.append(threading.current_thread().name)
        time.sleep(self.delay)
        return [_vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        self.sync_threads.append(threading.current_thread().name)
        time.sleep(self.delay)
        return _vector(text)

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        await asyncio.sleep(self.delay)
        return [_vector(t) for t in texts]

    async def aembed_query(self, text: str) -> list[float]:
        await asyncio.sleep(self.delay)
        return _vector(text)

    def on_worker(self) -> list[str]:
        return [name for name in self.sync_threads if name.startswith(WORKER)]


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[tuple[SharedMemory, RemoteEmbeddings]]:
    embedder = RemoteEmbeddings()
    mem = await SharedMemory.aopen(
        tmp_path / "m.db", index={"dims": DIMS, "embed": embedder, "fields": ["$"]}
    )
    async with mem:
        await mem.checkpointer.asetup()
        yield mem, embedder


async def _while_embedding(mem: SharedMemory, call: object) -> float:
    """Run ``call`` (an awaitable that embeds remotely) and, meanwhile, time a checkpoint
    read through the same worker; returns the read's latency in seconds."""
    task = asyncio.ensure_future(call)  # type: ignore[arg-type]
    await asyncio.sleep(0.05)  # the twin is now awaiting the embedder
    start = time.perf_counter()
    await mem.checkpointer.aget_tuple({"configurable": {"thread_id": "other"}})
    latency = time.perf_counter() - start
    await task
    return latency


async def test_registry_twins_embed_off_the_worker(setup: tuple) -> None:
    mem, embedder = setup
    reg = mem.registry
    latency = await _while_embedding(
        mem, reg.aregister("billing", description="Invoices, refunds and double charges.")
    )
    assert latency < embedder.delay / 2
    await reg.aregister("courier", description="Ships parcels and tracks deliveries.")
    await reg.aupdate("courier", description="Ships parcels, tracks and returns deliveries.")
    task = "I was charged twice on my invoice"
    routes = await reg.aroute(task, k=2)
    found = await reg.asearch("parcel tracking", k=2)
    assert embedder.on_worker() == []
    # The same answers as the sync methods give (which embed on the caller's thread).
    assert [(r.name, r.score) for r in routes] == [(r.name, r.score) for r in reg.route(task, k=2)]
    assert [(m.agent.name, m.score) for m in found] == [
        (m.agent.name, m.score) for m in reg.search("parcel tracking", k=2)
    ]


async def test_view_and_ledger_twins_embed_off_the_worker(setup: tuple) -> None:
    mem, embedder = setup
    mem.register_agent("planner")
    view = mem.agent("planner", run_id="r1")
    latency = await _while_embedding(
        mem, view.aremember("plan", {"text": "fly to Oslo on Monday"}, scope="run")
    )
    assert latency < embedder.delay / 2
    found = await view.asearch("trip to Oslo", scope="run")
    assert [i.key for i in found] == ["plan"]
    assert found[0].score == view.search("trip to Oslo", scope="run")[0].score
    # The ledger's near-duplicate matcher runs on the store's (remote) embedder.
    await mem.facts.aassert_fact("app", "trip", "city", "Oslo, Norway", author="planner")
    change = await mem.facts.aassert_fact("app", "trip", "city", "Oslo Norway", author="crm")
    assert len(await mem.facts.aclaims("app", "trip", "city")) == 1  # one claim, two sources
    assert change.fact.value == "Oslo, Norway"
    assert embedder.on_worker() == []


async def test_conversation_twins_embed_off_the_worker(setup: tuple) -> None:
    mem, embedder = setup
    mem.register_agent("planner")
    log = ConversationLog(mem.db, embeddings=embedder, access=mem.access)
    latency = await _while_embedding(
        mem, log.aappend(HumanMessage("Plan a trip to Oslo"), run="r1", sender="user")
    )
    assert latency < embedder.delay / 2
    await log.aextend(
        [AIMessage("Hotels under 150 EUR"), AIMessage("Flights on Monday")],
        run="r1",
        sender="planner",
    )
    relevant = await log.arelevant("r1", "Flights on Monday", 1, viewer="planner")
    assert [m.content for m in relevant] == ["Flights on Monday"]  # the same text: cosine 1
    context = await log.acontext("r1", "planner", last=1, query="Hotels under 150 EUR", k=1)
    assert "Hotels under 150 EUR" in [m.content for m in context]
    assert embedder.on_worker() == []


async def test_aopen_and_aclose(tmp_path: Path) -> None:
    mem = await SharedMemory.aopen(tmp_path / "m.db", index=None)
    await mem.checkpointer.asetup()
    assert await mem.checkpointer.aget_tuple({"configurable": {"thread_id": "t"}}) is None
    await mem.aclose()
    with pytest.raises(Exception, match="closed"):
        mem.db.conn.execute("SELECT 1")
