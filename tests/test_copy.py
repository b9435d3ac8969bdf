"""`sharedmem copy SRC DST`: a real memory moved SQLite -> PostgreSQL -> a new SQLite file,
verified by counts and hashes, and read back the same through the parts; refusals write nothing.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _graphs import build_chat_graph, build_draft_graph, human
from langchain_core.messages import HumanMessage

from langgraph_sharedmem import (
    InvalidConfigError,
    SharedMemory,
    SharedMemorySaver,
    UnsupportedBackendError,
)
from langgraph_sharedmem.cli import copy_database, main
from langgraph_sharedmem.cli._copy import part_specs
from langgraph_sharedmem.core.backend import open_database
from langgraph_sharedmem.core.transfer import CopyTable, PartCopy, copy_between

CHAT = {"configurable": {"thread_id": "chat"}}
FORK = {"configurable": {"thread_id": "fork"}}


def _square(mem: SharedMemory, calls: list[int]) -> Callable[[int], int]:
    @mem.tool_cache.cached(name="square", scope="app", ttl=None)
    def square(x: int) -> int:
        calls.append(x)
        return x * x

    return square


def _open(url: str | Path) -> SharedMemory:
    return SharedMemory.open(url, index=None, fact_matcher=None)


def _build(path: Path) -> float:
    """A memory with every part the copy moves to PostgreSQL; returns a moment between the
    facts' first and second versions (for as-of reads)."""
    with _open(path) as mem:
        facts = mem.facts
        facts.assert_fact("app", "acme", "plan", "pro", author="billing", source={"doc": 1})
        time.sleep(0.01)
        middle = time.time()
        time.sleep(0.01)
        facts.assert_fact("app", "acme", "plan", "enterprise", author="support")  # disagrees
        facts.assert_fact("app", "acme", "seats", 12, author="billing", confidence=0.5)
        facts.assert_fact("app", "acme", "seats", 14, author="billing", expected_version=1)
        acl = mem.access
        for agent in ("billing", "support"):
            acl.register_agent(agent)
        acl.register_user("u1")
        acl.grant_user("u1", "billing", read=True, write=True, granted_by="u1")
        acl.grant_scope("support", ("agent", "billing"), read=True, valid_until=time.time() + 60)
        acl.revoke_user("u1", "billing", by="u1")
        calls: list[int] = []
        square = _square(mem, calls)
        assert (square(3), square(3), square(4)) == (9, 9, 16) and calls == [3, 4]
        chat = build_chat_graph().compile(checkpointer=mem.checkpointer)
        for i in (1, 2):
            chat.invoke({"messages": [human(i)]}, CHAT)
        draft = build_draft_graph().compile(checkpointer=mem.checkpointer)
        draft.invoke({"topic": "bees", "log": []}, FORK)
        before_edit = next(s for s in draft.get_state_history(FORK) if s.next == ("edit",))
        draft.invoke(None, draft.update_state(before_edit.config, {"draft": "about wasps"}))
        mem.registry.register(
            "billing", description="Billing desk: invoices and payments", capabilities=["billing"]
        )
        mem.conversation.append(HumanMessage("my card expired"), run="r1", sender="user")
        mem.conversation.append(HumanMessage("updating it now"), run="r1", sender="billing")
        with mem.changes.subscribe("audit", start="earliest") as sub:
            seen = sub.poll(timeout=5)
            assert seen
            sub.ack(seen[-1])  # the durable cursor the copy carries over
    return middle


