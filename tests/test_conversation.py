"""Conversation history: exact round trips, visibility and access, slices, paging, summaries,
the change log, a real graph, several processes."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.embeddings import Embeddings
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
)
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, MessagesState, StateGraph

from langgraph_sharedmem import (
    ConversationLog,
    InvalidConfigError,
    Scope,
    SharedMemory,
)
from langgraph_sharedmem.store import WordLlamaEmbeddings
from tests import _conversation_workers as workers
from tests._spawn import run_together

SCALE = float(os.environ.get("SHAREDMEM_STRESS_SCALE", "1"))


@pytest.fixture
def log(backend_url: str) -> Any:
    with ConversationLog(backend_url) as c:
        yield c


def _rich_messages() -> list[BaseMessage]:
    return [
        SystemMessage(content="You are the planner.", id="s1"),
        HumanMessage(
            content=[
                {"type": "text", "text": "Plan Oslo"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ],
            id="h1",
            name="alice",
            additional_kwargs={"lang": "en", "nested": {"n": [1, 2.5, None, True]}},
        ),
        AIMessage(
            content="",
            id="a1",
            tool_calls=[
                {"name": "flights", "args": {"to": "OSL", "max": 2}, "id": "call_1"},
                {"name": "hotels", "args": {"city": "Oslo"}, "id": "call_2"},
            ],
            invalid_tool_calls=[
                {"name": "broken", "args": "{not json", "id": "call_3", "error": "bad"}
            ],
            response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
            usage_metadata={"input_tokens": 10, "output_tokens": 5, "total_tokens": 15},
        ),
        ToolMessage(content="3 flights", tool_call_id="call_1", id="t1", name="flights"),
        ToolMessage(
            content="no hotels",
            tool_call_id="call_2",
            status="error",
            artifact={"raw": [1, 2]},
            id="t2",
        ),
        AIMessage(content="Booked. ✈️ «Oslo»", id="a2", name="planner"),
    ]


def test_messages_round_trip_exactly(log: ConversationLog) -> None:
    original = _rich_messages()
    log.extend(original, run="r1", sender="planner", thread="t1")
    back = log.messages("r1")
    assert back == original
    assert [message_to_dict(m) for m in back] == [message_to_dict(m) for m in original]
    assert [type(m) for m in back] == [type(m) for m in original]
    with ConversationLog(log.db.path) as again:  # another connection reads the same
        assert again.messages("r1") == original


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    content=st.text(),
    kwargs=st.dictionaries(st.text(min_size=1), _json, max_size=3),
    args=_json,
)
def test_round_trip_property(log: ConversationLog, content: str, kwargs: Any, args: Any) -> None:
    msg = AIMessage(
        content=content,
        additional_kwargs=kwargs,
        tool_calls=[{"name": "t", "args": {"a": args}, "id": "c"}],
    )
    stored = log.append(msg, run="rp", sender="x")
    page = log.page("rp", after=stored.seq - 1, limit=1)
    assert page.items[0].message == msg
    assert message_to_dict(page.items[0].message) == message_to_dict(msg)


def test_visibility_public_recipients_private(log: ConversationLog) -> None:
    log.append(HumanMessage("hello all"), run="r", sender="user")
    log.append(AIMessage("research: dig"), run="r", sender="planner", recipients=["research"])
    log.append(AIMessage("my notes"), run="r", sender="planner", visibility="private")
    log.append(AIMessage("to both"), run="r", sender="research", recipients=["writer", "planner"])

    def seen(viewer: str | None) -> list[str]:
        return [str(m.content) for m in log.messages("r", viewer=viewer)]

    assert seen(None) == ["hello all", "research: dig", "my notes", "to both"]
    assert seen("planner") == ["hello all", "research: dig", "my notes", "to both"]
    assert seen("research") == ["hello all", "research: dig", "to both"]
    assert seen("writer") == ["hello all", "to both"]
    assert seen("critic") == ["hello all"]
    # every slice respects it, not only the full read
    assert [m.content for m in log.last("r", 10, viewer="writer")] == ["hello all", "to both"]
    assert "my notes" not in [m.content for m in log.relevant("r", "my notes", 4, viewer="writer")]


def test_access_control_applies_to_viewers(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "m.db", index=None) as mem:
        for agent in ("billing", "support"):
            mem.register_agent(agent)
        mem.register_user("u1")
        mem.access.grant_user("u1", "billing", read=True)
        log = mem.conversation
        log.append(HumanMessage("hi"), run="r7", sender="user")
        log.append(HumanMessage("my card ends 4242"), run="r7", sender="user", scope=("user", "u1"))
        assert [m.content for m in log.messages("r7", viewer="billing", user="u1")] == [
            "hi",
            "my card ends 4242",
        ]
        assert [m.content for m in log.messages("r7", viewer="support", user="u1")] == ["hi"]
        with pytest.raises(InvalidConfigError, match="unknown agent"):
            log.messages("r7", viewer="stranger")
        mem.access.revoke_user("u1", "billing")
        time.sleep(0.06)  # another process's grant change reaches reads within 50 ms
        assert [m.content for m in log.messages("r7", viewer="billing", user="u1")] == ["hi"]
        mem.access.retire_agent("support")
        with pytest.raises(InvalidConfigError, match="retired"):
            log.last("r7", 5, viewer="support")
        assert len(log.messages("r7")) == 2  # the orchestrator sees everything


def test_last_tokens_and_paging_over_thousands(db_path: Path) -> None:
    n = int(3000 * SCALE)
    with ConversationLog(
        db_path, embeddings=None, token_counter=lambda m: len(str(m.content))
    ) as log:
        log.extend(
            [AIMessage(content="x" * (1 + i % 7), id=f"m{i}") for i in range(n)],
            run="big",
            sender="bot",
        )
        assert [m.id for m in log.last("big", 3)] == [f"m{n - 3}", f"m{n - 2}", f"m{n - 1}"]
        window = log.within_tokens("big", 20)
        assert sum(len(str(m.content)) for m in window) <= 20
        older = log.page(
            "big",
            before=int(log.page("big", newest_first=True, limit=1).items[0].seq) - len(window) + 1,
            newest_first=True,
            limit=1,
        ).items[0]
        assert len(str(older.message.content)) + sum(len(str(m.content)) for m in window) > 20
        # keyset paging: every message once, in order
        seen, cursor, pages = [], None, 0
        while True:
            page = log.page("big", after=cursor, limit=500)
            seen += [m.message.id for m in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [f"m{i}" for i in range(n)] and pages == -(-n // 500)
        # newest first, backwards
        back = log.page("big", newest_first=True, limit=10)
        assert [m.message.id for m in back.items] == [f"m{i}" for i in range(n - 1, n - 11, -1)]
        nxt = log.page("big", newest_first=True, before=back.next_cursor, limit=2)
        assert [m.message.id for m in nxt.items] == [f"m{n - 11}", f"m{n - 12}"]
        # a deep page costs a page, not the history
        t0 = time.perf_counter()
        for _ in range(20):
            log.page("big", after=cursor, limit=50)
        deep = (time.perf_counter() - t0) / 20
        t0 = time.perf_counter()
        log.messages("big")
        whole = time.perf_counter() - t0
        assert deep < whole / 5, (deep, whole)


def test_relevance_uses_stored_embeddings(log: ConversationLog) -> None:
    topics = [
        "the hotel in Oslo costs 140 euros per night",
        "flights to Oslo leave at 9am from Paris",
        "the weather in May is mild and rainy",
        "museum tickets are free on Sundays",
    ]
    for i, text in enumerate(topics * 3):
        log.append(AIMessage(content=f"{text} ({i})"), run="r", sender="research")
    top = log.relevant("r", "how much is the hotel room?", 3)
    assert all("hotel" in str(m.content) for m in top)
    seqs = [m.seq for m in log.iter_messages("r") if m.message in top]
    assert seqs == sorted(seqs)  # chronological
    none = ConversationLog(log.db, embeddings=None)
    with pytest.raises(InvalidConfigError, match="embeddings"):
        none.relevant("r", "hotel", 2)
    # appended without embeddings: embedded once, on the first relevance query
    none.append(AIMessage("the hotel breakfast is 20 euros"), run="r2", sender="x")
    none.append(AIMessage("trains run hourly"), run="r2", sender="x")
    assert [m.content for m in log.relevant("r2", "hotel breakfast price", 1)] == [
        "the hotel breakfast is 20 euros"
    ]
    with log.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM conv_embeddings").fetchone()[0] == 14


def test_summaries_are_cached_and_extended(log: ConversationLog) -> None:
    calls: list[tuple[int, str | None]] = []

    def summarize(messages: list[BaseMessage], previous: str | None) -> str:
        calls.append((len(messages), previous))
        return (previous or "") + "".join(str(m.content)[0] for m in messages)

    log.summarizer = __import__(
        "langgraph_sharedmem.conversation._summary", fromlist=["as_summarizer"]
    ).as_summarizer(summarize, "initials")
    for word in ("alpha", "beta", "gamma"):
        log.append(HumanMessage(word), run="r", sender="user")
    assert log.summary("r") == "abg"
    assert log.summary("r") == "abg" and calls == [(3, None)]
    log.append(HumanMessage("delta"), run="r", sender="user")
    assert log.summary("r") == "abgd" and calls[-1] == (1, "abg")
    # a summary up to an earlier point is its own entry
    first = log.page("r", limit=1).items[0].seq
    assert log.summary("r", upto=first) == "a"
    # per viewer: another agent's cached summary is never served
    log.append(AIMessage("zeta"), run="r", sender="x", visibility="private")
    assert log.summary("r", viewer="y") == "abgd" and log.summary("r", viewer="x") == "abgdz"
    with ConversationLog(log.db, summarizer=summarize) as other:  # another name: recomputed
        assert other.summary("r") == "abgdz"


def test_chat_model_summarizer_and_context(log: ConversationLog) -> None:
    model = GenericFakeChatModel(messages=iter(["They planned Oslo."]))
    for i in range(6):
        log.append(HumanMessage(f"turn {i}"), run="r", sender="user")
    out = log.context("r", "writer", last=2, summarize_older=True, summarizer=model)
    assert isinstance(out[0], SystemMessage) and "They planned Oslo." in str(out[0].content)
    assert [m.content for m in out[1:]] == ["turn 4", "turn 5"]
    # the cached summary answers again without asking the model (its iterator is empty now)
    again = log.context("r", "writer", last=2, summarize_older=True, summarizer=model)
    assert again == out


def test_context_slices(log: ConversationLog) -> None:
    log.append(HumanMessage("budget for the hotel is 150 euros"), run="r", sender="user")
    for i in range(10):
        log.append(AIMessage(f"chatter about trains {i}"), run="r", sender="planner")
    log.append(
        AIMessage("", tool_calls=[{"name": "search", "args": {}, "id": "c9"}]),
        run="r",
        sender="planner",
    )
    log.append(ToolMessage("result", tool_call_id="c9"), run="r", sender="planner")
    whole = log.context("r", "writer")
    assert len(whole) == 13
    out = log.context("r", "writer", last=1, query="hotel budget", k=1)
    # the tool result whose call was cut off is dropped; the relevant old message is kept
    assert [m.content for m in out] == ["budget for the hotel is 150 euros"]
    out = log.context("r", "writer", last=2, query="hotel budget", k=1)
    assert [type(m).__name__ for m in out] == ["HumanMessage", "AIMessage", "ToolMessage"]
    assert len(log.context("r", "writer", max_tokens=0)) == 0


def test_budgeted_context_follows_the_instruction(db_path: Path) -> None:
    # The task's words fill the history; the one message the turn needs shares none of them.
    with ConversationLog(db_path) as log:
        log.append(HumanMessage("Plan the Oslo trip: flights, hotel, budget."), run="r", sender="u")
        log.append(AIMessage("Ines is allergic to peanuts."), run="r", sender="planner")
        for i in range(8):
            log.append(
                AIMessage(f"Oslo trip plan, flights and hotel, step {i}."),
                run="r",
                sender="planner",
            )
        log.append(AIMessage("Writer: book dinner for Ines on Friday."), run="r", sender="planner")
        out = log.context("r", "writer", budget=60, query="Plan the Oslo trip")
        texts = [m.text for m in out]
        assert "Ines is allergic to peanuts." in texts
        assert texts[-1] == "Writer: book dinner for Ines on Friday."
        assert sum(log.token_counter(m) for m in out) <= 60
        # The task alone as the query (the old way) keeps the chatter instead.
        old = log.context("r", "writer", last=2, query="Plan the Oslo trip", k=1)
        assert "Ines is allergic to peanuts." not in [m.text for m in old]
        # An explicit instruction is used instead of the newest message.
        out = log.context(
            "r",
            "writer",
            budget=60,
            query="Plan the Oslo trip",
            last=1,
            instruction="Check what Ines cannot eat.",
        )
        assert "Ines is allergic to peanuts." in [m.text for m in out]
        assert log.context("r", "writer", budget=0) == []


def test_budgeted_context_without_embeddings_uses_entity_evidence(db_path: Path) -> None:
    with ConversationLog(db_path, embeddings=None) as log:
        log.append(HumanMessage("Plan the offsite."), run="r", sender="user")
        log.append(AIMessage("Remember that Marta uses a wheelchair."), run="r", sender="u")
        for i in range(6):
            log.append(AIMessage(f"offsite chatter {i}"), run="r", sender="planner")
        log.append(AIMessage("Writer: email Marta the venues."), run="r", sender="planner")
        out = log.context("r", "writer", budget=40, query="Plan the offsite.")
        assert "Remember that Marta uses a wheelchair." in [m.text for m in out]
        with pytest.raises(InvalidConfigError):
            log.relevant("r", "Marta", 1)  # plain relevance still needs an embedder


class _RemoteWordLlama(Embeddings):
    """A LangChain embedder that is not the log's local model (no ``embed_array``)."""

    def __init__(self) -> None:
        self.inner = WordLlamaEmbeddings()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


