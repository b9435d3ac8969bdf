"""LangGraph Studio for real: `langgraph dev` on examples/studio, driven through langgraph-sdk.

The server runs in a temporary copy of the example, with its database in tmp (``SHAREDMEM_DB``)
and blockbuster on (the default of ``langgraph dev``), so a run that blocks the event loop
fails. A thread written before the server started, by another process, must be listed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langgraph_sharedmem import SharedMemory
from langgraph_sharedmem.cli import Inspector
from langgraph_sharedmem.cli import studio as studio_helpers

pytest.importorskip("langgraph_api")
langgraph_sdk = pytest.importorskip("langgraph_sdk")

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "studio"
LANGGRAPH = Path(sys.executable).with_name("langgraph")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _load_example(db: Path | str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The example's graphs module, imported here as another process would use it."""
    monkeypatch.setenv(studio_helpers.DB_ENV, str(db))
    spec = importlib.util.spec_from_file_location("studio_example_graphs", EXAMPLE / "graphs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_outside_thread(
    db: str | Path, monkeypatch: pytest.MonkeyPatch, thread_id: str, text: str
) -> None:
    example = _load_example(db, monkeypatch)
    try:
        with SharedMemory.open(db) as mem:
            graph = example.builder().compile(checkpointer=mem.checkpointer, store=mem.store)
            asyncio.run(
                graph.ainvoke(
                    {"messages": [HumanMessage(content=text)]},
                    {"configurable": {"thread_id": thread_id, "user_id": "outside"}},
                )
            )
    finally:
        studio_helpers.close_memories()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    target = tmp_path / "project"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".langgraph_api", "*.db*"))
    return target


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"langgraph dev exited early:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/ok", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"langgraph dev not ready in {timeout}s:\n{log.read_text()[-4000:]}")


def _start(project: Path, log: Path) -> tuple[str, subprocess.Popen[bytes]]:
    """docs/studio.md's quick start, as printed (`SHAREDMEM_DB=studio.db
    SHAREDMEM_STUDIO_GRAPH=memory_agent langgraph dev --no-reload`), on a free port."""
    port = _free_port()
    env = {
        **os.environ,
        studio_helpers.DB_ENV: "studio.db",  # relative, as in the docs: resolved in the project
        studio_helpers.GRAPH_ENV: "memory_agent",  # ...and the rest by the factory at startup
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                str(LANGGRAPH),
                "dev",
                "--no-browser",
                "--no-reload",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
            ],
            cwd=project,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, log)
    except BaseException:
        _stop(proc)
        raise
    return url, proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture
def server(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, Any]]:
    if not LANGGRAPH.exists():
        pytest.skip("the langgraph CLI (langgraph-cli[inmem]) is not installed")
    db = project / "studio.db"
    outside = str(uuid.uuid4())
    _write_outside_thread(db, monkeypatch, outside, "my city is Lyon")
    _write_outside_thread(db, monkeypatch, "not-a-uuid", "my city is Oslo")
    # One thread listed ahead of the start, through the server's own file...
    before = studio_helpers.register_threads(
        db, graph_id="memory_agent", thread_ids=[outside], project_dir=project
    )
    assert before.added == [outside]
    log = tmp_path / "server.log"
    url, proc = _start(project, log)
    state = {"url": url, "db": db, "outside": outside, "log": log, "proc": proc}
    try:
        yield state
    finally:
        _stop(state["proc"])


async def _drive(url: str, outside: str) -> dict[str, Any]:
    client = langgraph_sdk.get_client(url=url)
    thread = await client.threads.create()
    tid = thread["thread_id"]
    config = {"configurable": {"user_id": "ada"}}
    first = await client.runs.create(
        tid,
        "memory_agent",
        input={"messages": [{"role": "user", "content": "hi, my name is Ada"}]},
        config=config,
    )
    await client.runs.join(tid, first["run_id"])
    second = await client.runs.wait(
        tid,
        "memory_agent",
        input={"messages": [{"role": "user", "content": "what is my name?"}]},
        config=config,
    )
    run = await client.runs.get(tid, first["run_id"])
    state = await client.threads.get_state(tid)
    history = await client.threads.get_history(tid, limit=20)
    items = await client.store.search_items(["sharedmem", "user", "ada", "notes"])
    listed = await client.threads.search(limit=100)
    outside_state = await client.threads.get_state(outside)
    # The customer-service template (offline scripted models) on the same server and file.
    team = await client.threads.create()
    answer = await client.runs.wait(
        team["thread_id"],
        "customer_service",
        input={"messages": [{"role": "user", "content": "I was charged twice for order 42"}]},
        config={"configurable": {"user_id": "cust-9"}},
    )
    team_history = await client.threads.get_history(team["thread_id"], limit=50)
    team_items = await client.store.search_items(["sharedmem", "user", "cust-9"])
    return {
        "team": team["thread_id"],
        "answer": answer,
        "team_history": team_history,
        "team_items": team_items["items"],
        "tid": tid,
        "run": run,
        "second": second,
        "state": state,
        "history": history,
        "items": items["items"],
        "listed": {t["thread_id"] for t in listed},
        "outside_state": outside_state,
    }