def _reads(mem: SharedMemory) -> dict[str, Any]:
    """What users read back through the parts."""
    facts, acl = mem.facts, mem.access
    out: dict[str, Any] = {
        "plan": facts.get("app", "acme", "plan"),
        "history": facts.history("app", "acme", "plan") + facts.history("app", "acme", "seats"),
        "disagreements": facts.disagreements(),
        "grants": acl.grants(),
        "audit": [(e.action, e.agent, e.outcome) for e in acl.audit()],
        "changes": [(c.seq, c.kind, c.op, c.key, c.data) for c in mem.changes.read(0)],
        "stats": mem.tool_cache.shared_stats(),
        "agents": [(a.name, a.description, a.capabilities) for a in mem.registry.agents()],
        "messages": [(m.content, m.name) for m in mem.conversation.messages("r1")],
    }
    if mem.db.dialect == "sqlite" or SharedMemorySaver.runs_on_postgres():
        chat = build_chat_graph().compile(checkpointer=mem.checkpointer)
        draft = build_draft_graph().compile(checkpointer=mem.checkpointer)
        out["chat"] = chat.get_state(CHAT).values
        out["chat_history"] = [s.config for s in chat.get_state_history(CHAT)]
        out["fork"] = draft.get_state(FORK).values
        out["fork_history"] = [(s.config, s.next) for s in draft.get_state_history(FORK)]
    return out


def test_a_memory_moves_to_postgresql_and_back_and_reads_the_same(
    tmp_path: Path, postgres_db: str
) -> None:
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    middle = _build(source)

    there = copy_database(source, postgres_db)
    assert there.ok and there.rows > 0, there.tables
    returned = copy_database(postgres_db, back)
    assert returned.ok, returned.tables
    # The same rows hash the same on both backends: SQLite -> PostgreSQL -> SQLite agree
    # (PostgreSQL may hold more, empty, tables: those of every part that runs there).
    came_back = {t.table: (t.source_rows, t.source_hash) for t in returned.tables}
    assert {t.table: (t.source_rows, t.source_hash) for t in there.tables}.items() <= (
        came_back.items()
    )
    counted = {t.table: t.source_rows for t in there.tables}
    assert counted["fact_history"] == 4 and counted["fact_disagreements"] == 1
    assert counted["acl_user_grants"] == 1 and counted["tool_calls"] == 2
    assert counted["change_cursors"] == 1 and counted["changes"] > 5
    if SharedMemorySaver.runs_on_postgres():
        assert counted["checkpoints"] > 10 and counted["channel_values"] > 10

    with _open(source) as mem:
        expected = _reads(mem)
        as_of = mem.as_of(middle).facts("app")
    with _open(postgres_db) as mem:
        on_postgres = _reads(mem)
    with _open(back) as mem:
        assert _reads(mem) == expected
        assert mem.as_of(middle).facts("app") == as_of
        assert [f.value for f in as_of] == ["pro"]
    assert on_postgres == {k: v for k, v in expected.items() if k in on_postgres}

    for url in (postgres_db, back):
        with _open(url) as mem:
            # A cached result is served without running the tool.
            calls: list[int] = []
            assert _square(mem, calls)(3) == 9 and calls == []
            # Counters were restored: new rows get new ids, and a durable subscriber
            # resumes after what it had seen, with only the new change.
            with mem.changes.subscribe("audit") as sub:
                assert sub.poll(timeout=0) == []
                mem.facts.assert_fact("app", "acme", "region", "eu", author="billing")
                [new] = sub.poll(timeout=5)
            assert new.seq > expected["changes"][-1][0] and new.key == "acme/region"
            mem.access.grant_user("u1", "support", read=True)
            assert len(mem.access.grants()) == 3


