"""Agent registry: profiles, upserts, capability and semantic lookup, staleness, routing,
retirement, who knows what, the change log and async twins — on a real file and store."""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.tools import tool

from langgraph_sharedmem import Database, InvalidConfigError, Registry, SharedMemory
from langgraph_sharedmem.registry import NAMESPACE

TEAM = {
    "finance_desk": dict(
        description="Handles invoices, payment failures, refunds and subscription charges.",
        capabilities=["billing", "refunds"],
        trust=0.9,
    ),
    "courier": dict(
        description="Tracks parcels and deliveries, reschedules shipments, updates addresses.",
        capabilities=["shipping", "order-tracking"],
        trust=0.7,
    ),
    "scholar": dict(
        description="Reads papers and web pages and writes research summaries with citations.",
        capabilities=["research"],
        trust=0.6,
    ),
    "people_ops": dict(
        description="Answers employee questions about holidays, payroll dates and hiring.",
        capabilities=["hr"],
        trust=0.5,
    ),
}


@pytest.fixture
def mem(db_path: Path) -> Iterator[SharedMemory]:
    with SharedMemory.open(db_path) as m:
        for name, profile in TEAM.items():
            m.registry.register(name, **profile)  # type: ignore[arg-type]
        yield m


@pytest.fixture
def any_mem(backend_url: str) -> Iterator[SharedMemory]:
    """`mem` on both backends."""
    with SharedMemory.open(backend_url) as m:
        for name, profile in TEAM.items():
            m.registry.register(name, **profile)  # type: ignore[arg-type]
        yield m