def test_langgraph_dev_runs_on_shared_memory(server: dict[str, Any]) -> None:
    out = asyncio.run(_drive(server["url"], server["outside"]))
    tid = out["tid"]
    assert out["run"]["status"] == "success"
    replies = [m["content"] for m in out["state"]["values"]["messages"] if m["type"] == "ai"]
    assert replies[-1] == "I remember 2 note(s) of yours and that your name=Ada."
    assert out["second"]["messages"][-1]["content"] == replies[-1]
    # per run: the input, the start and one checkpoint per node; each one a row of ours
    assert len(out["history"]) == 8
    assert {i["value"]["text"] for i in out["items"]} == {"hi, my name is Ada", "what is my name?"}
    # threads written outside the server are listed and readable; the non-UUID one is not
    assert {tid, server["outside"]} <= out["listed"]
    outside_msgs = out["outside_state"]["values"]["messages"]
    assert outside_msgs[0]["content"] == "my city is Lyon"

    # Everything is in our database (read while the server still holds it open).
    with Inspector(server["db"]) as ins:
        threads = {t["thread_id"]: t for t in ins.threads()}
        assert threads[tid]["checkpoints"] == 8
        assert "not-a-uuid" in threads  # in the file, just not listable by the dev server
        facts = ins.facts(scope="user:ada")
        assert [(f["attribute"], f["value"]) for f in facts] == [("name", "Ada")]
        assert len(ins.items("sharedmem.user.ada.notes")) == 2
        values = ins.checkpoint(tid)["values"]
        assert [m["content"] for m in values["messages"]][-1] == replies[-1]
    # The template: routed by the registry to billing, which wrote the user's memory.
    assert (
        out["answer"]["final"] == "I noted your request in your file; a colleague will follow up."
    )
    assert list(out["answer"]["outputs"]) == ["billing"]
    assert len(out["team_history"]) > 4
    assert [i["key"] for i in out["team_items"]] == ["last-request"]
    with Inspector(server["db"]) as ins:
        assert {t["thread_id"] for t in ins.threads()} >= {out["team"]}
        assert {a["name"] for a in ins.agents()} >= {"billing", "support", "account"}
        writes = ins.audit(agent="billing", action="remember")
        assert [(w["scope"], w["subject"]) for w in writes] == [("user:cust-9", "last-request")]
    log = server["log"].read_text(errors="replace")
    assert "BlockingError" not in log