@pytest.mark.parametrize("embeddings", ["default", "remote"])
def test_budgeted_context_links_by_meaning(db_path: Path, embeddings: str) -> None:
    # No name, number or word links the instruction to the message it needs; every other
    # message restates the task. The local model aligns the instruction's words with the
    # message's ("palette" / "colour"); a remote one is given its whole-message cosine.
    emb = "default" if embeddings == "default" else _RemoteWordLlama()
    task = "Prepare the board deck for the rebrand: logo story, screenshots, pricing."
    needed = "Remember the chairman is colour-blind between red and green."
    with ConversationLog(db_path, embeddings=emb) as log:
        log.append(HumanMessage(task), run="r", sender="user")
        log.append(HumanMessage(needed), run="r", sender="user")
        for text in (
            "Draft of the board deck is in the folder.",
            "The board deck review moves to Friday.",
            "Screenshots for the board deck need a retake.",
            "Pricing slide of the board deck is done.",
            "The logo story for the board deck is approved.",
            "Budget for the board deck is fine.",
            "Status: the deck is nearly there.",
            "Designer: pick the palette for the charts so every series stays distinguishable.",
        ):
            log.append(AIMessage(text), run="r", sender="planner")
        out = log.context("r", "designer", budget=60, query=task)
        assert needed in [m.text for m in out]
        assert sum(log.token_counter(m) for m in out) <= 60
        assert bool(log._words) is (embeddings == "default")  # words embedded only locally