def _rows(path: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def _agent_changes(path: Path) -> list[tuple[str, str]]:
    return _rows(path, "SELECT op, key FROM changes WHERE kind = 'agent' ORDER BY seq")


def test_profile_round_trips_and_registers_with_access_control(db_path: Path) -> None:
    @tool
    def stripe_lookup(invoice: str) -> str:
        """Look an invoice up."""
        return invoice

    with SharedMemory.open(db_path) as mem:
        got = mem.register_agent(
            "billing",
            description="Invoices and refunds.",
            capabilities=["Billing", " refunds ", "billing"],
            tools=["ledger_query", stripe_lookup],
            endpoint="http://127.0.0.1:8123/billing",
            graph_id="billing_graph",
            owner="team-payments",
            allowed_scopes=["app", ("user", "*"), "agent:billing"],
            trust=0.8,
            version="1.4.2",
            metadata={"region": "eu", "langs": ["en", "fr"]},
        )
        assert got == mem.registry.get("billing")
        assert got.capabilities == ("billing", "refunds")
        assert got.tools == ("ledger_query", "stripe_lookup")
        assert got.allowed_scopes == ("app", "user:*", "agent:billing")
        assert (got.endpoint, got.graph_id, got.owner) == (
            "http://127.0.0.1:8123/billing",
            "billing_graph",
            "team-payments",
        )
        assert (got.trust, got.version, got.metadata) == (
            0.8,
            "1.4.2",
            {"region": "eu", "langs": ["en", "fr"]},
        )
        assert got.available and not got.retired
        # Registered with access control in the same transaction: its view works.
        view = mem.agent("billing", run_id="r1")
        view.remember("note", {"text": "hello"}, scope="agent")
        assert _rows(db_path, "SELECT id, description FROM acl_agents") == [
            ("billing", "Invoices and refunds.")
        ]
        item = mem.store.get(NAMESPACE, "billing")
        assert item is not None and "Invoices and refunds." in item.value["text"]


def test_semantic_lookup_finds_the_billing_agent(any_mem: SharedMemory) -> None:
    mem = any_mem
    assert mem.registry.semantic
    found = mem.registry.search("who can answer billing questions?", k=2)
    assert found[0].agent.name == "finance_desk"
    assert found[0].method == "semantic"
    assert found[0].score > found[1].score
    parcel = mem.registry.search("my package has not arrived yet", k=1)
    assert [m.agent.name for m in parcel] == ["courier"]
    summary = mem.registry.search("summarize recent papers on protein folding", k=1)
    assert [m.agent.name for m in summary] == ["scholar"]


def test_keyword_fallback_when_the_store_has_no_index(tmp_path: Path) -> None:
    with SharedMemory.open(tmp_path / "plain.db", index=None) as mem:
        for name, profile in TEAM.items():
            mem.register_agent(name, **profile)  # type: ignore[arg-type]
        assert not mem.registry.semantic
        found = mem.registry.search("a refund for two invoices please")
        assert [(m.agent.name, m.method) for m in found] == [("finance_desk", "keyword")]
        assert found[0].score == pytest.approx(2 / 3)  # refund, invoice; not "two"
        assert mem.registry.search("quantum chromodynamics") == []
        route = mem.registry.route("refund a payment", k=1)[0]
        assert route.name == "finance_desk"
        assert any("keyword match" in r for r in route.reasons)
    # A registry on a bare Database (no store given) matches keywords over the same rows.
    with SharedMemory.open(tmp_path / "plain.db") as mem, Registry(mem.db) as bare:
        assert not bare.semantic
        assert [m.agent.name for m in bare.search("invoice refund")] == ["finance_desk"]


def test_lookup_by_capability_is_exact_and_case_insensitive(any_mem: SharedMemory) -> None:
    mem = any_mem
    assert [a.name for a in mem.registry.find("Billing")] == ["finance_desk"]
    assert [a.name for a in mem.registry.find("order-tracking")] == ["courier"]
    assert mem.registry.find("bill") == []
    mem.registry.register("backup_billing", description="Second line.", capabilities=["billing"])
    assert [a.name for a in mem.registry.find("billing")] == ["backup_billing", "finance_desk"]


def test_registering_again_updates_the_one_row(mem: SharedMemory, db_path: Path) -> None:
    before = mem.registry.get("courier")
    assert before is not None
    time.sleep(0.01)
    after = mem.registry.register(
        "courier",
        description="Books flights and hotels for business travel.",
        capabilities=["travel"],
        trust=0.4,
    )
    assert _rows(db_path, "SELECT count(*) FROM registry_agents WHERE name='courier'") == [(1,)]
    assert _rows(db_path, "SELECT count(*) FROM acl_agents WHERE id='courier'") == [(1,)]
    assert after.registered_at == before.registered_at < after.updated_at
    assert after.capabilities == ("travel",) and after.trust == 0.4
    assert mem.registry.find("shipping") == []
    assert [a.name for a in mem.registry.find("travel")] == ["courier"]
    # The store's text moved with the row: the semantic index answers for the new profile.
    assert mem.registry.search("book me a hotel in Lisbon", k=1)[0].agent.name == "courier"
    item = mem.store.get(NAMESPACE, "courier")
    assert item is not None and "flights" in item.value["text"]
    ops = _agent_changes(db_path)
    assert ops[-1] == ("update", "courier")
    assert ops.count(("register", "courier")) == 1
    data = json.loads(
        _rows(db_path, "SELECT data FROM changes WHERE kind='agent' ORDER BY seq DESC LIMIT 1")[0][
            0
        ]
    )
    assert set(data["changed"]) == {"description", "capabilities", "trust"}

    # The same profile again is only a heartbeat: no change logged, last_seen moves.
    time.sleep(0.01)
    n = len(_agent_changes(db_path))
    again = mem.registry.register(
        "courier",
        description="Books flights and hotels for business travel.",
        capabilities=["travel"],
        trust=0.4,
    )
    assert len(_agent_changes(db_path)) == n
    assert again.last_seen > after.last_seen and again.updated_at == after.updated_at

    partial = mem.registry.update("courier", trust=0.95)
    assert (partial.trust, partial.capabilities) == (0.95, ("travel",))
    with pytest.raises(InvalidConfigError, match="unknown profile fields"):
        mem.registry.update("courier", colour="red")
    with pytest.raises(InvalidConfigError, match="unknown agent 'ghost'"):
        mem.registry.update("ghost", trust=0.1)


def test_stale_agents_are_left_out_and_reported(mem: SharedMemory, db_path: Path) -> None:
    reg = mem.registry
    reg.register("local_node", description="In-process helper.", heartbeat_timeout=math.inf)
    reg.stale_after = 0.5
    time.sleep(0.6)
    reg.heartbeat("finance_desk")
    assert [a.name for a in reg.agents()] == ["finance_desk", "local_node"]
    assert {a.name for a in reg.stale()} == {"courier", "scholar", "people_ops"}
    assert reg.find("shipping") == []
    assert [a.name for a in reg.find("shipping", include_stale=True)] == ["courier"]
    assert "courier" not in {r.name for r in reg.route("where is my parcel?", k=5)}
    assert "courier" not in {m.agent.name for m in reg.search("parcel delivery", k=5)}
    stale = reg.get("courier")
    assert stale is not None and stale.stale and not stale.available

    # A beat brings it back; only that first beat after going stale is logged.
    n = len(_agent_changes(db_path))
    reg.heartbeat("courier")
    reg.heartbeat("courier")
    assert _agent_changes(db_path)[n:] == [("heartbeat", "courier")]
    assert reg.route("where is my parcel?", k=1)[0].name == "courier"
    # A per-agent timeout overrides the registry's.
    reg.update("scholar", heartbeat_timeout=3600)
    assert "scholar" not in {a.name for a in reg.stale()}
    reg.stale_after = None
    assert reg.stale() == []
    with pytest.raises(InvalidConfigError, match="stale_after"):
        reg.stale_after = 0
    with pytest.raises(InvalidConfigError, match="unknown agent 'ghost'"):
        reg.heartbeat("ghost")


def test_route_ranks_with_scores_and_reasons(any_mem: SharedMemory) -> None:
    mem = any_mem
    reg = mem.registry
    routes = reg.route("I was charged twice, please refund one payment", k=4)
    assert routes[0].name == "finance_desk"
    assert [r.score for r in routes] == sorted((r.score for r in routes), reverse=True)
    best = routes[0]
    assert best.capability_score == 1.0  # "refund" names the refunds capability
    assert any("refunds" in r for r in best.reasons)
    assert any("cosine" in r for r in best.reasons) and any("trust 0.90" in r for r in best.reasons)
    assert all(r.capability_score == 0.0 for r in routes[1:])

    # Required capabilities filter; trust breaks what meaning cannot.
    assert [r.name for r in reg.route("anything at all", require=["research"])] == ["scholar"]
    assert reg.route("anything", require=["astrology"]) == []
    reg.register(
        "finance_junior",
        description=TEAM["finance_desk"]["description"],
        capabilities=["billing", "refunds"],
        trust=0.1,
    )  # type: ignore[arg-type]
    pair = reg.route("refund an invoice", k=2)
    assert [r.name for r in pair] == ["finance_desk", "finance_junior"]
    assert pair[0].semantic_score == pytest.approx(pair[1].semantic_score, abs=0.05)
    only_meaning = reg.route(
        "refund an invoice",
        k=2,
        weights={"alignment": 0, "hubness": 0, "capability": 0, "trust": 0},
    )
    assert all(r.score == round(r.semantic_score, 2) for r in only_meaning)
    top = pair[0].score
    assert [r.name for r in reg.route("refund an invoice", k=5, min_score=top)] == [
        r.name for r in pair if r.score >= top
    ]
    assert reg.route("refund an invoice", min_score=top + 0.01) == []


def test_retired_agents_leave_lookups_routing_and_access(mem: SharedMemory, db_path: Path) -> None:
    reg = mem.registry
    assert reg.retire("finance_desk") is True
    assert reg.retire("finance_desk") is False
    assert reg.find("billing") == []
    assert "finance_desk" not in {r.name for r in reg.route("refund my invoice", k=5)}
    assert "finance_desk" not in {a.name for a in reg.agents()}
    gone = reg.get("finance_desk")
    assert gone is not None and gone.retired
    assert mem.store.get(NAMESPACE, "finance_desk") is None
    with pytest.raises(InvalidConfigError, match="retired"):
        mem.agent("finance_desk")
    with pytest.raises(InvalidConfigError, match="retired"):
        reg.heartbeat("finance_desk")
    # Registering again brings it back everywhere, logged as a registration.
    reg.register("finance_desk", **TEAM["finance_desk"])  # type: ignore[arg-type]
    assert reg.route("refund my invoice", k=1)[0].name == "finance_desk"
    mem.agent("finance_desk")
    assert _agent_changes(db_path)[-2:] == [
        ("retire", "finance_desk"),
        ("register", "finance_desk"),
    ]
    # Retired through access control directly: the registry honours it too.
    mem.access.retire_agent("courier")
    assert reg.find("shipping") == []
    reg.register("courier", **TEAM["courier"])  # type: ignore[arg-type]
    assert [a.name for a in reg.find("shipping")] == ["courier"]


def test_who_knows_counts_authors_of_verified_facts(any_mem: SharedMemory) -> None:
    mem = any_mem
    facts = mem.facts
    order = ("user", "c7")
    facts.assert_fact(order, "order:42", "status", "shipped", author="courier")
    facts.assert_fact(order, "order:42", "status", "shipped", author="finance_desk")
    facts.assert_fact(order, "order:42", "amount", 120, author="finance_desk")
    facts.assert_fact(order, "order:42", "carrier", "DHL", author="intern", status="quarantined")
    facts.assert_fact("app", "order:42", "note", "vip", author="outsider")
    facts.assert_fact(order, "order:43", "status", "lost", author="scholar")
    experts = mem.registry.who_knows("order:42")
    assert [(e.agent, e.facts, e.attributes) for e in experts] == [
        ("finance_desk", 2, ("amount", "status")),
        ("outsider", 1, ("note",)),  # ties: the most recent source first
        ("courier", 1, ("status",)),
    ]
    assert experts[0].profile is not None and experts[0].profile.name == "finance_desk"
    assert experts[1].profile is None  # wrote a fact, never registered
    assert [e.agent for e in mem.registry.who_knows("order:42", scope="app")] == ["outsider"]
    assert [e.agent for e in mem.registry.who_knows("order:42", attribute="amount")] == [
        "finance_desk"
    ]
    # Superseded values no longer count: the author that was overruled drops out.
    facts.assert_fact(order, "order:42", "amount", 99, author="finance_desk")
    assert mem.registry.who_knows("order:42", attribute="amount")[0].facts == 1
    assert mem.registry.who_knows("nothing") == []


def test_who_knows_ignores_restatements_from_quarantine(any_mem: SharedMemory) -> None:
    mem = any_mem
    # An agent restating a verified value from quarantine joins its sources; that must not
    # make it an expert (nor win it routing's track-record tie-break).
    facts = mem.facts
    facts.assert_fact("app", "order:7", "status", "shipped", author="courier")
    facts.assert_fact("app", "order:7", "status", "shipped", author="mallory", status="quarantined")
    assert [e.agent for e in mem.registry.who_knows("order:7")] == ["courier"]


def test_who_knows_before_any_fact_exists(backend_url: str) -> None:
    with Registry(backend_url) as reg:
        assert reg.who_knows("order:1") == []


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"name": ""}, "agent name must be a non-empty string"),
        ({"name": "a.b"}, "contains '.'"),
        ({"name": 7}, "agent name must be a non-empty string"),
        ({"description": None}, "description must be a string"),
        ({"description": "x" * 9000}, "description is 9000 characters"),
        ({"capabilities": "billing"}, "capabilities must be a list of strings"),
        ({"capabilities": ["ok", ""]}, "capabilities[1] must not be empty"),
        ({"capabilities": ["ok", 3]}, "capabilities[1] must be a string"),
        ({"tools": [object()]}, "tools[0] must be a string"),
        ({"endpoint": "localhost:8000"}, "endpoint must be a URL"),
        ({"endpoint": "http://"}, "endpoint must be a URL"),
        ({"graph_id": ""}, "graph_id must not be empty"),
        ({"owner": 5}, "owner must be a string"),
        ({"allowed_scopes": "app"}, "allowed_scopes must be a list"),
        ({"allowed_scopes": ["planet:x"]}, "allowed_scopes[0]"),
        ({"allowed_scopes": [("app", "*")]}, "wildcard"),
        ({"trust": 1.5}, "trust must be in [0, 1]"),
        ({"trust": float("nan")}, "trust must be in [0, 1]"),
        ({"trust": True}, "trust must be a number"),
        ({"version": 2}, "version must be a string"),
        ({"metadata": {"x": float("inf")}}, "metadata['x']"),
        ({"metadata": [1]}, "metadata must be a dict"),
        ({"heartbeat_timeout": 0}, "heartbeat_timeout must be a number of seconds > 0"),
        ({"heartbeat_timeout": "5"}, "heartbeat_timeout"),
    ],
)
def test_bad_profiles_are_refused_and_nothing_is_written(
    mem: SharedMemory, db_path: Path, kwargs: dict, words: str
) -> None:
    tables = ("registry_agents", "registry_capabilities", "acl_agents", "changes", "mem_items")
    before = {t: _rows(db_path, f"SELECT * FROM {t}") for t in tables}
    args = {"name": "finance_desk", **TEAM["finance_desk"], **kwargs}
    with pytest.raises(InvalidConfigError) as info:
        mem.registry.register(**args)
    assert words in str(info.value)
    assert {t: _rows(db_path, f"SELECT * FROM {t}") for t in tables} == before


