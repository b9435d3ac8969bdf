"""The checkpointer on PostgreSQL: what differs from SQLite, and several writer processes.

The backend-neutral saver tests (tests/test_graphs.py, test_saver_errors.py, ...) and the
conformance suite already run on both backends through the ``saver``/``saver_conn`` fixtures.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
import pytest
from langgraph.checkpoint.base import empty_checkpoint

from langgraph_sharedmem import (
    DatabaseBusyError,
    DatabaseFileError,
    InvalidConfigError,
    SharedMemorySaver,
)
from langgraph_sharedmem.checkpoint import _schema_pg
from tests._graphs import build_chat_graph, human
from tests._pg_workers import put_chains, rewrite_or_read_one_thread
from tests._servers import end_other_sessions
from tests._spawn import run_together, wait_until


def test_several_processes_writing_the_same_threads_lose_nothing(postgres_db: str) -> None:
    workers, steps, threads = 4, 12, ["a", "b", "c"]
    outcomes = run_together(put_chains, [(postgres_db, w, steps, threads) for w in range(workers)])
    assert outcomes == ["ok"] * workers
    with SharedMemorySaver(postgres_db) as saver:
        for thread in threads:
            tuples = list(saver.list({"configurable": {"thread_id": thread}}))
            assert len(tuples) == workers * steps
            for t in tuples:
                w, i = t.metadata["worker"], t.metadata["step"]  # type: ignore[typeddict-item]
                assert t.checkpoint["channel_values"]["messages"] == [
                    f"w{w}-{j}" for j in range(i + 1)
                ]
                assert [(c, v) for _, c, v in t.pending_writes or []] == [
                    ("messages", f"pending-{w}-{i}")
                ]
    with psycopg.connect(postgres_db) as conn:
        recorded = conn.execute(
            "SELECT count(*) FROM langgraph_sharedmem_migrations "
            "WHERE migration_set = 'langgraph_sharedmem.checkpoint'"
        ).fetchone()
    assert recorded == (len(_schema_pg.MIGRATIONS.steps),)  # each step applied once


async def test_async_methods_on_postgres(postgres_db: str) -> None:
    async with SharedMemorySaver.from_conn_string(postgres_db) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "async"}}
        await graph.ainvoke({"messages": [human(0)]}, config)  # type: ignore[arg-type]
        await graph.ainvoke({"messages": [human(1)]}, config)  # type: ignore[arg-type]
        state = await graph.aget_state(config)  # type: ignore[arg-type]
        assert len(state.values["messages"]) == 8
        assert len([s async for s in graph.aget_state_history(config)]) > 2  # type: ignore[arg-type]


def test_values_postgres_cannot_hold_are_refused_clearly(postgres_db: str) -> None:
    with SharedMemorySaver(postgres_db) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        with pytest.raises(InvalidConfigError, match="NUL"):
            graph.invoke({"messages": [human(0)]}, {"configurable": {"thread_id": "a\x00b"}})
        with pytest.raises(InvalidConfigError, match="PostgreSQL cannot store"):
            graph.invoke(
                {"messages": [human(0)]},
                # SQLite keeps a lone surrogate (test_saver_errors.py); jsonb cannot.
                {"configurable": {"thread_id": "t"}, "metadata": {"note": "\ud800"}},
            )


def test_a_database_of_langgraphs_postgres_saver_is_refused(postgres_db: str) -> None:
    from langgraph.checkpoint.postgres import PostgresSaver

    with PostgresSaver.from_conn_string(postgres_db) as theirs:
        theirs.setup()
    with pytest.raises(DatabaseFileError, match=r"tables \['checkpoints'\]"):
        SharedMemorySaver(postgres_db)


def test_an_unreachable_server_names_the_url_without_password() -> None:
    with pytest.raises(DatabaseFileError, match="cannot connect to PostgreSQL") as caught:
        SharedMemorySaver.from_conn_string(
            "postgresql://agent:hunter2@127.0.0.1:1/memory", busy_timeout=1
        )
    assert "hunter2" not in str(caught.value) and "agent:***@127.0.0.1:1" in str(caught.value)


def test_shared_memory_on_postgres_gives_a_checkpointer(postgres_db: str) -> None:
    from langgraph_sharedmem import SharedMemory

    with SharedMemory.open(postgres_db, pool_size=2) as mem:
        graph = build_chat_graph().compile(checkpointer=mem.checkpointer)
        config = {"configurable": {"thread_id": "mem"}}
        graph.invoke({"messages": [human(0)]}, config)  # type: ignore[arg-type]
        assert len(graph.get_state(config).values["messages"]) == 4  # type: ignore[arg-type]
        assert "postgresql://postgres@127.0.0.1" in repr(mem)


@pytest.mark.parametrize(
    "use",
    [
        ("mem.store", lambda mem: mem.store),
        ("mem.registry", lambda mem: mem.register_agent("a")),
        ("mem.conversation", lambda mem: mem.conversation.messages("r1")),
        ("mem.agent", lambda mem: (mem.register_agent("a"), mem.agent("a"))),
        ("mem.as_of", lambda mem: mem.as_of(0).facts("app")),
        ("mem.fork_run_memory", lambda mem: mem.fork_run_memory("r1", "r2", as_of=0)),
    ],
    ids=lambda u: u[0],
)
def test_every_feature_runs_on_postgres(postgres_db: str, use: Any) -> None:
    from langgraph_sharedmem import SharedMemory

    _, call = use
    with SharedMemory.open(postgres_db, pool_size=2, index=None) as mem:
        call(mem)


def test_parts_opened_directly_on_postgres(postgres_db: str) -> None:
    from langgraph_sharedmem import (
        AccessControl,
        ChangeFeed,
        ConversationLog,
        FactLedger,
        Registry,
        SharedMemoryStore,
        ToolCache,
        UnsupportedBackendError,
    )
    from langgraph_sharedmem.core.part import DatabasePart
    from langgraph_sharedmem.core.postgres import PostgresDatabase

    class Unported(DatabasePart):  # a part with no PostgreSQL schema
        def __init__(self, conn: Any) -> None:
            self._open_database(conn)

    with pytest.raises(UnsupportedBackendError, match="Unported does not run on PostgreSQL"):
        Unported(postgres_db)
    with PostgresDatabase(postgres_db, pool_size=1) as db:
        ported = (SharedMemorySaver, SharedMemoryStore, FactLedger, ToolCache, AccessControl)
        for part in (*ported, ChangeFeed, Registry, ConversationLog):
            part(db).setup()  # type: ignore[arg-type]


def _write_in_child(saver: SharedMemorySaver, results: Any) -> None:
    try:
        graph = build_chat_graph().compile(checkpointer=saver)
        graph.invoke({"messages": [human(0)]}, {"configurable": {"thread_id": "child"}})
        results.put("ok")
    except BaseException as exc:
        results.put(repr(exc))


def test_a_forked_child_uses_its_own_connections(postgres_db: str) -> None:
    """A child forked with an open saver gets a pool of its own; the parent's sessions,
    whose sockets it inherited, keep working."""
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    with SharedMemorySaver(postgres_db) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        parent = {"configurable": {"thread_id": "parent"}}
        graph.invoke({"messages": [human(0)]}, parent)  # type: ignore[arg-type]
        results = ctx.Queue()
        child = ctx.Process(target=_write_in_child, args=(saver, results))
        child.start()
        assert results.get(timeout=60) == "ok"
        child.join(timeout=60)
        graph.invoke({"messages": [human(1)]}, parent)  # type: ignore[arg-type]
        assert len(graph.get_state(parent).values["messages"]) == 8  # type: ignore[arg-type]
        in_child = graph.get_state({"configurable": {"thread_id": "child"}})  # type: ignore[arg-type]
        assert len(in_child.values["messages"]) == 4


def _put(saver: SharedMemorySaver, n: int, parent: str | None) -> str:
    """Checkpoint ``n`` of thread "t": a list channel of n elements, new at this version."""
    from langgraph.checkpoint.base import empty_checkpoint

    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = {"items": [f"item-{i}" for i in range(n)]}
    checkpoint["channel_versions"] = {"items": n}
    configurable = {"thread_id": "t", "checkpoint_ns": ""}
    if parent:
        configurable["checkpoint_id"] = parent
    saver.put(
        {"configurable": configurable},
        checkpoint,
        {"step": n},
        {"items": n},  # type: ignore[typeddict-unknown-key]
    )
    return checkpoint["id"]


def test_a_list_whose_base_another_process_deleted_is_stored_whole(postgres_db: str) -> None:
    """The one-statement put checks each list segment's base first: when another saver has
    deleted it meanwhile, nothing of that put is written, and it is stored again whole."""
    with SharedMemorySaver(postgres_db) as a, SharedMemorySaver(postgres_db) as b:
        first = _put(a, 1, None)
        second = _put(a, 2, first)  # a segment on top of version 1
        b.delete_thread("t")  # a still remembers version 2 as the base of the next list
        third = _put(a, 3, second)
        got = b.get_tuple({"configurable": {"thread_id": "t", "checkpoint_id": third}})
        assert got is not None
        assert got.checkpoint["channel_values"]["items"] == ["item-0", "item-1", "item-2"]
        assert [t.checkpoint["id"] for t in b.list({"configurable": {"thread_id": "t"}})] == [third]
        fourth = _put(a, 4, third)  # and the next one extends the whole copy again
        got = b.get_tuple({"configurable": {"thread_id": "t", "checkpoint_id": fourth}})
        assert got is not None and len(got.checkpoint["channel_values"]["items"]) == 4


def test_a_copy_waits_for_a_put_of_its_source_in_progress(postgres_db: str) -> None:
    """copy_thread reads the source in several statements: a put of the source committing
    between them left the target the values of a checkpoint it did not copy. The copy holds
    the source's writer lock, as a put does, so it copies the source before or after a put."""
    with SharedMemorySaver(postgres_db) as saver:
        first = _put(saver, 1, None)
        with psycopg.connect(postgres_db) as put_in_progress:  # one transaction, to the end
            put_in_progress.execute(
                "SELECT pg_advisory_xact_lock_shared(%s)", (_schema_pg.thread_lock_key("t"),)
            )
            copier = threading.Thread(target=saver.copy_thread, args=("t", "copy"))
            copier.start()
            copier.join(1.0)
            assert copier.is_alive(), "the copy did not wait for the source's writer"
        copier.join(30)
        assert not copier.is_alive()
        got = saver.get_tuple({"configurable": {"thread_id": "copy"}})
        assert got is not None and got.checkpoint["id"] == first
        assert got.checkpoint["channel_values"]["items"] == ["item-0"]


