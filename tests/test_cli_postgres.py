"""The ``sharedmem`` inspector on PostgreSQL (issue 15: "the CLI reads through the parts, so it
works on both backends").

One populated memory is copied to a PostgreSQL database with ``sharedmem copy``; every
inspector command then runs on the file and on the URL and must print the same data. The URL
is opened read-only (the server refuses writes), and its password is never printed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest
from _cli_workers import populate

from langgraph_sharedmem import DatabaseFileError
from langgraph_sharedmem.cli import Inspector, copy_database, main


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> tuple[Path, str]:
    """The same memory as a SQLite file and as a PostgreSQL database."""
    path = tmp_path_factory.mktemp("cli-pg") / "agents.db"
    populate(path)
    name = "cli_inspected"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    report = copy_database(path, url)
    assert report.ok, report.tables
    return path, url


def _json(capsys: pytest.CaptureFixture[str], *args: Any) -> Any:
    code = main([*map(str, args), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_every_read_command_shows_the_same_on_both_backends(
    both: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, url = both
    history = _json(capsys, "history", path, "t-1")
    newest, older = history[0]["checkpoint_id"], history[3]["checkpoint_id"]
    commands: list[tuple[Any, ...]] = [
        ("threads",),
        ("history", "t-1"),
        ("history", "t-1", "--limit", "2"),  # the oldest shown: what changed from its parent
        ("checkpoint", "t-1"),
        ("diff", "t-1", newest),
        ("diff", "t-1", older, newest),
        ("facts",),
        ("facts", "--scope", "user:cust-7"),
        ("facts", "--status", "rejected"),
        ("fact", "user:cust-7", "order:42", "status"),
        ("disagreements", "--status", "all"),
        ("quarantine",),
        ("validations", "--run", "v-1"),
        ("agents",),
        ("agents", "--capability", "tickets"),
        ("messages",),
        ("messages", "t-1"),
        ("messages", "t-1", "--viewer", "billing"),
        ("audit",),
        ("audit", "--outcome", "denied"),
        ("changes", "--kind", "fact"),
        ("items",),
        ("items", "--prefix", "sharedmem.user"),
    ]
    for command, *args in commands:
        on_file = _json(capsys, command, path, *args)
        on_postgres = _json(capsys, command, url, *args)
        assert on_postgres == on_file, (command, *args)
        assert on_file not in ([], {}), (command, *args)  # the comparison compared something


def test_stats_and_index_status_count_the_same_rows(
    both: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, url = both
    on_file, on_postgres = _json(capsys, "stats", path), _json(capsys, "stats", url)
    for key in ("threads", "claims_by_status", "disagreements_by_status"):
        assert on_postgres[key] == on_file[key], key
    # Every table the file has is on PostgreSQL with as many rows, FTS shadows aside, and the
    # Chroma index's progress, which a copy leaves to be rebuilt there.
    shared = (on_file["tables"].keys() & on_postgres["tables"].keys()) - {"mem_index_state"}
    assert {"checkpoints", "facts", "fact_claims", "mem_items", "changes"} <= shared
    assert {t: on_postgres["tables"][t] for t in shared} == {
        t: on_file["tables"][t] for t in shared
    }
    assert on_postgres["files"]["tables_bytes"] > 0
    assert {p["part"] for p in on_postgres["parts"]} >= {"checkpoints", "store", "facts"}
    assert all(p["known_to_this_install"] for p in on_postgres["parts"]), on_postgres["parts"]
    index = _json(capsys, "index", "status", url)
    assert (
        index["dims"] == 256
        and index["vectors"] == _json(capsys, "index", "status", path)["vectors"]
    )


def test_a_read_only_url_is_refused_writes_by_the_server(both: tuple[Path, str]) -> None:
    _, url = both
    with Inspector(url) as ins:
        before = ins.stats()["tables"]
        with pytest.raises(DatabaseFileError, match="read-only"), ins.db.write() as conn:
            conn.execute("DELETE FROM facts")
        # Even a statement sent on a read connection is refused by the server itself.
        with pytest.raises(Exception, match="read-only transaction"), ins.db.read() as conn:
            conn.execute("DELETE FROM facts")
        assert ins.stats()["tables"] == before


def test_pruning_a_copy_on_postgresql_keeps_each_threads_latest(
    both: tuple[Path, str], postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = both
    name = "cli_pruned"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    url = postgres_url.rsplit("/", 1)[0] + "/" + name
    assert copy_database(path, url).ok
    latest = {t["thread_id"]: t["latest_checkpoint"] for t in _json(capsys, "threads", url)}
    code = main(["prune", url])
    capsys.readouterr()
    assert code == 0
    after = _json(capsys, "threads", url)
    assert {t["thread_id"]: t["latest_checkpoint"] for t in after} == latest
    assert all(t["checkpoints"] == 1 for t in after)


def test_a_url_without_a_memory_or_with_a_password_fails_plainly(
    postgres_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["threads", postgres_db])
    _, err = capsys.readouterr()
    assert code == 1 and "no langgraph-sharedmem schema is recorded" in err
    with_password = postgres_db.replace("postgres@", "postgres:s3cret@")
    code = main(["stats", with_password])
    _, err = capsys.readouterr()
    assert code == 1 and "s3cret" not in err and "***" in err


def test_index_rebuild_and_verify_against_a_chroma_server(
    both: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests._servers import chroma_server

    _, url = both
    assert main(["index", "verify", url]) == 1  # no file to hold an embedded index beside
    assert "--chroma-url" in capsys.readouterr().err
    vectors = _json(capsys, "index", "status", url)["vectors"]
    with chroma_server(tmp_path / "chroma") as port:
        server = f"http://127.0.0.1:{port}"
        assert _json(capsys, "index", "rebuild", url, "--chroma-url", server) == {
            "vectors": vectors
        }
        report = _json(capsys, "index", "verify", url, "--chroma-url", server)
    assert report["ok"], report