def test_studio_threads_in_a_project_a_server_ran_in(
    server: dict[str, Any], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`sharedmem studio-threads` with the server stopped, in the project it ran in (its
    pickle then names langgraph_api functions), then the server lists the thread."""
    first = asyncio.run(_one_run(server["url"]))
    _stop(server["proc"])
    later = str(uuid.uuid4())
    _write_outside_thread(server["db"], monkeypatch, later, "my city is Porto")
    env = {**os.environ, "PYTHONPATH": str(EXAMPLE.parents[1])}
    for key in ("REDIS_URI", "DATABASE_URI", "MIGRATIONS_PATH", "LANGGRAPH_RUNTIME_EDITION"):
        env.pop(key, None)  # a user's shell, not the server's
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "langgraph_sharedmem.cli",
            "studio-threads",
            "studio.db",
            "--graph",
            "memory_agent",
            "--json",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["added"] == [later] and first in report["known"]
    url, proc = _start(project, server["log"])
    server["proc"] = proc
    listed, state = asyncio.run(_listed(url, later))
    assert {first, later, server["outside"]} <= listed
    assert state["values"]["messages"][0]["content"] == "my city is Porto"


async def _one_run(url: str) -> str:
    client = langgraph_sdk.get_client(url=url)
    thread = await client.threads.create()
    done = await client.runs.wait(
        thread["thread_id"],
        "memory_agent",
        input={"messages": [{"role": "user", "content": "my name is Bo"}]},
        config={"configurable": {"user_id": "bo"}},
    )
    assert done["messages"][-1]["content"] == "I remember 1 note(s) of yours and that your name=Bo."
    return str(thread["thread_id"])


async def _listed(url: str, thread_id: str) -> tuple[set[str], dict[str, Any]]:
    client = langgraph_sdk.get_client(url=url)
    listed = {t["thread_id"] for t in await client.threads.search(limit=100)}
    return listed, await client.threads.get_state(thread_id)


def test_register_threads_writes_the_dev_server_file(
    backend_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = backend_url  # a file, or a PostgreSQL database (its root-thread list never ran there)
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    _write_outside_thread(db, monkeypatch, first, "my name is Ada")
    _write_outside_thread(db, monkeypatch, second, "my name is Bo")
    _write_outside_thread(db, monkeypatch, "chat-7", "my name is Cy")
    report = studio_helpers.register_threads(db, graph_id="memory_agent", project_dir=tmp_path)
    assert sorted(report.added) == sorted([first, second])
    assert report.skipped == ["chat-7"]
    again = studio_helpers.register_threads(
        db, graph_id="memory_agent", project_dir=tmp_path, copy_non_uuid=True
    )
    assert sorted(again.known) == sorted([first, second])
    copy = again.copied["chat-7"]
    assert again.added == [copy]
    with (tmp_path / ".langgraph_api" / ".langgraph_ops.pckl").open("rb") as f:
        data = pickle.load(f)
    records = {str(t["thread_id"]): t for t in data["threads"]}
    assert set(records) == {first, second, copy}
    assert records[copy]["metadata"]["source_thread_id"] == "chat-7"
    assert records[first]["metadata"]["graph_id"] == "memory_agent"
    assert records[first]["values"]["messages"][0].content == "my name is Ada"
    assert data["runs"] == [] and data["assistants"] == []
    with SharedMemory.open(db) as mem:  # the copy holds the original's checkpoints
        original = mem.checkpointer.get_tuple({"configurable": {"thread_id": "chat-7"}})
        copied = mem.checkpointer.get_tuple({"configurable": {"thread_id": copy}})
        assert original is not None and copied is not None
        assert copied.checkpoint["channel_values"] == original.checkpoint["channel_values"]


def test_register_threads_refuses_a_missing_graph_id(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="graph_id"):
        studio_helpers.register_threads(tmp_path / "x.db", graph_id="", project_dir=tmp_path)
    assert not (tmp_path / "x.db").exists()


def test_the_factories_open_a_postgresql_url_or_connection_string_as_given(
    postgres_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    monkeypatch.chdir(tmp_path)
    dsn = make_conninfo(**conninfo_to_dict(postgres_db))

    async def through_the_factories(value: str) -> None:
        async with studio_helpers.checkpointer() as saver, studio_helpers.store() as store:
            assert saver.db.dialect == "postgres" and store.db is saver.db
            await store.aput(("studio",), "k", {"v": value})

    try:
        for conn in (postgres_db, dsn):
            monkeypatch.setenv(studio_helpers.DB_ENV, conn)
            assert studio_helpers.db_path() == conn
            example = _load_example(conn, monkeypatch)  # the graphs module opens memory()
            assert example.MEMORY.db.dialect == "postgres"
            asyncio.run(through_the_factories(conn))
            # The last factory out closed the memory: the next use opens it again.
            item = studio_helpers.memory().store.get(("studio",), "k")
            assert item is not None and item.value == {"v": conn}
            studio_helpers.close_memories()
    finally:
        studio_helpers.close_memories()
    assert list(tmp_path.iterdir()) == []  # no file named after the URL


def test_the_factories_reopen_the_memory_after_the_last_one_closed_it(backend_url: str) -> None:
    """A server that stops its factories and starts them again (a reload) gets an open
    memory, not the one the last factory closed."""

    async def put_and_get(value: int) -> Any:
        async with (
            studio_helpers.checkpointer(backend_url),
            studio_helpers.store(backend_url) as store,
        ):
            await store.aput(("notes",), "k", {"v": value})
            return (await store.aget(("notes",), "k")).value  # type: ignore[union-attr]

    try:
        assert asyncio.run(put_and_get(1)) == {"v": 1}
        assert asyncio.run(put_and_get(2)) == {"v": 2}
    finally:
        studio_helpers.close_memories()
