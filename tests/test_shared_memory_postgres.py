"""`SharedMemory.open("postgresql://...")`: the parts work together on one database."""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from langgraph_sharedmem import SharedMemory


def test_facts_tool_cache_and_changes_share_one_postgresql_database(postgres_db: str) -> None:
    with SharedMemory.open(postgres_db) as mem:
        assert mem.db.dialect == "postgres"
        with mem.changes.subscribe("audit", start="earliest") as sub:
            change = mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
            assert mem.facts.get("app", "acme", "plan").value == "pro"  # type: ignore[union-attr]
            [seen] = sub.poll(timeout=5)
            assert (seen.kind, seen.key, seen.data["version"]) == (
                "fact",
                "acme/plan",
                change.version,
            )
            # The store logs into the same change log (core.changelog_pg), in commit order.
            mem.store.put(("notes", "u1"), "n1", {"text": "refund sent"})
            [item] = sub.poll(timeout=5)
            assert (item.kind, item.op, item.key) == ("item", "put", "notes.u1/n1")
            assert item.seq > seen.seq
        calls: list[int] = []

        @mem.tool_cache.cached(scope="app")
        def square(x: int) -> int:
            calls.append(x)
            return x * x

        assert square(3) == square(3) == 9 and calls == [3]
        # The registry and the conversation on the same database, with the store's index.
        mem.register_agent("billing", description="Invoices and refunds", capabilities=["billing"])
        assert mem.registry.search("who handles invoices?", k=1)[0].agent.name == "billing"
        mem.conversation.append(HumanMessage("hi"), run="r1", sender="user")
        assert [m.content for m in mem.conversation.messages("r1")] == ["hi"]
    # Reopened: everything is still there, and the schema is not created twice.
    with SharedMemory.open(postgres_db) as mem:
        assert mem.facts.get("app", "acme", "plan").version == 1  # type: ignore[union-attr]
        assert mem.tool_cache.shared_stats().runs == 1


def test_every_part_leaves_its_pooled_connections_reusable(postgres_db: str) -> None:
    """A pooled connection with anything unread on its socket is taken for one the server
    ended and replaced. So no call may leave a reply unread: every part's calls, sync and
    async, run on the connections the pool opened for them, none reopened."""
    import asyncio

    from tests._graphs import build_chat_graph, human

    with SharedMemory.open(postgres_db) as mem:
        graph = build_chat_graph().compile(checkpointer=mem.checkpointer, store=mem.store)
        for turn in range(5):
            graph.invoke({"messages": [human(turn)]}, {"configurable": {"thread_id": "t"}})
        mem.store.put(("notes", "u1"), "n1", {"text": "refund sent"})
        assert mem.store.search(("notes", "u1"), query="refund")
        mem.facts.assert_fact("app", "acme", "plan", "pro", author="billing")
        mem.conversation.append(HumanMessage("hi"), run="r1", sender="user")
        mem.tool_cache.cached(scope="app")(abs)(-3)
        mem.changes.read(0)

        async def turns() -> None:
            for turn in range(3):
                await graph.ainvoke(
                    {"messages": [human(turn)]}, {"configurable": {"thread_id": "a"}}
                )
            await mem.store.aput(("notes", "u1"), "n2", {"text": "again"})

        asyncio.run(turns())
        stats = mem.db.pool.get_stats()  # type: ignore[attr-defined]
        assert stats["requests_num"] > 50
        assert stats["connections_num"] == stats["pool_size"], stats
