"""Opening decides: a file this process cannot write, another application's SQLite file (a
LangGraph SqliteSaver file above all) and a file from a newer version are refused when they
are opened, with an error that says what the file is and what to do; nothing is added to
them. A SqliteSaver file has a way in: ``sharedmem import-sqlite-saver``."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage
from langgraph.checkpoint.sqlite import SqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Command, interrupt

from langgraph_sharedmem import (
    DatabaseFileError,
    FactLedger,
    SchemaVersionError,
    SharedMemory,
    SharedMemorySaver,
    SharedMemoryStore,
)
from langgraph_sharedmem.cli import Inspector, main
from langgraph_sharedmem.core.sqlite import Database


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    turn: int
    approved: str


def _answer(state: State) -> State:
    question = state["messages"][-1].content
    return {"messages": [AIMessage(f"answer to {question}")], "turn": state.get("turn", 0) + 1}


def _ask(state: State) -> State:
    return {"approved": interrupt({"question": "send it?", "turn": state.get("turn")})}


def _graph(checkpointer: Any) -> Any:
    review = StateGraph(State)
    review.add_node("ask", _ask)
    review.add_edge(START, "ask")
    builder = StateGraph(State)
    builder.add_node("answer", _answer)
    builder.add_node("review", review.compile())  # a subgraph: its own checkpoint namespace
    builder.add_edge(START, "answer")
    builder.add_edge("answer", "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=checkpointer)


def _config(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


THREADS = ("done-1", "done-2", "waiting")


def _sqlite_saver_file(path: Path) -> None:
    """A real SqliteSaver database: two finished threads and one stopped at an interrupt."""
    with SqliteSaver.from_conn_string(str(path)) as saver:
        graph = _graph(saver)
        for thread in THREADS:
            for question in ("where is my order?", "and the refund?"):
                graph.invoke({"messages": [HumanMessage(question)]}, _config(thread))
                if thread != "waiting" or question == "where is my order?":
                    graph.invoke(Command(resume=f"yes {question}"), _config(thread))


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- a LangGraph SqliteSaver file ----------------------------------------------------------


@pytest.fixture
def saver_file(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoints.db"
    _sqlite_saver_file(path)
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def test_a_sqlite_saver_file_is_refused_at_open_and_left_alone(saver_file: Path) -> None:
    tables, digest = _tables(saver_file), _digest(saver_file)
    for open_it in (
        lambda: SharedMemory.open(saver_file),
        lambda: SharedMemorySaver.from_conn_string(saver_file),
        lambda: SharedMemoryStore.from_path(saver_file, index=None),
        lambda: FactLedger(saver_file),
    ):
        with pytest.raises(DatabaseFileError) as caught:
            open_it()
        message = str(caught.value)
        assert "LangGraph SqliteSaver database" in message
        assert f"sharedmem import-sqlite-saver {saver_file}" in message
    assert _tables(saver_file) == tables  # no store, facts or migrations table was added
    assert _digest(saver_file) == digest


def test_import_sqlite_saver_copies_every_thread(
    saver_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "agents.db"
    digest = _digest(saver_file)
    code = main(["import-sqlite-saver", str(saver_file), str(target), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    with sqlite3.connect(saver_file) as conn:
        checkpoints = conn.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
        writes = conn.execute("SELECT count(*) FROM writes").fetchone()[0]
        namespaces = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT thread_id, checkpoint_ns FROM checkpoints)"
        ).fetchone()[0]
    assert report["threads"] == 3 and report["namespaces"] == namespaces > 3
    assert report["checkpoints"] == checkpoints and report["writes"] == writes > 0
    assert _digest(saver_file) == digest  # read-only source

    with SqliteSaver.from_conn_string(str(saver_file)) as old, SharedMemory.open(target) as mem:
        before, after = _graph(old), _graph(mem.checkpointer)
        for thread in THREADS:
            want, got = before.get_state(_config(thread)), after.get_state(_config(thread))
            assert got.values == want.values, thread
            assert got.next == want.next and got.config == want.config
            assert [i.value for t in got.tasks for i in t.interrupts] == [
                i.value for t in want.tasks for i in t.interrupts
            ]
            history = [s.config for s in after.get_state_history(_config(thread))]
            assert history == [s.config for s in before.get_state_history(_config(thread))]
        # The thread stopped at an interrupt goes on in the new file.
        assert after.get_state(_config("waiting")).next == ("review",)
        done = after.invoke(Command(resume="yes"), _config("waiting"))
        assert done["approved"] == "yes" and done["turn"] == 2
    with Inspector(target) as ins:
        assert {t["thread_id"] for t in ins.threads()} == set(THREADS)


def test_import_refuses_what_it_must_not_touch(
    saver_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    code = main(["import-sqlite-saver", str(saver_file), str(existing)])
    assert code == 1 and "the file exists" in capsys.readouterr().err
    assert existing.read_bytes() == b"keep me"

    ours = tmp_path / "ours.db"
    with SharedMemorySaver(ours) as saver:
        saver.setup()
    code = main(["import-sqlite-saver", str(ours), str(tmp_path / "new.db")])
    assert code == 1 and "already a langgraph-sharedmem database" in capsys.readouterr().err
    assert not (tmp_path / "new.db").exists()

    # A sqlite:/// URL names the same file: an existing database is refused, not merged into.
    before = _digest(ours)
    code = main(["import-sqlite-saver", str(saver_file), f"sqlite:///{ours}"])
    assert code == 1 and "the file exists" in capsys.readouterr().err
    assert _digest(ours) == before
    # A server's database may hold other data, and a failed import removes its target.
    code = main(["import-sqlite-saver", str(saver_file), "postgresql://agents@db-host/agents"])
    assert code == 1 and "sharedmem copy" in capsys.readouterr().err


def test_import_reads_sqlite_urls_as_the_files_they_name(
    saver_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "via-url.db"
    code = main(["import-sqlite-saver", f"sqlite:///{saver_file}", f"sqlite:///{target}"])
    assert code == 0, capsys.readouterr().err
    with Inspector(target) as ins:
        assert {t["thread_id"] for t in ins.threads()} == set(THREADS)


# -- other applications' files, newer versions ----------------------------------------------


def test_another_applications_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    with pytest.raises(DatabaseFileError, match="another application.*invoices"):
        SharedMemory.open(path)
    with pytest.raises(DatabaseFileError, match="another application"):
        SharedMemoryStore(path, index=None)
    assert _tables(path) == {"invoices"}
    # A new file and an empty SQLite file are fine: they become ours on first use.
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with SharedMemory.open(empty) as mem, SharedMemory.open(tmp_path / "new.db") as fresh:
        mem.checkpointer.setup()
        fresh.checkpointer.setup()


@pytest.mark.parametrize(
    ("migration_set", "open_it"),
    [
        ("langgraph_sharedmem.checkpoint", lambda p: SharedMemorySaver.from_conn_string(p)),
        ("langgraph_sharedmem.store", lambda p: SharedMemoryStore(p, index=None)),
        ("langgraph_sharedmem.facts", lambda p: FactLedger(p)),
        ("langgraph_sharedmem.conversation", lambda p: SharedMemory.open(p)),
    ],
)
def test_a_newer_file_is_refused_at_open(tmp_path: Path, migration_set: str, open_it: Any) -> None:
    path = tmp_path / "agents.db"
    with SharedMemory.open(path, index=None) as mem:
        mem.checkpointer.setup()
        mem.facts.setup()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            "VALUES (?, '9999_from_the_future', '2099-01-01')",
            (migration_set,),
        )
    tables = _tables(path)
    with pytest.raises(SchemaVersionError, match="newer langgraph-sharedmem.*9999_from_the_future"):
        open_it(path)
    assert _tables(path) == tables


# -- a file this process cannot write ------------------------------------------------------


@pytest.fixture
def read_only_file(tmp_path: Path) -> Iterator[Path]:
    """A database file that really refuses writes, also to root: immutable (chattr +i) when
    running as root, mode 0444 otherwise."""
    path = tmp_path / "agents.db"
    with SharedMemory.open(path, index=None) as mem:
        mem.checkpointer.put(
            {"configurable": {"thread_id": "t", "checkpoint_ns": ""}},
            {
                "v": 4,
                "id": "1",
                "ts": "2026-01-01T00:00:00+00:00",
                "channel_values": {"x": 1},
                "channel_versions": {"x": 1},
                "versions_seen": {},
            },
            {},
            {"x": 1},
        )
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if os.geteuid() == 0:
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
        if made.returncode != 0:
            pytest.skip(f"running as root and chattr +i failed: {made.stderr!r}")
    else:
        path.chmod(0o444)
    try:
        with pytest.raises(PermissionError):
            open(path, "r+b").close()  # the premise: this process cannot write the file
        yield path
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(0o644)


def test_a_read_only_file_is_refused_at_open_and_readable_read_only(
    read_only_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    digest = _digest(read_only_file)
    for open_it in (
        lambda: SharedMemory.open(read_only_file),
        lambda: SharedMemorySaver(read_only_file),
        lambda: SharedMemoryStore(read_only_file, index=None),
    ):
        with pytest.raises(DatabaseFileError, match="for writing.*read-only"):
            open_it()
    # Reading it is what a read-only open is for.
    with Database(read_only_file, read_only=True) as db, SharedMemorySaver(db) as saver:
        values = saver.get_tuple({"configurable": {"thread_id": "t"}}).checkpoint
        assert values["channel_values"] == {"x": 1}
    assert main(["threads", str(read_only_file), "--json"]) == 0
    assert [t["thread_id"] for t in json.loads(capsys.readouterr().out)] == ["t"]
    assert _digest(read_only_file) == digest