def test_bad_lookups_are_refused(any_mem: SharedMemory) -> None:
    mem = any_mem
    reg = mem.registry
    for call, words in [
        (lambda: reg.search(""), "query must not be empty"),
        (lambda: reg.search("x", k=0), "k must be an int >= 1"),
        (lambda: reg.route("x", weights=(1, 1)), "or three numbers"),
        (lambda: reg.route("x", weights={"trust": -1}), "weights['trust'] must be a finite"),
        (lambda: reg.route("x", weights={"trust": True}), "weights['trust'] must be a number"),
        (lambda: reg.route("x", weights={"luck": 1}), "unknown weights"),
        (lambda: reg.route("x", weights=(0, 0, 0)), "must not all equal 0"),
        (lambda: reg.route("x", min_score=float("nan")), "min_score must be a number"),
        (lambda: reg.route("x", require=[""]), "require[0] must not be empty"),
        (lambda: reg.find(""), "capability must not be empty"),
        (lambda: reg.who_knows(""), "subject must be a non-empty string"),
        (lambda: reg.who_knows("s", scope="planet:x"), "scope"),
        (lambda: reg.get("a.b"), "contains '.'"),
        (lambda: Registry(mem.db, stale_after=-1), "stale_after"),
    ]:
        with pytest.raises(InvalidConfigError) as info:
            call()
        assert words in str(info.value)


