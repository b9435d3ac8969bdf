"""Every part of `SharedMemory.open("postgresql://...")` working on one database, and the
cross-process guarantees of the parts ported last (registry, conversation) there."""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage
from langgraph.graph import END, START, MessagesState, StateGraph

from langgraph_sharedmem import ConversationLog, SharedMemory
from tests import _conversation_workers, _registry_workers
from tests._spawn import run_together


def test_every_part_on_one_postgresql_database(postgres_db: str) -> None:
    with SharedMemory.open(postgres_db, index=None) as mem:
        with mem.changes.subscribe("watch", start="earliest") as sub:
            # Registry: profiles, capabilities, heartbeats, routing, outcomes, who knows.
            mem.register_agent(
                "billing", description="Invoices and refunds", capabilities=["billing"]
            )
            mem.register_agent("support", description="Delivery and orders", trust=0.6)
            # Registered with the access rules in the same transaction.
            assert mem.registry.get("billing").retired_at is None  # type: ignore[union-attr]
            assert mem.registry.heartbeat("billing") > 0
            assert mem.registry.route("refund an invoice", k=1)[0].agent.name == "billing"
            assert mem.registry.record_outcome("billing", "refund order 42") >= 1
            before = time.time()
            time.sleep(0.01)
            mem.facts.assert_fact("app", "order:42", "status", "paid", author="billing")
            mem.facts.assert_fact("app", "order:42", "status", "refunded", author="billing")
            [expert] = mem.registry.who_knows("order:42")
            assert (expert.agent, expert.facts) == ("billing", 1)
            # As-of reads: the fact as it was before, and a run's (empty) memory then.
            then = mem.as_of(before)
            assert then.fact("app", "order:42", "status") is None
            assert mem.as_of(time.time()).fact("app", "order:42", "status").value == "refunded"  # type: ignore[union-attr]
            assert then.items("r1") == []
            # Conversation, with the access rules applied to viewers.
            log = mem.conversation
            log.append(HumanMessage("where is order 42?"), run="r1", sender="user")
            log.append(AIMessage("billing only"), run="r1", sender="billing", visibility="private")
            assert len(log.messages("r1")) == 2
            assert [m.content for m in log.messages("r1", viewer="support")] == [
                "where is order 42?"
            ]
            # Tool cache: one execution.
            calls: list[int] = []

            @mem.tool_cache.cached(scope="app")
            def lookup(order: int) -> str:
                calls.append(order)
                return "shipped"

            assert lookup(42) == lookup(42) == "shipped" and calls == [42]
            kinds = {c.kind for c in sub.poll(timeout=5)}
            assert {"agent", "fact", "message"} <= kinds
        # The checkpointer, with a graph recording its turns in the conversation.
        builder = StateGraph(MessagesState)
        builder.add_node("record", log.recorder())
        builder.add_node("reply", lambda s: {"messages": [AIMessage("ok", name="support")]})
        builder.add_edge(START, "reply")
        builder.add_edge("reply", "record")
        builder.add_edge("record", END)
        graph = builder.compile(checkpointer=mem.checkpointer)
        config: Any = {"configurable": {"thread_id": "t9"}}
        graph.invoke({"messages": [HumanMessage("hi")]}, config)
        assert [m.content for m in graph.get_state(config).values["messages"]] == ["hi", "ok"]
        assert [m.content for m in log.messages("t9")] == ["hi", "ok"]
        assert mem.as_of(config).fact("app", "order:42", "status").value == "refunded"  # type: ignore[union-attr]


def test_processes_registering_one_name_make_one_row(postgres_db: str) -> None:
    outcomes = run_together(
        _registry_workers.register_same_name, [(postgres_db, w, 3) for w in range(3)]
    )
    assert [err for _, err in outcomes if err] == []
    with SharedMemory.open(postgres_db, index=None) as mem:
        [agent] = mem.registry.agents()
        winner = int(agent.description.split()[1])
        assert agent.capabilities == ("billing", f"w{winner}")
        assert [a.name for a in mem.registry.find(f"w{winner}")] == ["shared"]
        ops = [c.op for c in mem.changes.read(after=0, kinds=["agent"])]
    assert ops[0] == "register" and ops.count("register") == 1
    assert ops.count("update") == len(ops) - 1 >= 1


def test_a_tailing_reader_misses_no_message_of_other_hosts(postgres_db: str) -> None:
    n = 60
    with ConversationLog(postgres_db, embeddings=None) as log:
        log.setup()
    outcomes = run_together(
        _conversation_workers.writer_or_tail,
        [("write", postgres_db, "p1", n), ("write", postgres_db, "p2", n)]
        + [("tail", postgres_db, "", 2 * n)],
    )
    errors = [o[2] for o in outcomes if o[2]]
    assert errors == []
    [seen] = [o[0] for o in outcomes if o[1] is None]
    written = sorted(s for o in outcomes if o[1] is not None for s in o[1])
    # In seq order, every message once: none committed behind the reader's cursor.
    assert seen == sorted(seen) == written and len(seen) == 2 * n