def test_messages_appended_without_an_embedder_are_linked_by_meaning_later(
    backend_url: str,
) -> None:
    # A process without an embedder wrote the history; a budgeted slice embeds those
    # messages when it needs them and still finds the one the instruction means.
    task = "Prepare the board deck for the rebrand: logo story, screenshots, pricing."
    needed = "Remember the chairman is colour-blind between red and green."
    with ConversationLog(backend_url, embeddings=None) as log:
        log.append(HumanMessage(task), run="r", sender="user")
        log.append(HumanMessage(needed), run="r", sender="user")
        for i in range(6):
            log.append(AIMessage(f"The board deck review, round {i}."), run="r", sender="planner")
        log.append(
            AIMessage("Designer: pick the palette for the charts so every series stays apart."),
            run="r",
            sender="planner",
        )
    with ConversationLog(backend_url) as log:
        out = log.context("r", "designer", budget=60, query=task)
        assert needed in [m.text for m in out]
        assert sum(log.token_counter(m) for m in out) <= 60


async def test_budgeted_acontext_is_the_same_slice(db_path: Path) -> None:
    with ConversationLog(db_path) as log:
        await log.aextend(
            [
                HumanMessage("Plan it."),
                AIMessage("Tanaka needs 1,200 rows."),
                *[AIMessage(f"chatter {i}") for i in range(6)],
                AIMessage("Send Tanaka 1200."),
            ],
            run="r",
            sender="planner",
        )
        options: dict[str, Any] = {"budget": 40, "query": "Plan it.", "summarize_older": True}
        sync = log.context("r", "writer", **options)
        assert [m.text for m in await log.acontext("r", "writer", **options)] == [
            m.text for m in sync
        ]


