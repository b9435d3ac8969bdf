"""The change feed in one process: order, access filtering, cursors, retention, waiting,
callbacks, async, and the per-step helper in a real graph."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypedDict

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from langgraph_sharedmem import (
    Change,
    CursorExpiredError,
    InvalidConfigError,
    Scope,
    SharedMemory,
)


def _opened(conn: str | Path) -> Iterator[SharedMemory]:
    with SharedMemory.open(conn, index=None) as m:
        m.register_agent("billing")
        m.register_agent("support")
        m.register_user("u1")
        m.register_user("u2")
        yield m


@pytest.fixture
def mem(tmp_path: Path) -> Iterator[SharedMemory]:
    yield from _opened(tmp_path / "m.db")


@pytest.fixture
def both_mem(backend_url: str) -> Iterator[SharedMemory]:
    """On both backends: retention and cursor removal had never run on PostgreSQL."""
    yield from _opened(backend_url)


def facts_seen(changes: list[Change]) -> list[tuple[str, str, Any]]:
    return [(str(c.scope), c.key, c.data["version"]) for c in changes if c.kind == "fact"]


def test_changes_arrive_in_commit_order_with_their_details(mem: SharedMemory) -> None:
    sub = mem.changes.subscribe()
    mem.facts.assert_fact("app", "acme", "plan", "free", author="billing")
    mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
    mem.store.put(("sharedmem", "run", "r1"), "note", {"text": "hi"})
    mem.store.delete(("sharedmem", "run", "r1"), "note")
    got = sub.poll(timeout=2)
    sub.close()
    assert [c.seq for c in got] == sorted(c.seq for c in got)
    assert [(c.kind, c.op, str(c.scope), c.key) for c in got] == [
        ("fact", "asserted", "app", "acme/plan"),
        ("fact", "updated", "app", "acme/plan"),  # same author, new value
        ("item", "put", "run:r1", "sharedmem.run.r1/note"),
        ("item", "delete", "run:r1", "sharedmem.run.r1/note"),
    ]
    assert got[1].author == "billing" and got[1].data["version"] == 2
    assert got[2].data["value"] == {"text": "hi"}


def test_agent_subscriber_sees_only_what_it_may_read_even_after_a_revoke(
    mem: SharedMemory,
) -> None:
    sub = mem.changes.subscribe("support-w", agent="support", user_id="u1", run_id="r1")
    f = mem.facts
    f.assert_fact("user:u1", "acct", "plan", "pro", author="billing")  # no grant yet: hidden
    f.assert_fact("agent:billing", "notes", "x", 1, author="billing")  # private: hidden
    f.assert_fact("run:r1", "task", "step", 1, author="billing")  # its run: visible
    f.assert_fact("run:r2", "task", "step", 1, author="billing")  # another run: hidden
    f.assert_fact("app", "acme", "tier", "gold", author="billing")  # app: visible
    assert facts_seen(sub.poll(timeout=1)) == [("run:r1", "task/step", 1), ("app", "acme/tier", 1)]

    mem.access.grant_user("u1", "support", read=True)
    f.assert_fact("user:u1", "acct", "plan", "max", author="billing")
    f.assert_fact("user:u2", "acct", "plan", "max", author="billing")  # another user
    got = sub.poll(timeout=1)
    assert facts_seen(got) == [("user:u1", "acct/plan", 2)]
    assert any(c.kind == "access" and c.op == "grant_user" for c in got)  # its own grant

    f.assert_fact("user:u1", "acct", "plan", "ent", author="billing")  # logged before...
    mem.access.revoke_user("u1", "support")  # ...the revoke, delivered after it: hidden
    f.assert_fact("user:u1", "acct", "plan", "free", author="billing")
    got = sub.poll(timeout=1)
    assert facts_seen(got) == []
    assert [c.op for c in got if c.kind == "access"] == ["revoke_user"]
    sub.close()
    # the unfiltered reader saw all of it
    assert len([c for c in mem.changes.read(0) if c.kind == "fact"]) == 9


def test_named_cursor_resumes_after_the_last_acknowledged_change(mem: SharedMemory) -> None:
    for i in range(5):
        mem.facts.assert_fact("app", "s", f"a{i}", i, author="billing")
    first = mem.changes.subscribe("w", start="earliest", kinds="fact")
    taken = [next(first), next(first), next(first)]  # the third is not acknowledged yet
    first.close()
    assert mem.changes.cursor("w") == taken[1].seq
    mem.facts.assert_fact("app", "s", "a5", 5, author="billing")
    again = mem.changes.subscribe("w", kinds="fact")
    rest = again.poll(timeout=1)
    again.close()
    # at-least-once: the unacknowledged third comes again, then the rest, nothing lost
    assert [c.key for c in rest] == ["s/a2", "s/a3", "s/a4", "s/a5"]
    assert rest[0].seq == taken[2].seq


def test_manual_ack_redelivers_what_was_not_acknowledged(mem: SharedMemory) -> None:
    sub = mem.changes.subscribe("m", auto_ack=False, kinds="fact")
    for i in range(3):
        mem.facts.assert_fact("app", "s", f"a{i}", i, author="billing")
    got = sub.poll(timeout=1)
    sub.ack(got[0])
    sub.close()
    again = mem.changes.subscribe("m", auto_ack=False, kinds="fact")
    assert [c.seq for c in again.poll(timeout=1)] == [c.seq for c in got[1:]]
    again.close()


def test_cursor_skips_past_changes_the_reader_may_not_see(mem: SharedMemory) -> None:
    sub = mem.changes.subscribe("s", agent="support", user_id="u1")
    for i in range(20):
        mem.facts.assert_fact("agent:billing", "n", f"a{i}", i, author="billing")
    assert sub.poll(timeout=0.3) == []
    sub.close()
    assert mem.changes.cursor("s") == mem.changes.head()


def test_a_cursor_older_than_the_retention_horizon_is_an_error_not_a_gap(
    both_mem: SharedMemory,
) -> None:
    mem = both_mem
    sub = mem.changes.subscribe("slow", kinds="fact")
    sub.close()
    mem.store.put(("sharedmem", "run", "r1"), "k", {"v": 1})
    for i in range(6):
        mem.facts.assert_fact("app", "s", f"a{i}", i, author="billing")
    cut = mem.changes.head() - 2
    removed = mem.changes.prune(before_seq=cut)
    assert removed > 0 and mem.changes.horizon() == cut - 1
    with pytest.raises(CursorExpiredError) as info:
        mem.changes.subscribe("slow")
    assert info.value.name == "slow" and info.value.horizon == cut - 1
    with pytest.raises(CursorExpiredError):
        mem.changes.read(0)
    # from what is retained: only the changes after the horizon
    fresh = mem.changes.subscribe("fresh", start="earliest")
    assert all(c.seq >= cut for c in fresh.poll(timeout=1))
    fresh.close()
    mem.changes.set_cursor("slow", mem.changes.head())  # the documented way back
    mem.changes.subscribe("slow").close()
    mem.changes.delete_cursor("slow")  # or forget the name: it starts afresh
    assert mem.changes.cursor("slow") is None
    # The run's item row below the horizon was kept, so its memory is still reconstructable.
    assert [i.value for i in mem.as_of(time.time()).items("r1")] == [{"v": 1}]


def test_prune_by_age_keeps_recent_changes(both_mem: SharedMemory) -> None:
    mem = both_mem
    mem.facts.assert_fact("app", "s", "old", 1, author="billing")
    time.sleep(0.05)
    mark = mem.changes.head()
    mem.facts.assert_fact("app", "s", "new", 1, author="billing")
    mem.changes.prune(older_than=0.03)
    assert mem.changes.horizon() == mark
    assert [c.key for c in mem.changes.read(mark, kinds="fact")] == ["s/new"]


def test_wait_for_wakes_when_a_watched_fact_changes(mem: SharedMemory) -> None:
    def later() -> None:
        time.sleep(0.2)
        mem.facts.assert_fact("app", "other", "x", 1, author="billing")
        mem.facts.assert_fact("user:u1", "acct", "plan", "pro", author="billing")

    t = threading.Thread(target=later)
    t.start()
    started = time.monotonic()
    got = mem.changes.wait_for(kinds="fact", scopes=("user", "u1"), keys="acct/plan", timeout=5)
    t.join()
    assert got is not None and got.key == "acct/plan" and str(got.scope) == "user:u1"
    assert time.monotonic() - started < 2
    assert mem.changes.wait_for(kinds="fact", keys="acct/plan", timeout=0.1) is None


def test_async_iterator_and_await_for(mem: SharedMemory) -> None:
    async def main() -> tuple[list[int], Change | None]:
        sub = mem.changes.subscribe(kinds="fact")
        waiter = asyncio.ensure_future(mem.changes.await_for(kinds="fact", keys="s/a2", timeout=5))
        await asyncio.sleep(0.05)
        for i in range(3):
            await mem.facts.aassert_fact("app", "s", f"a{i}", i, author="billing")
        seen = []
        async for change in sub:
            seen.append(change.data["version"])
            if len(seen) == 3:
                break
        await sub.aclose()
        return seen, await waiter

    seen, waited = asyncio.run(main())
    assert seen == [1, 1, 1]
    assert waited is not None and waited.key == "s/a2"


def test_callback_listener_and_a_failing_callback_gets_the_change_again(
    mem: SharedMemory,
) -> None:
    got: list[str] = []
    listener = mem.changes.on_change(lambda c: got.append(c.key), name="cb", kinds="fact")
    mem.facts.assert_fact("app", "s", "a", 1, author="billing")
    mem.facts.assert_fact("app", "s", "b", 1, author="billing")
    deadline = time.monotonic() + 5
    while len(got) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    listener.stop()
    assert got == ["s/a", "s/b"]

    def boom(change: Change) -> None:
        raise RuntimeError(f"cannot handle {change.key}")

    mem.facts.assert_fact("app", "s", "c", 1, author="billing")
    failing = mem.changes.on_change(boom, name="cb", kinds="fact")
    deadline = time.monotonic() + 5
    while failing.running and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(RuntimeError, match="s/c"):
        failing.stop()
    retry = mem.changes.subscribe("cb", kinds="fact")
    assert [c.key for c in retry.poll(timeout=1)] == ["s/c"]
    retry.close()


class StepState(TypedDict):
    seen: list[str]


def test_step_helper_gives_an_agent_node_what_changed_since_its_last_step(
    mem: SharedMemory,
) -> None:
    feed = mem.changes

    def support(state: StepState, config: RunnableConfig) -> dict[str, Any]:
        with feed.step("support", config, user_id="u1", kinds="fact") as changed:
            return {"seen": state["seen"] + [c.key for c in changed]}

    builder = StateGraph(StepState)
    builder.add_node("support", support)
    builder.add_edge(START, "support")
    builder.add_edge("support", END)
    graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)
    config: RunnableConfig = {"configurable": {"thread_id": "t1"}}
    assert graph.invoke({"seen": []}, config)["seen"] == []  # first step: from now on
    mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
    mem.facts.assert_fact("agent:billing", "secret", "x", 1, author="billing")  # not its
    mem.facts.assert_fact("run:t1", "task", "state", "open", author="billing")
    mem.facts.assert_fact("app", "acme", "mine", 1, author="support")  # its own: left out
    assert graph.invoke({"seen": []}, config)["seen"] == ["acme/plan", "task/state"]
    assert graph.invoke({"seen": []}, config)["seen"] == []  # nothing new
    assert feed.cursor("step:support:t1") == feed.head()

    def failing(state: StepState, config: RunnableConfig) -> dict[str, Any]:
        with feed.step("support", config, kinds="fact"):
            raise RuntimeError("node failed")

    mem.facts.assert_fact("app", "acme", "plan", "max", author="billing")
    with pytest.raises(RuntimeError):
        failing({"seen": []}, config)
    assert feed.since_last_step("support", config, kinds="fact")[0].key == "acme/plan"


def test_bad_arguments_are_named(mem: SharedMemory) -> None:
    feed = mem.changes
    with pytest.raises(InvalidConfigError, match="start"):
        feed.subscribe("x", start="yesterday")
    with pytest.raises(InvalidConfigError, match="name"):
        feed.subscribe("")
    with pytest.raises(InvalidConfigError, match="need an agent"):
        feed.subscribe(user_id="u1")
    with pytest.raises(InvalidConfigError, match="exactly one"):
        feed.prune()
    with pytest.raises(InvalidConfigError, match="poll_interval"):
        feed.subscribe(poll_interval=0)
    with pytest.raises(InvalidConfigError, match="thread_id"):
        feed.since_last_step("support", {"configurable": {}})
    with pytest.raises(InvalidConfigError, match="scope"):
        feed.read(scopes=["nowhere:1"])
    with pytest.raises(InvalidConfigError):
        feed.on_change("not callable")  # type: ignore[arg-type]
    assert feed.cursor("x") is None  # nothing was half-created


@pytest.mark.parametrize("limit", [-1, 0, 2**63, 2**70, 1.5, "10", True, None])
def test_bad_limits_and_positions_are_named_not_read_as_no_limit(
    mem: SharedMemory, limit: Any
) -> None:
    """SQLite reads LIMIT -1 as "everything" and overflows past 2**63: both refused by name."""
    feed = mem.changes
    for i in range(3):
        mem.facts.assert_fact("app", "acme", f"a{i}", i, author="billing")
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    for call, name in (
        (lambda: feed.read(0, limit=limit), "limit"),
        (lambda: feed.since_last_step("support", config, limit=limit), "limit"),
        (lambda: feed.subscribe(batch_size=limit), "batch_size"),
        (lambda: feed.read(limit if limit != 0 else -1), "after"),
        (lambda: feed.set_cursor("x", limit if limit != 0 else -1), "seq"),
        (lambda: feed.subscribe("x", start=limit if limit != 0 else -1), "start"),
    ):
        with pytest.raises(InvalidConfigError, match=name):
            call()
    assert feed.cursor("x") is None and len(feed.read(0, limit=2)) == 2


def test_scope_filter_and_scope_objects(mem: SharedMemory) -> None:
    mem.facts.assert_fact("app", "a", "b", 1, author="billing")
    mem.facts.assert_fact("run:r9", "a", "b", 1, author="billing")
    got = mem.changes.read(0, scopes=[Scope.run("r9")], kinds=["fact"])
    assert [str(c.scope) for c in got] == ["run:r9"]


def test_upgrading_an_old_log_keeps_its_rows_and_never_reuses_a_seq(tmp_path: Path) -> None:
    from sqlite_utils.migrations import Migrations

    from langgraph_sharedmem import Database
    from langgraph_sharedmem.core import changelog as _log

    first_step = Migrations("langgraph_sharedmem.changes")
    first_step._migrations = _log.MIGRATIONS._migrations[:1]  # the log as first released
    db = Database(tmp_path / "old.db")
    db.migrate(first_step)
    with db.write() as conn:
        for i in range(5):
            _log.record(conn, kind="fact", op="asserted", key=f"k{i}", scope='["app"]')
        conn.execute("DELETE FROM changes WHERE seq = 5")  # AUTOINCREMENT remembers 5
    db.close()
    with SharedMemory.open(tmp_path / "old.db", index=None) as mem:
        assert [c.key for c in mem.changes.read(0, kinds="fact")] == ["k0", "k1", "k2", "k3"]
        mem.facts.assert_fact("app", "a", "b", 1, author="x")
        assert mem.changes.read(4, kinds="fact")[0].seq == 6


@pytest.mark.slow
def test_changes_benchmark_quick_run_delivers_everything(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, str(root / "bench" / "bench_changes.py"), "--quick", "--json", str(out)],
        check=True,
        cwd=root,
        capture_output=True,
        timeout=600,
    )
    latency = json.loads(out.read_text())["results"]["latency"]
    assert latency["ours"]["delivered"] == latency["writes"]
    assert latency["naive_poll_100ms"]["delivered"] == latency["writes"]


def test_messages_follow_the_conversation_visibility(mem: SharedMemory) -> None:
    from langchain_core.messages import AIMessage

    sub = mem.changes.subscribe(agent="support", run_id="r1", kinds="message")
    log = mem.conversation
    log.append(AIMessage("for all", id="m1"), run="r1", sender="billing")
    log.append(AIMessage("note to self", id="m2"), run="r1", sender="billing", visibility="private")
    log.append(AIMessage("to support", id="m3"), run="r1", sender="billing", recipients=["support"])
    log.append(AIMessage("to billing", id="m4"), run="r1", sender="support", recipients=["billing"])
    log.append(AIMessage("other run", id="m5"), run="r2", sender="billing")
    got = sub.poll(timeout=1)
    sub.close()
    assert [c.data["id"] for c in got] == ["m1", "m3", "m4"]  # m4: it sent it
    assert len(mem.changes.read(0, kinds="message")) == 5