def test_a_store_on_another_database_is_refused(tmp_path: Path) -> None:
    with (
        SharedMemory.open(tmp_path / "a.db", index=None) as a,
        SharedMemory.open(tmp_path / "b.db", index=None) as b,
        pytest.raises(InvalidConfigError, match="registry's Database"),
    ):
        Registry(a.db, store=b.store)


def test_async_twins(db_path: Path) -> None:
    async def main() -> None:
        async with SharedMemory.open(db_path) as mem:
            reg = mem.registry
            await reg.aregister("finance_desk", **TEAM["finance_desk"])
            await reg.aregister("courier", **TEAM["courier"])
            await reg.aheartbeat("courier")
            assert (await reg.aget("courier")) is not None
            assert [a.name for a in await reg.afind("billing")] == ["finance_desk"]
            assert (await reg.asearch("billing question", k=1))[0].agent.name == "finance_desk"
            assert (await reg.aroute("track my parcel", k=1))[0].name == "courier"
            assert await reg.astale() == []
            assert len(await reg.aagents()) == 2
            await reg.aupdate("courier", trust=0.2)
            assert await reg.aretire("courier") is True
            mem.facts.assert_fact("app", "s", "a", 1, author="finance_desk")
            assert [e.agent for e in await reg.awho_knows("s")] == ["finance_desk"]

    asyncio.run(main())


