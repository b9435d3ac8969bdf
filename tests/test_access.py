"""Access rules: defaults, grants changed at runtime, windows, audit log, bad input."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from langgraph_sharedmem import AccessDenied, InvalidConfigError, SharedMemory


def _opened(conn: str | Path) -> Iterator[SharedMemory]:
    with SharedMemory.open(conn, index=None) as m:
        for agent in ("billing", "support"):
            m.register_agent(agent)
        m.register_user("u1")
        m.register_user("u2")
        yield m


@pytest.fixture
def mem(backend_url: str) -> Iterator[SharedMemory]:
    """On both backends (agent views on PostgreSQL too)."""
    yield from _opened(backend_url)


@pytest.fixture
def file_mem(db_path: Path) -> Iterator[SharedMemory]:
    """On a SQLite file, for tests reading its tables directly."""
    yield from _opened(db_path)


def _tables(path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(path)
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: conn.execute(f"SELECT * FROM {n}").fetchall() for n in sorted(names)}
    finally:
        conn.close()


def test_defaults_own_scope_and_run_but_not_the_user_without_a_grant(mem: SharedMemory) -> None:
    v = mem.agent("support", user_id="u1", run_id="r1")
    assert [str(s) for s in v.writable()] == ["run:r1", "agent:support"]
    assert [str(s) for s in v.readable()] == ["run:r1", "agent:support", "app"]
    v.remember("k", {"n": 1}, scope="run")
    with pytest.raises(AccessDenied) as info:
        v.remember("k", {"n": 1}, scope="user")
    assert info.value.scope == "user:u1" and info.value.action == "remember"
    with pytest.raises(AccessDenied):
        v.remember("k", {"n": 1}, scope="app")  # app is read-only by default
    with pytest.raises(AccessDenied):
        v.get("k", scope="user")


def test_grant_revoke_and_windows_take_effect_on_the_next_call(mem: SharedMemory) -> None:
    billing = mem.agent("billing", user_id="u1")
    support = mem.agent("support", user_id="u1")
    mem.access.grant_user("u1", "billing", read=True, write=True)
    billing.remember("plan", {"tier": "pro"}, scope="user")
    with pytest.raises(AccessDenied):
        support.get("plan", scope="user")
    assert support.search() == []  # silently excluded

    mem.access.grant_user("u1", "support", read=True)
    assert support.get("plan", scope="user").value == {"tier": "pro"}
    assert [i.key for i in support.search()] == ["plan"]
    with pytest.raises(AccessDenied):  # read-only grant
        support.remember("plan", {"tier": "free"}, scope="user")

    assert mem.access.revoke_user("u1", "support") == 1
    with pytest.raises(AccessDenied):
        support.get("plan", scope="user")
    assert support.search() == []
    # History kept: the grant is still on record, ended.
    (grant,) = mem.access.grants(agent="support")
    assert grant.revoked_at is not None and not grant.live()

    # A window in the future: denied until it opens, then allowed, then closed again.
    start = time.time() + 0.4
    mem.access.grant_user("u1", "support", valid_from=start, valid_until=start + 0.4)
    with pytest.raises(AccessDenied):
        support.get("plan", scope="user")
    time.sleep(max(0.0, start - time.time()) + 0.05)
    assert support.get("plan", scope="user") is not None
    time.sleep(0.45)
    with pytest.raises(AccessDenied):
        support.get("plan", scope="user")


def test_scope_grants_reach_other_agents_private_memory_and_wildcards(mem: SharedMemory) -> None:
    billing = mem.agent("billing", user_id="u1")
    support = mem.agent("support", user_id="u1")
    billing.remember("card", {"last4": "4242"})
    with pytest.raises(AccessDenied):
        support.get("card", scope=("agent", "billing"))
    mem.access.grant_scope("support", ("agent", "billing"), read=True)
    assert support.get("card", scope="agent:billing").value == {"last4": "4242"}
    with pytest.raises(AccessDenied):
        support.forget("card", scope=("agent", "billing"))
    mem.access.revoke_scope("support", ("agent", "billing"))
    with pytest.raises(AccessDenied):
        support.get("card", scope=("agent", "billing"))
    mem.access.grant_scope("support", ("agent", "*"), read=True, write=True)
    support.forget("card", scope=("agent", "billing"))
    assert billing.recall("card") is None
    mem.access.grant_scope("support", "app", write=True)
    support.remember("policy", {"refunds": "30 days"}, scope="app")
    assert billing.recall("policy").value == {"refunds": "30 days"}


def test_revocation_by_another_process_reaches_reads_and_writes(mem: SharedMemory) -> None:
    mem.access.grant_user("u1", "support", read=True, write=True)
    support = mem.agent("support", user_id="u1")
    support.remember("note", {"x": 1}, scope="user")
    with SharedMemory.open(mem.db.path, index=None) as other:  # another connection
        other.access.revoke_user("u1", "support")
    with pytest.raises(AccessDenied):  # writes check inside their own transaction
        support.remember("note", {"x": 2}, scope="user")
    time.sleep(mem.access.recheck_seconds + 0.01)
    with pytest.raises(AccessDenied):
        support.get("note", scope="user")


def test_facts_through_a_view_are_checked_and_authored(mem: SharedMemory) -> None:
    billing = mem.agent("billing", user_id="u1")
    support = mem.agent("support", user_id="u1")
    with pytest.raises(AccessDenied):
        billing.facts.assert_fact("user", "acct", "plan", "pro")
    mem.access.grant_user("u1", "billing", read=True, write=True)
    change = billing.facts.assert_fact("user", "acct", "plan", "pro")
    assert change.claim.author == "billing"
    assert billing.facts.get("user", "acct", "plan").value == "pro"
    assert [f.attribute for f in billing.facts.list("user")] == ["plan"]
    assert len(billing.facts.history("user", "acct", "plan")) == 1
    for read in (
        lambda: support.facts.get(("user", "u1"), "acct", "plan"),
        lambda: support.facts.list("user"),
        lambda: support.facts.history("user", "acct", "plan"),
    ):
        with pytest.raises(AccessDenied):
            read()
    with pytest.raises(InvalidConfigError, match="author"):
        billing.facts.assert_fact("agent", "x", "y", 1, author="support")
    assert mem.facts.get(("agent", "support"), "x", "y") is None


def test_audit_log_records_reads_writes_and_denials(mem: SharedMemory) -> None:
    v = mem.agent("support", user_id="u1", run_id="r9")
    v.remember("k", {"a": 1}, scope="run")
    v.get("k", scope="run")
    v.recall("k")
    v.search("anything")
    with pytest.raises(AccessDenied):
        v.get("k", scope="user")
    entries = mem.audit(agent="support")
    got = [(e.action, e.scope, e.subject, e.outcome) for e in entries]
    assert got[-5:] == [
        ("remember", "run:r9", "k", "allowed"),
        ("get", "run:r9", "k", "allowed"),
        ("recall", "run:r9", "k", "allowed"),
        ("search", "run:r9 agent:support app", "anything", "allowed"),
        ("get", "user:u1", "k", "denied"),
    ]
    assert all(e.user == "u1" and e.run == "r9" for e in entries[-5:])
    denied = mem.audit(outcome="denied")
    assert [(e.agent, e.action) for e in denied] == [("support", "get")]
    assert mem.audit(action=["get", "recall"], agent="support", limit=2)[0].action == "get"


def test_bad_input_is_refused_naming_the_problem_and_writes_nothing(
    file_mem: SharedMemory, db_path: Path
) -> None:
    mem = file_mem
    mem.access.grant_user("u1", "billing", write=True)
    v = mem.agent("billing", user_id="u1", run_id="r1")
    mem.access.audit_log.flush()
    before = _tables(db_path)
    cases = [
        (lambda: mem.agent("nobody"), "unknown agent 'nobody'"),
        (lambda: mem.agent("billing", user_id="ghost"), "unknown user 'ghost'"),
        (lambda: mem.agent("billing", run_id="r.1"), "contains '.'"),
        (lambda: mem.agent("", user_id="u1"), "non-empty"),
        (lambda: mem.agent("billing", user_id="x" * 300), "limit is 256"),
        (lambda: mem.access.grant_user("ghost", "billing"), "unknown user 'ghost'"),
        (lambda: mem.access.grant_user("u1", "nobody"), "unknown agent 'nobody'"),
        (lambda: mem.access.grant_user("u1", "support", valid_from=10.0, valid_until=5.0), "ends"),
        (lambda: mem.access.grant_user("u1", "support", read=False), "read, write or both"),
        (lambda: mem.access.grant_scope("support", ("user", "u1")), "grant_user"),
        (lambda: mem.access.grant_scope("support", ("galaxy", "x")), "unknown scope kind"),
        (lambda: v.remember("k", {"bad": float("nan")}, scope="user"), "NaN"),
        (lambda: v.remember("k", {"s": {1, 2}}), "set"),
        (lambda: v.remember("", {"a": 1}), "key"),
        (lambda: v.remember("k", {"a": 1}, scope="agent:a.b"), "contains '.'"),
        (lambda: v.remember("k", {"a": 1}, collection="c.d"), "contains '.'"),
        (lambda: v.search(limit=-1), "limit"),
        (lambda: mem.agent("billing", user_id="u1").remember("k", {}, scope="run"), "no run"),
    ]
    for call, message in cases:
        with pytest.raises(InvalidConfigError, match=message):
            call()
    assert _tables(db_path) == before


async def test_async_twins(mem: SharedMemory) -> None:
    v = mem.agent("billing", user_id="u1", run_id="r1")
    await v.aremember("k", {"a": 1}, scope="run")
    assert (await v.arecall("k")).value == {"a": 1}
    assert (await v.aget("k", scope="run")).value == {"a": 1}
    assert [i.key for i in await v.asearch()] == ["k"]
    await v.aforget("k", scope="run")
    assert await v.arecall("k") is None
    with pytest.raises(AccessDenied):
        await v.aget("k", scope="user")


def _where(items: list) -> set[tuple[str, str, str]]:
    return {(i.namespace[1], i.namespace[2], i.key) for i in items}


def test_search_and_list_cover_every_scope_the_agent_may_read(mem: SharedMemory) -> None:
    mem.agent("billing", user_id="u1", run_id="r1").remember("card", {"text": "card on file"})
    for run in ("r8", "r9"):
        view = mem.agent("billing", user_id="u1", run_id=run)
        view.remember("step", {"text": f"step of {run}"}, scope="run")
        view.remember("n", {"text": f"note of {run}"}, scope="run", collection="notes")
    support = mem.agent("support", user_id="u1", run_id="r2")
    support.remember("mine", {"text": "support's own"})
    own = {("agent", "support", "mine")}
    assert _where(support.list()) == own

    mem.access.grant_scope("support", ("agent", "billing"), read=True)
    assert _where(support.list()) == own | {("agent", "billing", "card")}
    assert _where(support.search(filter={"text": "card on file"})) == {("agent", "billing", "card")}

    mem.access.grant_scope("support", ("run", "*"), read=True)
    runs = {("run", r, "step") for r in ("r8", "r9")} | {("run", r, "n") for r in ("r8", "r9")}
    assert _where(support.list()) == own | {("agent", "billing", "card")} | runs
    # With a collection, a wildcard reaches the runs that hold that collection.
    assert _where(support.list(collection="notes")) == {("run", r, "n") for r in ("r8", "r9")}
    listed = mem.audit(agent="support", action="list")[-1]
    assert "run:r8" in (listed.scope or "") and "run:r9" in (listed.scope or "")

    mem.access.revoke_scope("support", ("run", "*"))
    mem.access.revoke_scope("support", ("agent", "billing"))
    assert _where(support.list()) == own  # and another agent's memory is never listed
    assert _where(mem.agent("billing", user_id="u1").list()) == {("agent", "billing", "card")}


def test_a_view_write_does_not_hold_the_write_lock_while_embedding(db_path: Path) -> None:
    in_transaction: list[bool] = []

    def embed(texts: list[str]) -> list[list[float]]:
        in_transaction.append(mem.db.conn.in_transaction)
        return [[float(len(t)), 1.0, 0.5, 0.25] for t in texts]

    index = {"dims": 4, "embed": embed, "fields": ["text"]}
    with SharedMemory.open(db_path, index=index, chroma=None, fact_matcher=None) as mem:
        mem.access.register_agent("billing")
        view = mem.agent("billing")
        item = view.remember("k", {"text": "a memory to embed"})
        assert item.value == {"text": "a memory to embed"}
        assert in_transaction == [False]
        assert [i.key for i in view.search("a memory")] == ["k"]
        mem.access.retire_agent("billing")
        with pytest.raises(AccessDenied):  # embedded first, then refused: nothing written
            view.remember("k2", {"text": "another memory"})
        assert mem.store.get(("sharedmem", "agent", "billing"), "k2") is None