def _waiting_for_advisory_locks(url: str) -> int:
    with psycopg.connect(url) as conn:
        (n,) = conn.execute(  # type: ignore[misc]
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ).fetchone()  # this test's database: other tests' (LangGraph's suites) run beside it
    return int(n)


class _Call(threading.Thread):
    """A call on a thread of its own, which keeps what the call raised."""

    def __init__(self, call: Any, *args: Any) -> None:
        super().__init__()
        self.call, self.args_ = call, args
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.call(*self.args_)
        except BaseException as exc:  # kept for the test to assert there was none
            self.error = exc


def test_a_tasks_writes_wait_for_a_copy_into_their_thread(postgres_db: str) -> None:
    """A copy replaces the target's writes of every task the source has. A task's writes
    stored into the target while the copy ran were kept beside the copied ones: twice. Now
    they wait for the copy, and then find the task's writes stored."""
    with SharedMemorySaver(postgres_db) as saver:
        source, target = "b-source", "a-target"  # the copy locks the target first
        checkpoint = empty_checkpoint()
        saver.put({"configurable": {"thread_id": source, "checkpoint_ns": ""}}, checkpoint, {}, {})
        at = {"thread_id": source, "checkpoint_ns": "", "checkpoint_id": checkpoint["id"]}
        saver.put_writes({"configurable": at}, [("a", "copied"), ("b", "copied")], "task")
        with psycopg.connect(postgres_db) as put_in_progress:  # holds the copy at the source
            put_in_progress.execute(
                "SELECT pg_advisory_xact_lock_shared(%s)", (_schema_pg.thread_lock_key(source),)
            )
            copier = _Call(saver.copy_thread, source, target)
            copier.start()
            assert wait_until(lambda: _waiting_for_advisory_locks(postgres_db) == 1, 10)
            into_target = {"configurable": {**at, "thread_id": target}}
            retried = [("a", "retried"), ("b", "retried")]
            writer = _Call(saver.put_writes, into_target, retried, "task")
            writer.start()
            assert wait_until(
                lambda: not writer.is_alive() or _waiting_for_advisory_locks(postgres_db) == 2, 10
            )
            assert writer.is_alive(), "the task's writes were stored while the copy ran"
        copier.join(30)
        writer.join(30)
        assert not copier.is_alive() and not writer.is_alive()
        assert copier.error is None and writer.error is None, (copier.error, writer.error)
        got = saver.get_tuple(into_target)  # type: ignore[arg-type]
        assert got is not None
        assert got.pending_writes == [("task", "a", "copied"), ("task", "b", "copied")]