def test_standalone_registry_opens_its_own_store(tmp_path: Path) -> None:
    path = tmp_path / "solo.db"
    with Registry(path) as reg:
        assert reg.semantic
        reg.register("finance_desk", **TEAM["finance_desk"])  # type: ignore[arg-type]
        reg.register("courier", **TEAM["courier"])  # type: ignore[arg-type]
        assert reg.search("invoice problem", k=1)[0].agent.name == "finance_desk"
    with SharedMemory.open(path) as mem:  # the same file through SharedMemory
        assert [a.name for a in mem.registry.agents()] == ["courier", "finance_desk"]
        assert mem.registry.search("invoice problem", k=1)[0].agent.name == "finance_desk"


def test_capabilities_are_named_by_words_not_by_stopwords(any_mem: SharedMemory) -> None:
    mem = any_mem
    reg = mem.registry
    reg.register("helpdesk", description="Laptops, VPN and passwords.", capabilities=["it"])
    reg.register("tracker", description="Follows orders.", capabilities=["order-tracking"])
    routes = {r.name: r for r in reg.route("where is it? please track my order", k=10)}
    assert routes["helpdesk"].capability_score == 0.0  # the pronoun does not name "it"
    assert routes["tracker"].capability_score == 1.0  # both words, any order, inflected
    assert [r.name for r in reg.route("where is it?", require=["it"])] == ["helpdesk"]


