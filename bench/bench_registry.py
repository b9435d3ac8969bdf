"""Benchmark the agent registry: writes, lookups and routing, against LangGraph's store.

    python bench/bench_registry.py             # 500 agents
    python bench/bench_registry.py --quick     # 60 agents, a few seconds
    python bench/bench_registry.py --agents 2000 --json out.json

Agents get descriptions from eight domains (billing, shipping, ...), each in many variants.
The same descriptions go into LangGraph's `InMemoryStore` with the same offline embedder, and
a naive supervisor that re-embeds every description per task (no index) is timed too.
Accuracy is the share of domain questions whose top agent is of that domain.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from langgraph.store.memory import InMemoryStore  # noqa: E402

from bench._stats import micros  # noqa: E402
from langgraph_sharedmem import SharedMemory, WordLlamaEmbeddings  # noqa: E402

DOMAINS = {
    "billing": (
        "Handles invoices, payment failures, refunds and subscription charges",
        "I was charged twice this month and want my money back",
    ),
    "shipping": (
        "Tracks parcels and deliveries and reschedules shipments",
        "my package has not arrived yet, where is it?",
    ),
    "research": (
        "Reads scientific papers and writes literature summaries with citations",
        "summarize recent papers on protein folding",
    ),
    "hr": (
        "Answers employee questions about holidays, payroll dates and hiring",
        "how many vacation days do new employees get?",
    ),
    "legal": (
        "Reviews contracts, clauses, liability and compliance with regulations",
        "is this non-compete clause in my contract enforceable?",
    ),
    "it": (
        "Fixes laptops, resets passwords, VPN access and software installs",
        "I cannot log in to the VPN from home",
    ),
    "travel": (
        "Books flights, hotels and trains for business trips",
        "book me a hotel in Lisbon for next week",
    ),
    "marketing": (
        "Writes campaign copy, newsletters and social media posts",
        "draft a launch announcement for our new product",
    ),
}
FLAVOURS = ["", " for enterprise customers", " in Europe", " for small shops", " in Asia"]


def timed(samples: list[float], fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, its duration appended to ``samples``."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    samples.append(time.perf_counter() - t0)
    return out


def naive_pick(emb: WordLlamaEmbeddings, texts: list[str], query: str) -> int:
    """A supervisor without an index: embed every description, take the nearest."""
    matrix = emb.embed_array(texts)
    return int(np.argmax(matrix @ emb.embed_one(query)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--json", type=Path)
    opts = parser.parse_args()
    n = 60 if opts.quick else opts.agents
    rounds = 3 if opts.quick else 20
    names = list(DOMAINS)
    agents = []
    for i in range(n):
        domain = names[i % len(names)]
        text = DOMAINS[domain][0] + FLAVOURS[(i // len(names)) % len(FLAVOURS)] + f" (desk {i})."
        agents.append((f"{domain}_{i}", domain, text, round(0.3 + 0.6 * ((i * 37) % 10) / 10, 2)))
    queries = [(d, q) for d, (_, q) in DOMAINS.items()]
    emb = WordLlamaEmbeddings()
    results: dict[str, Any] = {"agents": n}

    with tempfile.TemporaryDirectory() as tmp, SharedMemory.open(Path(tmp) / "b.db") as mem:
        reg = mem.registry
        reg.setup()
        t: dict[str, list[float]] = {
            k: [] for k in ("register", "unchanged", "update", "heartbeat", "get", "find")
        }
        for name, domain, text, trust in agents:
            profile = {"description": text, "capabilities": [domain], "trust": trust}
            timed(t["register"], reg.register, name, **profile)
        for name, domain, text, trust in agents[: min(n, 200)]:
            profile = {"description": text, "capabilities": [domain], "trust": trust}
            timed(t["unchanged"], reg.register, name, **profile)
            timed(t["update"], reg.update, name, trust=0.5)
            timed(t["heartbeat"], reg.heartbeat, name)
            timed(t["get"], reg.get, name)
            timed(t["find"], reg.find, domain)
        # The durable floor: one plain put of the same text in the same store.
        t["store_put"] = []
        for name, domain, text, _ in agents[: min(n, 200)]:
            value = {"text": text, "name": name, "capabilities": [domain]}
            timed(t["store_put"], mem.store.put, ("bench", "plain"), name, value, index=["text"])
        results.update({k: micros(v) for k, v in t.items()})

        search: list[float] = []
        route: list[float] = []
        hits = {"search": 0, "route": 0}
        for _ in range(rounds):
            for domain, query in queries:
                top = timed(search, reg.search, query, k=3)
                hits["search"] += top[0].agent.capabilities == (domain,)
                best = timed(route, reg.route, query, k=3)
                hits["route"] += best[0].agent.capabilities == (domain,)
        total = rounds * len(queries)
        results["search"] = micros(search) | {"top1_accuracy": hits["search"] / total}
        results["route"] = micros(route) | {"top1_accuracy": hits["route"] / total}

    # LangGraph's own store, same texts and embedder.
    lg = InMemoryStore(index={"dims": 256, "embed": emb, "fields": ["text"]})
    put: list[float] = []
    for name, domain, text, _ in agents:
        timed(put, lg.put, ("agents",), name, {"text": text, "domain": domain})
    lg_search: list[float] = []
    lg_hits = 0
    for _ in range(rounds):
        for domain, query in queries:
            top = timed(lg_search, lg.search, ("agents",), query=query, limit=3)
            lg_hits += top[0].value["domain"] == domain
    results["inmemorystore_put"] = micros(put)
    results["inmemorystore_search"] = micros(lg_search) | {"top1_accuracy": lg_hits / total}

    # Naive: a supervisor that embeds every description for every task.
    texts = [text for _, _, text, _ in agents]
    naive: list[float] = []
    naive_hits = 0
    for _ in range(max(1, rounds // 4)):
        for domain, query in queries:
            naive_hits += agents[timed(naive, naive_pick, emb, texts, query)][1] == domain
    results["naive_reembed"] = micros(naive) | {
        "top1_accuracy": naive_hits / (max(1, rounds // 4) * len(queries))
    }

    def ratio(a: str, b: str) -> float:
        return round(results[a]["median_us"] / results[b]["median_us"], 2)

    results["ratios"] = {
        "search / InMemoryStore search": ratio("search", "inmemorystore_search"),
        "route / InMemoryStore search": ratio("route", "inmemorystore_search"),
        "naive re-embed / route": ratio("naive_reembed", "route"),
        "register / SharedMemoryStore put": ratio("register", "store_put"),
        "register / InMemoryStore put": ratio("register", "inmemorystore_put"),
    }
    print(json.dumps(results, indent=2))
    if opts.json:
        opts.json.write_text(json.dumps({"results": results}, indent=2))


if __name__ == "__main__":
    main()
