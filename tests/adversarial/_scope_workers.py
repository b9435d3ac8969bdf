"""Workers of the scope race (test_scopes_race.py), importable by spawned processes.

The cast, on one database file:

* ``writer``: appends messages to run r1, each scoped to a FRESH user that never grants the
  reader (``x<i>``), plus messages scoped to ``uf`` (whose grant to the reader flips) and
  ``ug`` (granted for good), and public ones; and puts items into those users' store scopes
  through its own agent view.
* ``flipper``: grants ``uf`` -> reader, then revokes it (or lets a short window end), over
  and over; records each interval during which the grant may have been live.
* ``reader``: agent ``support`` acting for user ``uf`` calls every read a viewer has (conversation
  slices, relevance, context, summary, the change feed, its store view) and records whose
  data came back and when.

Message contents and item values name their owner (``secret <owner> <n>``) so any returned
text, summary included, says which scope it came from.
"""

from __future__ import annotations

import re
import time
import traceback
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage

from langgraph_sharedmem import SharedMemory

RUN = "r1"
READER, WRITER = "support", "writer"
OTHER, FLIPPING = "ug", "uf"
_OWNER = re.compile(r"secret (\w+) ")


def owners_in(text: str) -> set[str]:
    """The owners named in ``text`` (message contents and summaries)."""
    return set(_OWNER.findall(text))


def echo_summarizer(messages: list[BaseMessage], previous: str | None) -> str:
    """A summarizer that keeps every message's text: any leak stays visible in it."""
    return (previous or "") + "".join(f"[{m.text}]" for m in messages)


echo_summarizer.name = "echo"  # type: ignore[attr-defined]


def prepare(path: str) -> None:
    """Register the cast; ``ug`` and ``uf`` let the writer write (the reader: see flipper)."""
    with SharedMemory.open(path, index=None) as mem:
        for agent in (READER, WRITER):
            mem.access.register_agent(agent)
        for user in (OTHER, FLIPPING):
            mem.access.register_user(user)
            mem.access.grant_user(user, WRITER, read=True, write=True)
        mem.conversation.setup()
        mem.changes.setup()


def writer(path: str, seconds: float, barrier: Any, results: Any) -> None:
    try:
        with SharedMemory.open(path, index=None) as mem:
            log = mem.conversation
            log._vectors(["warm up"])  # load the embedder before the race starts
            barrier.wait(timeout=120)
            deadline = time.monotonic() + seconds
            i = 0
            while time.monotonic() < deadline:
                i += 1
                user = f"x{i}"
                mem.access.register_user(user)
                log.append(
                    AIMessage(f"secret {user} {i} card"),
                    run=RUN,
                    sender=WRITER,
                    scope=("user", user),
                )
                if i % 3 == 0:
                    log.append(
                        AIMessage(f"secret {FLIPPING} {i} card"),
                        run=RUN,
                        sender=WRITER,
                        scope=("user", FLIPPING),
                    )
                if i % 7 == 0:
                    log.append(
                        AIMessage(f"secret {OTHER} {i} card"),
                        run=RUN,
                        sender=WRITER,
                        scope=("user", OTHER),
                    )
                    log.append(AIMessage(f"public note {i}"), run=RUN, sender=WRITER)
                if i % 4 == 0:
                    mem.access.grant_user(user, WRITER, read=True, write=True)
                    own = mem.agent(WRITER, user_id=user, run_id=RUN)
                    own.remember("card", {"text": f"secret {user} {i} card"}, scope="user")
                    flip = mem.agent(WRITER, user_id=FLIPPING, run_id=RUN)
                    flip.remember(f"card{i}", {"text": f"secret {FLIPPING} {i} card"}, scope="user")
        results.put(("writer", i, None))
    except BaseException:
        results.put(("writer", None, traceback.format_exc()))