def test_a_failing_index_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    """The store's embedder fails inside the registration: the row, the access-control id
    and the change log roll back with it."""

    def embed(texts: list[str]) -> list[list[float]]:
        if any("boom" in t for t in texts):
            raise RuntimeError("embedding service down")
        return [[1.0, float(len(t)), 0.5, 0.25] for t in texts]

    path = tmp_path / "fail.db"
    with SharedMemory.open(path, index={"dims": 4, "embed": embed}) as mem:
        mem.registry.register("steady", description="Keeps working.", capabilities=["ops"])
        tables = ("registry_agents", "registry_capabilities", "acl_agents", "changes", "mem_items")
        before = {t: _rows(path, f"SELECT * FROM {t}") for t in tables}
        with pytest.raises(RuntimeError, match="embedding service down"):
            mem.registry.register("newcomer", description="boom")
        with pytest.raises(RuntimeError, match="embedding service down"):
            mem.registry.register("steady", description="boom", capabilities=["other"])
        assert {t: _rows(path, f"SELECT * FROM {t}") for t in tables} == before
        steady = mem.registry.get("steady")
        assert steady is not None and steady.capabilities == ("ops",)
        assert mem.registry.get("newcomer") is None


def test_other_processes_write_while_the_embedder_runs(tmp_path: Path) -> None:
    """A slow (remote) embedder runs before the write lock is taken: a writer on its own
    connection, with a short busy timeout, gets through meanwhile."""
    embedding = threading.Event()

    def embed(texts: list[str]) -> list[list[float]]:
        if any("slow" in t.lower() for t in texts):
            embedding.set()
            time.sleep(1.0)
        return [[1.0, float(len(t)), 0.5, 0.25] for t in texts]

    path = tmp_path / "slow.db"
    with SharedMemory.open(path, index={"dims": 4, "embed": embed}) as mem:
        other = Database(path, busy_timeout=0.2)
        for call in (
            lambda: mem.registry.register("analyst", description="A slow, careful analyst."),
            lambda: mem.registry.update("analyst", description="Slow but thorough reviews."),
        ):
            embedding.clear()
            worker = threading.Thread(target=call)
            worker.start()
            assert embedding.wait(10)
            with other.write() as conn:  # DatabaseBusyError if the lock were held
                conn.execute("CREATE TABLE IF NOT EXISTS side (n INTEGER)")
                conn.execute("INSERT INTO side VALUES (1)")
            worker.join()
        other.close()
        profile = mem.registry.get("analyst")
        assert profile is not None and profile.description == "Slow but thorough reviews."
        item = mem.store.get(NAMESPACE, "analyst")
        assert item is not None and "thorough" in item.value["text"]