def test_change_log_and_idempotent_ids(log: ConversationLog) -> None:
    a = log.append(AIMessage("one", id="x1"), run="r", sender="planner", thread="t")
    again = log.append(AIMessage("one", id="x1"), run="r", sender="planner", thread="t")
    assert again.seq == a.seq and len(log.messages("r")) == 1
    with pytest.raises(InvalidConfigError, match="different content"):
        log.append(AIMessage("two", id="x1"), run="r", sender="planner")
    twice = log.extend([AIMessage("b", id="y"), AIMessage("b", id="y")], run="r2", sender="p")
    assert twice[0].seq == twice[1].seq and len(log.messages("r2")) == 1
    with pytest.raises(InvalidConfigError, match="different content"):
        log.extend([AIMessage("c", id="z"), AIMessage("d", id="z")], run="r2", sender="p")
    assert len(log.messages("r2")) == 1  # nothing of the refused batch was written
    secret = log.append(HumanMessage("secret"), run="r", sender="user", scope=("user", "u1"))
    with log.db.read() as conn:
        rows = conn.execute(
            "SELECT op, key, scope, author, data FROM changes WHERE kind = 'message' "
            "AND key LIKE 'r/%' ORDER BY seq"
        ).fetchall()
    assert [r[:4] for r in rows] == [
        ("append", f"r/{a.seq}", Scope.run("r").key, "planner"),
        ("append", f"r/{secret.seq}", Scope.user("u1").key, "user"),
    ]
    assert json.loads(rows[0][4])["id"] == "x1" and json.loads(rows[0][4])["thread"] == "t"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"message": "hi"}, "BaseMessage"),
        ({"run": "a.b"}, "contains '.'"),
        ({"run": ""}, "run id"),
        ({"sender": ""}, "sender"),
        ({"visibility": "secret"}, "visibility"),
        ({"visibility": "recipients"}, "at least one recipient"),
        ({"recipients": [1]}, "recipients"),
        ({"scope": ("galaxy", "x")}, "scope kind"),
        ({"message": AIMessage("x", additional_kwargs={"v": float("nan")})}, "JSON"),
        ({"message": AIMessage("x", additional_kwargs={"v": (1, 2)})}, "come back"),
        ({"message": HumanMessage("card \ud800 end")}, "lone surrogate \\\\ud800"),
        ({"message": AIMessage("ok", additional_kwargs={"k": "\udfff"})}, "not valid Unicode"),
        ({"message": HumanMessage([{"type": "text", "text": "\ud83d"}])}, "surrogate"),
        ({"sender": "bot\ud800"}, "sender"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(
    log: ConversationLog, kwargs: Any, words: str
) -> None:
    args: dict[str, Any] = {"message": AIMessage("ok"), "run": "r", "sender": "s"} | kwargs
    message = args.pop("message")
    with pytest.raises(InvalidConfigError, match=words):
        log.append(message, **args)
    assert log.messages("r") == []


def test_bad_read_arguments(log: ConversationLog) -> None:
    for call in (
        lambda: log.last("r", -1),
        lambda: log.page("r", limit=0),
        lambda: log.page("r", after=-5),
        lambda: log.within_tokens("r", 1.5),  # type: ignore[arg-type]
        lambda: log.relevant("r", 42, 3),  # type: ignore[arg-type]
        lambda: log.relevant("r", "card \ud800", 3),
        lambda: log.context("r", None, query="\udfff"),
        lambda: log.summary("r"),
        lambda: log.context("r", None, budget=-1),
        lambda: log.context("r", None, budget=True),  # type: ignore[arg-type]
        lambda: log.context("r", None, budget=10, instruction=3),  # type: ignore[arg-type]
        lambda: log.context("r", None, budget=10, role="\ud800"),
        lambda: log.context("r", None, budget=10, last=-2),
    ):
        with pytest.raises(InvalidConfigError):
            call()


def test_graph_records_turns_and_hands_out_slices(tmp_path: Path) -> None:
    """Three agents in a real graph; a recorder node persists each turn; each agent reads
    only its slice of the shared history."""
    with SharedMemory.open(tmp_path / "m.db", index=None) as mem:
        for agent in ("planner", "research", "writer"):
            mem.register_agent(agent)
        log = mem.conversation
        seen_by: dict[str, list[int]] = {}

        def agent(name: str) -> Any:
            def node(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
                context = log.context_for(config, name, last=4)
                seen_by.setdefault(name, []).append(len(context))
                return {"messages": [AIMessage(f"{name} turn {len(state['messages'])}", name=name)]}

            return node

        builder = StateGraph(MessagesState)
        for name in ("planner", "research", "writer"):
            builder.add_node(name, agent(name))
        builder.add_node("record", log.recorder())
        builder.add_edge(START, "planner")
        builder.add_edge("planner", "research")
        builder.add_edge("research", "writer")
        builder.add_edge("writer", "record")
        builder.add_edge("record", END)
        graph = builder.compile(checkpointer=mem.checkpointer)
        cfg: RunnableConfig = {"configurable": {"thread_id": "trip"}}
        graph.invoke({"messages": [HumanMessage("plan Oslo")]}, cfg)
        graph.invoke({"messages": [HumanMessage("and hotels?")]}, cfg)
        stored = list(log.iter_messages("trip"))
        state = graph.get_state(cfg).values["messages"]
        assert [s.message for s in stored] == state  # each message once, in order
        assert [s.sender for s in stored][:4] == ["user", "planner", "research", "writer"]
        assert all(s.thread == "trip" for s in stored)
        assert seen_by["planner"] == [0, 4] and seen_by["writer"] == [0, 4]


async def test_async_twins(db_path: Path) -> None:
    async def summarize(messages: list[BaseMessage], previous: str | None) -> str:
        await asyncio.sleep(0)
        return f"{len(messages)} messages"

    with ConversationLog(db_path, summarizer=summarize) as log:
        await log.aextend([HumanMessage(f"m{i}") for i in range(5)], run="r", sender="u")
        stored = await log.aappend(AIMessage("last"), run="r", sender="bot")
        assert stored.seq > 0
        assert [m.content for m in await log.alast("r", 2)] == ["m4", "last"]
        assert (await log.apage("r", limit=2)).next_cursor is not None
        assert len(await log.awithin_tokens("r", 10_000)) == 6
        assert len(await log.arelevant("r", "m3", 2)) == 2
        assert await log.asummary("r") == "6 messages"
        out = await log.acontext("r", "bot", last=1, summarize_older=True)
        assert out[0].content.endswith("5 messages") and out[-1].content == "last"
        with pytest.raises(InvalidConfigError, match="async"):
            log.summary("r", upto=1)


def test_two_processes_append_to_one_run(backend_url: str) -> None:
    n = int(40 * SCALE)
    with ConversationLog(backend_url, embeddings=None) as log:
        log.setup()
    outcomes = run_together(workers.agent_process, [(backend_url, a, n) for a in ("p1", "p2")])
    assert [o[2] for o in outcomes] == [None, None], [o[2] for o in outcomes]
    with ConversationLog(backend_url, embeddings=None) as log:
        stored = list(log.iter_messages("r1"))
    assert len(stored) == 2 * n
    assert sorted(s.seq for s in stored) == sorted(s for o in outcomes for s in o[1])
    for agent in ("p1", "p2"):  # each process's messages in the order it said them
        mine = [s.message.content for s in stored if s.sender == agent]
        assert mine == [f"{agent} says {i}" for i in range(n)]


async def test_async_graph_records_and_reads(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "m.db", index=None) as mem:
        mem.register_agent("writer")
        log = mem.conversation

        async def writer(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
            context = await log.acontext_for(config, "writer", last=2)
            return {"messages": [AIMessage(f"seen {len(context)}", name="writer")]}

        builder = StateGraph(MessagesState)
        builder.add_node("record_in", log.arecorder())
        builder.add_node("writer", writer)
        builder.add_node("record_out", log.arecorder())
        builder.add_edge(START, "record_in")
        builder.add_edge("record_in", "writer")
        builder.add_edge("writer", "record_out")
        builder.add_edge("record_out", END)
        graph = builder.compile(checkpointer=mem.checkpointer)
        cfg: RunnableConfig = {"configurable": {"thread_id": "a1"}}
        await graph.ainvoke({"messages": [HumanMessage("one")]}, cfg)
        out = await graph.ainvoke({"messages": [HumanMessage("two")]}, cfg)
        assert [m.content for m in out["messages"]] == ["one", "seen 1", "two", "seen 2"]
        assert [s.sender for s in log.iter_messages("a1")] == ["user", "writer", "user", "writer"]
