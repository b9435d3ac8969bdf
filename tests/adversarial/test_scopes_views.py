"""I1 for an agent that names scopes it was not given: another user's scope through a view
made for a different user, and a run it is not a member of.

A view acts for one user: u2 granting the agent does not let a view made for u1 reach
``user:u2``, through any method or any spelling of the scope. A closed run (one given
members) is read and written only by its members, through the conversation log, agent
views and the change feed alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from langgraph_sharedmem import AccessDenied, SharedMemory
from langgraph_sharedmem.facts import Scope

SPELLINGS = ["user:u2", ("user", "u2"), ["user", "u2"], Scope.user("u2")]

# Every view method that takes a scope, called on a view for u1 naming u2's scope.
CALLS: dict[str, Callable[[Any, Any], Any]] = {
    "get": lambda v, s: v.get("card", scope=s),
    "search": lambda v, s: v.search("card", scope=s),
    "list": lambda v, s: v.list(s),
    "remember": lambda v, s: v.remember("card", {"n": "0000"}, scope=s),
    "forget": lambda v, s: v.forget("card", scope=s),
    "facts.get": lambda v, s: v.facts.get(s, "u2", "card"),
    "facts.list": lambda v, s: v.facts.list(s),
    "facts.history": lambda v, s: v.facts.history(s, "u2", "card"),
    "facts.claims": lambda v, s: v.facts.claims(s, "u2", "card"),
    "facts.disagreements": lambda v, s: v.facts.disagreements(s),
    "facts.assert_fact": lambda v, s: v.facts.assert_fact(s, "u2", "card", "1111"),
}


@contextmanager
def _attacked(where: str) -> Iterator[SharedMemory]:
    with SharedMemory.open(where, index=None) as m:
        for agent in ("reader", "owner", "evil"):
            m.register_agent(agent)
        for user in ("u1", "u2"):
            m.register_user(user)
            # Both users trust the reader: the attack is a view for u1 reaching u2.
            m.access.grant_user(user, "reader", read=True, write=True)
        u2 = m.agent("reader", user_id="u2")
        u2.remember("card", {"n": "4111-u2"}, scope="user")
        u2.facts.assert_fact("user", "u2", "card", "4111-u2")
        yield m


@pytest.fixture
def mem(tmp_path: Path) -> Iterator[SharedMemory]:
    """On SQLite: the scope checks it serves are the views' own, the same on both backends."""
    with _attacked(str(tmp_path / "m.db")) as m:
        yield m


@pytest.fixture
def mem_both(backend_url: str) -> Iterator[SharedMemory]:
    """On both backends: run membership and the feed's filters are SQL of each."""
    with _attacked(backend_url) as m:
        yield m


@pytest.mark.parametrize("spelling", SPELLINGS, ids=str)
@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_view_never_reaches_another_users_scope(
    mem: SharedMemory, call: str, spelling: Any
) -> None:
    view = mem.agent("reader", user_id="u1", run_id="r1")
    with pytest.raises(AccessDenied) as denied:
        CALLS[call](view, spelling)
    assert "u1" in str(denied.value) and denied.value.scope == "user:u2"
    # Nothing changed in u2's memory, and the audit says denied, never allowed.
    assert mem.agent("reader", user_id="u2").get("card", scope="user").value == {"n": "4111-u2"}
    mem.access.close()
    allowed = [e for e in mem.audit(agent="reader", user="u1") if e.scope == "user:u2"]
    assert allowed and all(e.outcome == "denied" for e in allowed), allowed


def test_a_view_without_a_user_reaches_no_user_scope(mem_both: SharedMemory) -> None:
    view = mem_both.agent("reader", run_id="r1")
    for call in sorted(CALLS):
        with pytest.raises(AccessDenied):
            CALLS[call](view, "user:u2")


def _reads_of_run(mem: SharedMemory, agent: str, run: str) -> dict[str, Callable[[], Any]]:
    log = mem.conversation
    return {
        "last": lambda: log.last(run, 5, viewer=agent),
        "page": lambda: log.page(run, viewer=agent),
        "within_tokens": lambda: log.within_tokens(run, 500, viewer=agent),
        "relevant": lambda: log.relevant(run, "plan", 3, viewer=agent),
        "summary": lambda: log.summary(run, viewer=agent, summarizer=lambda m, p: "s"),
        "context": lambda: log.context(
            run, agent, last=2, summarize_older=True, summarizer=lambda m, p: "s"
        ),
        "append": lambda: log.append(AIMessage("hi"), run=run, sender=agent),
        "view.get": lambda: mem.agent(agent, run_id=run).get("k", scope="run"),
        "view.remember": lambda: mem.agent(agent, run_id=run).remember("k", {"a": 1}, scope="run"),
        "view.explicit": lambda: mem.agent(agent, run_id="elsewhere").get("k", scope=f"run:{run}"),
    }


def test_a_closed_run_is_its_members_only(mem_both: SharedMemory) -> None:
    mem = mem_both
    log = mem.conversation
    log.append(HumanMessage("plan a trip"), run="r1", sender="user")
    # Open: any agent working in the run (the default before members are named).
    assert log.last("r1", 5, viewer="evil")
    assert mem.access.run_members("r1") is None
    mem.access.add_run_members("r1", ["owner", "reader"], by="orchestrator")
    log.append(AIMessage("the plan", id="p1"), run="r1", sender="owner")
    mem.agent("owner", run_id="r1").remember("k", {"a": 1}, scope="run")
    for read in _reads_of_run(mem, "evil", "r1").values():  # every read and write refused
        with pytest.raises(AccessDenied):
            read()
    assert not [c for c in mem.changes.read(agent="evil", run_id="r1") if c.scope is not None]
    # A member reads everything; removed, it reads nothing more (cached summaries too).
    assert [m.content for m in log.last("r1", 5, viewer="reader")] == ["plan a trip", "the plan"]
    assert log.summary("r1", viewer="reader", summarizer=lambda m, p: "s")
    mem.access.remove_run_member("r1", "reader", by="orchestrator")
    for read in _reads_of_run(mem, "reader", "r1").values():
        with pytest.raises(AccessDenied):
            read()
    # A run grant lets a non-member in (the owner's explicit choice).
    mem.access.grant_scope("evil", ("run", "r1"), read=True)
    assert log.last("r1", 1, viewer="evil")[0].content == "the plan"


def test_the_feed_hides_a_user_scoped_message_of_a_closed_run_from_non_members(
    mem_both: SharedMemory,
) -> None:
    mem = mem_both
    # u1 granted the reader, but the reader is not a member of r1: a message of r1 scoped
    # to u1 must not reach it through the feed, not even as metadata.
    mem.access.add_run_members("r1", ["owner"], by="orchestrator")
    mem.access.grant_user("u1", "owner", read=True)
    mem.conversation.append(
        AIMessage("u1's card is 4111"), run="r1", sender="owner", scope="user:u1"
    )
    mem.conversation.append(AIMessage("open note"), run="r2", sender="owner", scope="user:u1")

    def messages(agent: str, run: str | None) -> list[str]:
        changes = mem.changes.read(agent=agent, user_id="u1", run_id=run)
        return [c.key.split("/")[0] for c in changes if c.kind == "message"]

    assert messages("reader", "r2") == ["r2"]  # its own (open) run
    assert messages("reader", "r1") == []  # not a member: nothing, though u1 granted it
    assert messages("reader", None) == []  # no run named: no run's messages
    assert messages("owner", "r1") == ["r1"]