@pytest.mark.parametrize("call", ["put", "put_writes"])
def test_a_put_and_its_tasks_writes_never_wait_for_each_other(postgres_db: str, call: str) -> None:
    """LangGraph stores a step's checkpoint and its tasks' writes at once: each holds the
    thread's lock shared while it writes, so neither waits for the other (only a rewrite of
    the thread, which takes it exclusive, makes them wait)."""
    with SharedMemorySaver(postgres_db) as saver:
        checkpoint = empty_checkpoint()
        first = saver.put(
            {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, checkpoint, {}, {}
        )
        with psycopg.connect(postgres_db) as other_writer_in_progress:
            other_writer_in_progress.execute(
                "SELECT pg_advisory_xact_lock_shared(%s)", (_schema_pg.thread_lock_key("t"),)
            )
            if call == "put":
                args: tuple[Any, ...] = (first, empty_checkpoint(), {}, {})
            else:
                args = (first, [("a", 1)], "task")
            worker = _Call(getattr(saver, call), *args)
            worker.start()
            worker.join(10)
            assert not worker.is_alive(), f"{call} waited for a writer holding the lock shared"
            assert worker.error is None, worker.error


def test_a_warm_read_in_one_statement_equals_a_cold_read(postgres_db: str) -> None:
    """The saver that wrote a thread reads a checkpoint in one statement (its cache holds the
    lists); a newly opened saver reads the lists' segments in a transaction. Both give the
    same tuples, pending writes (regular and special) included."""
    from langgraph.checkpoint.base import ERROR

    with SharedMemorySaver(postgres_db) as warm, SharedMemorySaver(postgres_db) as cold:
        ids = [_put(warm, 1, None)]
        for n in range(2, 6):
            ids.append(_put(warm, n, ids[-1]))
        config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": ids[2]}}
        warm.put_writes(config, [("items", ["w"]), ("other", None)], "task-b", "~b")
        warm.put_writes(config, [(ERROR, ValueError("boom"))], "task-a", "~a")
        for checkpoint_id in [None, *ids]:
            configurable = {"thread_id": "t", "checkpoint_ns": ""}
            if checkpoint_id:
                configurable["checkpoint_id"] = checkpoint_id
            a = warm.get_tuple({"configurable": configurable})
            b = cold.get_tuple({"configurable": configurable})
            assert a is not None and b is not None
            assert (a.config, a.checkpoint, a.metadata, a.parent_config) == (
                b.config,
                b.checkpoint,
                b.metadata,
                b.parent_config,
            )
            assert [(t, c, repr(v)) for t, c, v in a.pending_writes or []] == [
                (t, c, repr(v)) for t, c, v in b.pending_writes or []
            ]
        got = warm.get_tuple(config)
        assert got is not None
        assert [(t, c) for t, c, _ in got.pending_writes or []] == [
            ("task-a", ERROR),
            ("task-b", "items"),
            ("task-b", "other"),
        ]
        assert warm.get_tuple({"configurable": {"thread_id": "nobody"}}) is None


def test_reads_racing_a_writer_that_prunes_and_rewrites_never_see_a_torn_checkpoint(
    postgres_db: str,
) -> None:
    """Attacker: another process grows a thread, prunes it and deletes it to write the same
    list versions again with other rows, while this reader's cache still holds the old
    ones. Every checkpoint read (in one statement from the cache, or through the chain)
    holds exactly the list its step says; the one-statement path is taken."""
    outcomes = run_together(
        rewrite_or_read_one_thread,
        [(postgres_db, "writer", 2.0), (postgres_db, "reader", 2.0)],
    )
    by_role = {o[0]: o for o in outcomes}
    assert all(len(o) == 5 for o in outcomes), outcomes  # no worker raised
    _, reads, one_statement, examples, wrong = by_role["reader"]
    assert wrong == 0, examples
    assert reads > 50 and one_statement > 0, (reads, one_statement)


def test_reading_a_checkpoint_probes_its_values_by_key(postgres_db: str) -> None:
    """A checkpoint's values are found by one index probe each, not by reading every value
    row of the thread: a read stays as fast at step 800 as at step 8. (Sequential scans are
    switched off so the plan does not depend on how small this test's table is.)"""
    with SharedMemorySaver(postgres_db) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        for i in range(3):
            graph.invoke({"messages": [human(i)]}, {"configurable": {"thread_id": "t"}})
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        conn.execute("ANALYZE")
        conn.execute("SET enable_seqscan = off")
        (wanted,) = conn.execute(  # type: ignore[misc]
            "SELECT channel_versions::text FROM checkpoints ORDER BY checkpoint_id DESC LIMIT 1"
        ).fetchone()
        plans = {
            "SELECT_LATEST_TUPLE": conn.execute(
                "EXPLAIN " + _schema_pg.SELECT_LATEST_TUPLE, ("t", "")
            ).fetchall(),
            "SELECT_VALUES": conn.execute(
                "EXPLAIN " + _schema_pg.SELECT_VALUES,
                {"wanted": wanted, "thread_id": "t", "checkpoint_ns": ""},
            ).fetchall(),
        }
    for name, rows in plans.items():
        plan = "\n".join(r[0] for r in rows)
        on_values = [line for line in plan.splitlines() if "on channel_values" in line]
        assert on_values, (name, plan)
        assert "Hash Join" not in plan, (name, plan)
        conditions = [line for line in plan.splitlines() if "(version = " in line]
        assert conditions and all("(channel = " in line for line in conditions), (name, plan)


def test_a_database_of_the_first_schema_is_upgraded_in_place(postgres_db: str) -> None:
    """A database created before the one-statement put still opens, and gets it."""
    from langgraph_sharedmem.core.postgres import PostgresDatabase, PostgresMigrations

    first = _schema_pg.MIGRATIONS
    with PostgresDatabase(postgres_db, pool_size=1) as db:
        db.migrate(PostgresMigrations(first.name, first.steps[:1], first.tables))
        with db.write() as conn:  # a row as that version wrote it
            conn.execute(
                _schema_pg.INSERT_VALUE,
                ("old", "", "items", '"1"', "value", "null", b"") + (None, None, 0, None),
            )
    with SharedMemorySaver(postgres_db) as saver:
        second = _put(saver, 2, _put(saver, 1, None))
        got = saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_id": second}})
        assert got is not None and got.checkpoint["channel_values"]["items"] == [
            "item-0",
            "item-1",
        ]
    with psycopg.connect(postgres_db) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM langgraph_sharedmem_migrations")]
        (old_rows,) = conn.execute(  # type: ignore[misc]
            "SELECT count(*) FROM channel_values WHERE thread_id = 'old'"
        ).fetchone()
    assert {
        "0001_checkpoint_tables",
        "0002_one_statement_put",
        "0003_null_channels_packed_writes",
    } <= set(names)
    assert old_rows == 1


def test_puts_after_the_server_ended_every_session_work_and_lose_nothing(
    postgres_db: str,
) -> None:
    """The lean path of put, put_writes and the one-statement read
    (`PostgresDatabase.run_prepared`) runs them again on a fresh connection when the server
    ended the pooled one's session (an administrator, a failover): the graph goes on and its
    history is whole."""
    with SharedMemorySaver(postgres_db) as saver:
        first = _put(saver, 1, None)
        assert end_other_sessions(postgres_db) >= 1
        second = _put(saver, 2, first)  # on a dead connection first, then on a new one
        assert end_other_sessions(postgres_db) >= 1
        saver.put_writes(
            {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": second}},
            [("items", "pending"), ("__error__", "boom")],
            "task-1",
        )
        assert end_other_sessions(postgres_db) >= 1
        got = saver.get_tuple({"configurable": {"thread_id": "t"}})  # the lean read, too
        assert got is not None and got.checkpoint["id"] == second
        assert got.checkpoint["channel_values"]["items"] == ["item-0", "item-1"]
        assert [(c, v) for _, c, v in got.pending_writes or []] == [
            ("__error__", "boom"),
            ("items", "pending"),
        ]
        # The same writes again (a retry whose first try did commit) change nothing.
        saver.put_writes(
            {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": second}},
            [("items", "pending"), ("__error__", "boom")],
            "task-1",
        )
    with SharedMemorySaver(postgres_db) as cold:  # nothing cached: what the rows hold
        again = cold.get_tuple({"configurable": {"thread_id": "t"}})
        assert again is not None
        assert again.checkpoint["channel_values"]["items"] == ["item-0", "item-1"]
        assert len(again.pending_writes or []) == 2
        assert [t.checkpoint["id"] for t in cold.list(None)] == [second, first]


def test_the_lean_path_gets_a_live_connection_when_every_pooled_one_is_dead(
    postgres_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server ended every pooled session and no goodbye has reached a socket yet (a
    failover; modelled by taking every idle connection for alive): put and get_tuple try
    the dead connections, each discarded in turn, until a new one works. With one retry
    the third connection's failure reached the caller."""
    from langgraph_sharedmem.core import postgres as core

    with SharedMemorySaver(postgres_db, pool_size=4) as saver:
        first = _put(saver, 1, None)
        held = [saver.db.pool.getconn() for _ in range(4)]  # the pool grows to 4
        for conn in held:
            saver.db.pool.putconn(conn)
        assert end_other_sessions(postgres_db) >= 4
        monkeypatch.setattr(core, "_alive", lambda conn: True)
        second = _put(saver, 2, first)
        assert end_other_sessions(postgres_db) >= 1
        got = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert got is not None and got.checkpoint["id"] == second


def test_errors_of_the_lean_path_are_the_projects(postgres_db: str) -> None:
    """put and put_writes raise what every other statement raises: a lock held too long is
    `DatabaseBusyError`, a value PostgreSQL cannot hold `InvalidConfigError`; the connection
    stays usable, and a statement deallocated behind the saver's back is prepared again."""
    with SharedMemorySaver(postgres_db, busy_timeout=0.2) as saver:
        first = _put(saver, 1, None)
        with psycopg.connect(postgres_db, autocommit=True) as other:
            other.execute("SELECT pg_advisory_lock(%s)", (_schema_pg.thread_lock_key("t"),))
            with pytest.raises(DatabaseBusyError, match="busy_timeout"):
                _put(saver, 2, first)
            other.execute("SELECT pg_advisory_unlock_all()")
        second = _put(saver, 2, first)
        with pytest.raises(InvalidConfigError, match="NUL"):
            saver.put(
                {"configurable": {"thread_id": "a\x00b"}},
                empty_checkpoint(),
                {},
                {},
            )
        with pytest.raises(InvalidConfigError, match="NUL"):
            saver.put_writes(
                {"configurable": {"thread_id": "t", "checkpoint_id": second}},
                [("items", 1)],
                "task\x00",
            )
        with saver.db.pool.connection() as conn:  # as a pooler resetting sessions would
            conn.execute("DEALLOCATE ALL")
        third = _put(saver, 3, second)
        got = saver.get_tuple({"configurable": {"thread_id": "t"}})
        assert got is not None and got.checkpoint["id"] == third


def test_a_session_not_in_utf8_gets_the_same_results(postgres_db: str) -> None:
    """The lean path sends text as UTF-8 bytes; a session in another client encoding runs
    the same statements through psycopg instead, with the same outcome."""
    latin1 = postgres_db + "?options=-c%20client_encoding%3DLATIN1"
    with SharedMemorySaver(latin1) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        config: Any = {"configurable": {"thread_id": "café"}}
        graph.invoke({"messages": [human(0)]}, config)
        graph.invoke({"messages": [human(1)]}, config)
        in_latin1 = graph.get_state(config).values["messages"]
        with saver.db.pool.connection() as conn:
            assert conn.execute("SHOW client_encoding").fetchone() == ("LATIN1",)
    with SharedMemorySaver(postgres_db) as saver:
        graph = build_chat_graph().compile(checkpointer=saver)
        assert graph.get_state(config).values["messages"] == in_latin1
        assert len(in_latin1) == 8


def test_a_list_segment_missing_under_its_child_is_named(postgres_db: str) -> None:
    """A list whose base segment row is gone (a damaged or hand-edited database) fails
    naming the segment, as on SQLite, instead of returning a shorter list."""
    with SharedMemorySaver(postgres_db) as saver:
        first = _put(saver, 1, None)
        _put(saver, 2, first)  # a segment on top of version 1
    with psycopg.connect(postgres_db, autocommit=True) as conn:
        gone = conn.execute(
            "DELETE FROM channel_values WHERE thread_id = 't' AND version = '1'::jsonb"
        ).rowcount
        assert gone == 1
    missing = r"list segment items@1 of thread 't' is missing"
    with SharedMemorySaver(postgres_db) as cold, pytest.raises(DatabaseFileError, match=missing):
        cold.get_tuple({"configurable": {"thread_id": "t"}})  # nothing cached: read from rows