def flipper(path: str, seconds: float, barrier: Any, results: Any) -> None:
    """Grant and revoke ``uf`` -> reader; each interval [before grant, after its end]."""
    try:
        intervals: list[tuple[float, float]] = []
        with SharedMemory.open(path, index=None) as mem:
            acl = mem.access
            barrier.wait(timeout=120)
            deadline = time.monotonic() + seconds
            n = 0
            while time.monotonic() < deadline:
                n += 1
                start = time.time()
                if n % 2:
                    acl.grant_user(FLIPPING, READER, read=True)
                    time.sleep(0.03)
                    acl.revoke_user(FLIPPING, READER)
                    intervals.append((start, time.time()))
                else:  # a window that ends by itself
                    until = time.time() + 0.03
                    acl.grant_user(FLIPPING, READER, read=True, valid_until=until)
                    intervals.append((start, until))
                    time.sleep(0.04)
                time.sleep(0.02)
        results.put(("flipper", intervals, None))
    except BaseException:
        results.put(("flipper", None, traceback.format_exc()))


def _item_owner(item: Any) -> str | None:
    ns = item.namespace
    return ns[2] if len(ns) >= 3 and ns[1] == "user" else None


def _reads(mem: SharedMemory) -> list[tuple[str, Any]]:
    """Every read a viewer has, each a function returning the owners of what it got."""
    log = mem.conversation
    who = {"viewer": READER, "user": FLIPPING}

    def texts(messages: list[BaseMessage]) -> set[str]:
        return set().union(*(owners_in(m.text + " ") for m in messages)) if messages else set()

    def feed() -> set[str]:
        after = max(0, mem.changes.head() - 400)
        found = mem.changes.read(after, agent=READER, user_id=FLIPPING, run_id=RUN)
        out = {c.scope.id for c in found if c.scope is not None and c.scope.kind == "user"}
        for c in found:  # a message change names its key, never its text: scope is enough
            if c.kind == "access" and c.data.get("user") not in (None, FLIPPING):
                out.add(str(c.data.get("user")))
        return {o for o in out if o is not None}

    sub = mem.changes.subscribe(agent=READER, user_id=FLIPPING, run_id=RUN, start="earliest")

    def subscription() -> set[str]:  # what a live subscriber is handed, batch by batch
        found = sub.poll(0)
        return {c.scope.id for c in found if c.scope is not None and c.scope.kind == "user"}

    def view() -> Any:
        return mem.agent(READER, user_id=FLIPPING, run_id=RUN)

    def summary() -> set[str]:
        return owners_in((log.summary(RUN, summarizer=echo_summarizer, **who) or "") + " ")

    return [
        ("last", lambda: texts(log.last(RUN, 3, **who))),
        ("within_tokens", lambda: texts(log.within_tokens(RUN, 60, **who))),
        ("page", lambda: texts(log.page(RUN, newest_first=True, limit=20, **who).messages)),
        ("relevant", lambda: texts(log.relevant(RUN, "secret card", 5, **who))),
        ("summary", summary),
        (
            "context",
            lambda: texts(
                log.context(
                    RUN,
                    READER,
                    user=FLIPPING,
                    last=3,
                    query="secret card",
                    k=3,
                    summarize_older=True,
                    summarizer=echo_summarizer,
                )
            ),
        ),
        ("feed", feed),
        ("subscription", subscription),
        ("view.list", lambda: {_item_owner(i) for i in view().list(limit=50)} - {None}),
        ("view.search", lambda: {_item_owner(i) for i in view().search(limit=50)} - {None}),
    ]


def reader(path: str, seconds: float, barrier: Any, results: Any) -> None:
    """Call every read in turn; report (op, t0, t1, owners) per read that returned any
    user's data, and how many reads of each kind ran."""
    try:
        seen: list[tuple[str, float, float, list[str]]] = []
        counts: dict[str, int] = {}
        with SharedMemory.open(path, index=None) as mem:
            mem.conversation._vectors(["warm up"])
            reads = _reads(mem)
            barrier.wait(timeout=120)
            deadline = time.monotonic() + seconds
            i = 0
            while time.monotonic() < deadline:
                name, read = reads[i % len(reads)]
                i += 1
                t0 = time.time()
                owners = read()
                t1 = time.time()
                counts[name] = counts.get(name, 0) + 1
                others = sorted(owners)
                if others:
                    seen.append((name, t0, t1, others))
        results.put(("reader", (seen, counts), None))
    except BaseException:
        results.put(("reader", None, traceback.format_exc()))
