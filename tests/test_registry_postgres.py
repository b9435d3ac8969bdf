"""The registry on both backends (keyword matching where the store is not given), and on
PostgreSQL from several processes: one row per name, heartbeats that never resurrect."""

from __future__ import annotations

import math
import time

import pytest

from langgraph_sharedmem import FactLedger, Registry, Scope


def test_profiles_heartbeats_capabilities_routing_outcomes(backend_url: str) -> None:
    with Registry(backend_url, stale_after=60) as reg:
        billing = reg.register(
            "billing",
            description="Invoices, refunds and payment questions",
            capabilities=["Billing", "refunds"],
            tools=["stripe_lookup"],
            trust=0.9,
            metadata={"team": "money"},
        )
        assert billing.capabilities == ("billing", "refunds") and billing.trust == 0.9
        reg.register("search", description="Finds documents", capabilities=["search"])
        reg.register("forever", description="never stale", heartbeat_timeout=math.inf)
        assert [a.name for a in reg.find("refunds")] == ["billing"]
        assert reg.update("search", trust=0.7).trust == 0.7
        assert [a.name for a in reg.agents()] == ["billing", "forever", "search"]
        # Staleness is computed by the database from each agent's last heartbeat.
        reg.stale_after = 0.01
        time.sleep(0.05)
        assert [a.name for a in reg.stale()] == ["billing", "search"]
        reg.heartbeat("billing")
        assert [a.name for a in reg.stale()] == ["search"]
        reg.stale_after = 60
        routes = reg.route("refund my invoice", k=1)
        assert routes[0].agent.name == "billing"
        first = reg.record_outcome("billing", "refund order 42")
        assert reg.record_outcome("search", "find the contract", ok=False) == first + 1
        assert reg.retire("search") and not reg.retire("search")
        assert [a.name for a in reg.agents()] == ["billing", "forever"]
        with pytest.raises(Exception, match="retired"):
            reg.heartbeat("search")
        assert reg.register("search", description="Finds documents").retired_at is None


def test_who_knows_reads_the_ledger(backend_url: str) -> None:
    with FactLedger(backend_url) as facts:
        facts.assert_fact(Scope("app"), "order:42", "status", "paid", author="billing")
        facts.assert_fact(Scope("app"), "order:42", "total", "12", author="billing")
        with Registry(facts.db if facts.db.dialect == "sqlite" else facts.db.inner) as reg:
            reg.register("billing", description="Invoices")
            [expert] = reg.who_knows("order:42")
            assert (expert.agent, expert.facts, expert.attributes) == (
                "billing",
                2,
                ("status", "total"),
            )
            assert expert.profile is not None and expert.profile.name == "billing"
            assert reg.who_knows("order:42", attribute="total")[0].facts == 1
            assert reg.who_knows("order:42", scope="user:u1") == []