def test_copy_refuses_a_destination_holding_data_and_leaves_it_unchanged(
    tmp_path: Path, postgres_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source, other = tmp_path / "source.db", tmp_path / "other.db"
    with _open(source) as mem:
        mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
    with _open(other) as mem:
        mem.facts.assert_fact("app", "globex", "plan", "free", author="sales")
    assert copy_database(source, postgres_db).ok
    for destination in (postgres_db, other):
        with _open(destination) as mem:
            before = _reads_plain(mem)
        with pytest.raises(InvalidConfigError, match="already holds data.*Nothing was written"):
            copy_database(other if destination == postgres_db else source, destination)
        with _open(destination) as mem:
            assert _reads_plain(mem) == before
    assert main(["copy", str(source), str(other)]) == 1
    assert "already holds data" in capsys.readouterr().err
    with pytest.raises(InvalidConfigError, match="same database"):
        copy_database(source, f"sqlite:///{source}")
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    dsn = make_conninfo(**conninfo_to_dict(postgres_db))  # one database, the other form
    assert "://" not in dsn
    with pytest.raises(InvalidConfigError, match="same database"):
        copy_database(postgres_db, dsn)


def _reads_plain(mem: SharedMemory) -> Any:
    return ([(c.seq, c.key) for c in mem.changes.read(0)], mem.facts.list("app"))


def test_copy_refuses_a_part_the_destination_does_not_run_naming_it(
    tmp_path: Path, postgres_db: str
) -> None:
    source = tmp_path / "source.db"
    with _open(source) as mem:
        mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
        mem.conversation.append(HumanMessage("hello"), run="r1", sender="user")
    # Every part runs on PostgreSQL today; the refusal guards parts added later, so the
    # conversation's spec plays one here.
    specs = [
        dataclasses.replace(p, runs_on_postgres=False) if p.part == "conversation" else p
        for p in part_specs()
    ]
    with (
        open_database(source, read_only=True) as src,
        open_database(postgres_db) as dst,
        pytest.raises(UnsupportedBackendError, match="conversation part.*conv_messages"),
    ):
        copy_between(src, dst, specs)
    with _open(postgres_db) as mem:  # nothing was written, not even the schema
        assert mem.changes.read(0) == [] and mem.facts.list("app") == []
    # SQLite holds every part the copy can move: the same memory copies to another file.
    report = copy_database(source, f"sqlite:///{tmp_path / 'copy.db'}")
    assert report.ok and {t.part for t in report.tables} >= {"conversation", "facts"}
    with _open(tmp_path / "copy.db") as mem:
        assert [m.content for m in mem.conversation.messages(run="r1")] == ["hello"]


def _store_reads(mem: SharedMemory) -> Any:
    store = mem.store
    return (
        [
            (r.key, r.value, round(r.score or 0, 6))
            for r in store.search(("acme",), query="INV-4417")
        ],
        [r.key for r in store.search(("acme",), filter={"n": {"$gt": 5}})],
        store.get(("acme", "u1"), "n1"),
        store.get(("acme", "u1"), "n3"),
    )


def test_the_store_moves_with_its_indexes_rebuilt_not_copied(
    tmp_path: Path, postgres_db: str
) -> None:
    source, back = tmp_path / "source.db", tmp_path / "back.db"
    with SharedMemory.open(source, chroma=None, fact_matcher=None) as mem:  # exact search
        mem.store.put(("acme", "u1"), "n1", {"text": "refund for order INV-4417 sent", "n": 3})
        mem.store.put(("acme", "u1"), "n2", {"text": "customer asked about shipping", "n": 12})
        mem.store.put(("acme", "u1"), "n3", {"text": "a note soon deleted"})
        mem.store.delete(("acme", "u1"), "n3")
        expected = _store_reads(mem)
    assert expected[0][0][0] == "n1" and expected[1] == ["n2"]

    there = copy_database(source, postgres_db)
    returned = copy_database(postgres_db, back)
    assert there.ok and returned.ok
    counted = {t.table: t.source_rows for t in there.tables}
    assert counted["mem_items"] == 2 and counted["mem_vectors"] == 2 and counted["mem_outbox"] == 1
    assert "mem_index_state" not in counted  # derived: the destination's index starts afresh
    for url in (postgres_db, back):
        with SharedMemory.open(url, fact_matcher=None) as mem:  # back.db: an embedded Chroma
            # Keyword evidence (SQLite's FTS5 rebuilt, PostgreSQL's token arrays) and the
            # stored vectors give the same answers and scores; nothing is embedded again.
            assert _store_reads(mem) == expected
            if mem.db.dialect == "sqlite":
                assert mem.store.verify_index().ok  # Chroma filled from the copied vectors
            mem.store.put(("acme", "u1"), "n4", {"text": "order INV-9 shipped", "n": 7})
            found = mem.store.search(("acme",), filter={"n": {"$gt": 5}})
            assert sorted(r.key for r in found) == ["n2", "n4"]


def test_the_cli_prints_the_verification_and_never_the_password(
    tmp_path: Path, postgres_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "source.db"
    with _open(source) as mem:
        mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
    # The session server trusts local logins, so any password is accepted and must not show.
    secret = postgres_db.replace("postgresql://postgres@", "postgresql://postgres:s3cr3t@", 1)
    assert "s3cr3t" in secret
    assert main(["copy", str(source), secret]) == 0
    out = capsys.readouterr()
    assert "s3cr3t" not in out.out + out.err and "postgres:***@" in out.out
    for cell in ("part", "table", "rows", "hash", "ok", "fact_history", "change_cursors"):
        assert cell in out.out
    assert main(["copy", str(source), secret, "--json"]) == 1  # now it holds data
    out = capsys.readouterr()
    assert "s3cr3t" not in out.out + out.err and "already holds data" in out.err
    assert main(["copy", secret, str(tmp_path / "back.db"), "--json"]) == 0
    out = capsys.readouterr()
    assert "s3cr3t" not in out.out + out.err and '"ok": true' in out.out


def test_a_table_differing_after_the_copy_is_reported(tmp_path: Path) -> None:
    """The verification reads the destination again: a change there shows as a mismatch."""
    source, dest = tmp_path / "a.db", tmp_path / "b.db"
    with _open(source) as mem:
        mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
    log = next(p for p in part_specs() if p.part == "changes")

    def tamper(db: Any) -> None:
        with db.write() as conn:
            conn.execute("UPDATE changes SET author = 'someone else'")

    tampering = PartCopy(
        "changes",
        log.tables,
        log.sqlite_migrations,
        log.pg_migrations,
        log.runs_on_postgres,
        rebuild=tamper,
    )
    with open_database(source, read_only=True) as src, open_database(dest) as dst:
        report = copy_between(src, dst, [tampering])
    assert not report.ok
    assert [t.table for t in report.tables if not t.ok] == ["changes"]


def test_a_bad_copy_spec_is_refused() -> None:
    with pytest.raises(InvalidConfigError, match="bad copy spec"):
        CopyTable("t", (("a", "float"),), key=("a",))  # type: ignore[arg-type]
    with pytest.raises(InvalidConfigError, match="bad copy spec"):
        CopyTable("t", (("a", "text"),), key=("b",))


# Tables a copy rebuilds or leaves to the destination rather than copying (see the parts'
# COPY_TABLES): FTS5's table and its shadow tables, and the Chroma index's applied position.
DERIVED = {"mem_fts", "mem_index_state"}


def test_every_table_of_every_part_is_copied_or_declared_derived() -> None:
    """A part's new table is not silently left behind by `sharedmem copy`."""
    from test_layers import _owned_tables

    owned = {t for tables in _owned_tables().values() for t in tables}
    copied = {t.name for part in part_specs() for t in part.tables}
    shadow = {t for t in owned if t.startswith("mem_fts_")}
    assert owned - copied - DERIVED - shadow == set()
    assert copied - owned <= {"changes", "change_cursors", "change_horizon"}  # the core's log


def test_every_postgresql_table_is_copied_or_declared_derived(postgres_db: str) -> None:
    import psycopg

    with SharedMemory.open(postgres_db, index=None) as mem:  # every part that runs there
        for part in ("checkpointer", "store", "facts", "access", "tool_cache", "changes"):
            getattr(mem, part).setup()
    with psycopg.connect(postgres_db) as conn:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
    copied = {t.name for part in part_specs() for t in part.tables}
    # mem_seq: the store's change counter, restored as such (`CopyTable.pg_counter`).
    assert tables - copied - DERIVED == {"mem_seq", "langgraph_sharedmem_migrations"}
