"""The ``sharedmem`` inspector on a real database: what each command shows, read-only opening,
plain errors, pruning and index repair, and inspecting while another process writes."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import click
import pytest
from _cli_workers import keep_writing, populate
from _spawn import run_together

from langgraph_sharedmem import DatabaseFileError
from langgraph_sharedmem.cli import Inspector, cli, main

DOCS = Path(__file__).resolve().parents[1] / "docs" / "inspector.md"


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "agents.db"
    populate(path)
    return path


@pytest.fixture
def copy(populated: Path, tmp_path: Path) -> Path:
    """A private copy for tests that change the file."""
    target = tmp_path / "agents.db"
    with sqlite3.connect(populated) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    if Path(f"{populated}.chroma").exists():
        shutil.copytree(f"{populated}.chroma", f"{target}.chroma")
    return target


def run(capsys: pytest.CaptureFixture[str], *args: Any) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: pytest.CaptureFixture[str], *args: Any) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


# -- what the commands show ----------------------------------------------------------------


def test_threads_history_checkpoint_and_diff(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    threads = {t["thread_id"]: t for t in as_json(capsys, "threads", populated)}
    assert set(threads) == {"t-1", "t-2", "v-1"}
    assert threads["t-1"]["checkpoints"] == 6 and threads["t-1"]["step"] == 4

    history = as_json(capsys, "history", populated, "t-1")
    assert [h["step"] for h in history] == [4, 3, 2, 1, 0, -1]  # newest first
    assert [h["source"] for h in history][-1] == "input"
    assert "messages" in history[0]["changed"] and "turn" in history[0]["changed"]
    assert history[0]["parent_checkpoint_id"] == history[1]["checkpoint_id"]

    latest = as_json(capsys, "checkpoint", populated, "t-1")
    assert latest["checkpoint_id"] == history[0]["checkpoint_id"]
    messages = latest["values"]["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "human", "ai"]
    assert messages[-1]["content"] == "answer to where is my order?"
    assert latest["values"]["turn"] == 2

    # One id: what that step did. The answer node appended one message and a note.
    step = as_json(capsys, "diff", populated, "t-1", history[0]["checkpoint_id"])
    changes = {c["channel"]: c for c in step["changes"]}
    assert step["from"] == history[1]["checkpoint_id"]
    assert changes["messages"]["change"] == "appended"
    assert [m["content"] for m in changes["messages"]["appended"]] == [
        "answer to where is my order?"
    ]
    assert changes["turn"] == {"channel": "turn", "change": "changed", "before": 1, "after": 2}
    # Two ids: from the first turn's end to the second's.
    both = as_json(
        capsys, "diff", populated, "t-1", history[3]["checkpoint_id"], history[0]["checkpoint_id"]
    )
    appended = next(c for c in both["changes"] if c["channel"] == "messages")["appended"]
    assert [m["type"] for m in appended] == ["human", "ai"]
    assert both["unchanged"] == []


def test_facts_disagreements_quarantine_and_validations(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readers_see = as_json(capsys, "facts", populated, "--scope", "user:cust-7")
    assert [(f["attribute"], f["value"], f["status"]) for f in readers_see] == [
        ("eta", "tomorrow", "rejected"),  # nothing verified: its newest claim, marked as such
        ("status", "processing", "verified"),
    ]
    rejected = as_json(capsys, "facts", populated, "--status", "rejected")
    assert {(f["attribute"], f["value"], f["author"]) for f in rejected} == {
        ("status", "shipped", "support"),
        ("eta", "tomorrow", "support"),
    }
    assert (
        as_json(capsys, "facts", populated, "--scope", "app", "--status", "verified")[0]["value"]
        == "pro"
    )

    one = as_json(capsys, "fact", populated, "user:cust-7", "order:42", "status")
    assert one["fact"]["value"] == "processing"
    assert [(c["value"], c["status"]) for c in one["claims"]] == [
        ("processing", "verified"),
        ("shipped", "rejected"),
    ]
    assert [v["version"] for v in one["history"]] == [1, 2]

    assert as_json(capsys, "disagreements", populated) == []  # none open
    settled = as_json(capsys, "disagreements", populated, "--status", "all")
    assert len(settled) == 1 and settled[0]["status"] == "settled"
    assert settled[0]["decided_by"] == "policy:trust_ranking"

    queue = as_json(capsys, "quarantine", populated)
    assert [(q["subject"], q["attribute"], q["value"]) for q in queue] == [("acme", "seats", 12)]
    log = as_json(capsys, "validations", populated, "--run", "v-1")
    assert [(e["outcome"], e["reason"]) for e in log] == [("reject", "no source given")]


def test_agents_messages_audit_changes_items_stats(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agents = as_json(capsys, "agents", populated)
    assert {a["name"]: a["capabilities"] for a in agents} == {
        "billing": ["invoices"],
        "support": ["tickets"],
    }
    assert [a["name"] for a in as_json(capsys, "agents", populated, "--capability", "tickets")] == [
        "support"
    ]

    assert as_json(capsys, "messages", populated)[0]["run"] == "t-1"
    said = as_json(capsys, "messages", populated, "t-1")
    assert [(m["sender"], m["message"]["content"]) for m in said] == [
        ("user", "where is my order?"),
        ("support", "checking"),
        ("fulfilment", "it is processing"),
    ]

    denied = as_json(capsys, "audit", populated, "--outcome", "denied")
    assert [(d["agent"], d["action"], d["scope"]) for d in denied] == [
        ("support", "get", "user:cust-7")
    ]

    changes = as_json(capsys, "changes", populated, "--kind", "fact")
    assert changes and all(c["kind"] == "fact" for c in changes)
    assert [c["seq"] for c in changes] == sorted(c["seq"] for c in changes)

    items = as_json(capsys, "items", populated, "--prefix", "sharedmem.user")
    assert [(i["namespace"], i["key"], i["value"]) for i in items] == [
        (["sharedmem", "user", "cust-7"], "plan", {"tier": "pro"})
    ]

    stats = as_json(capsys, "stats", populated)
    assert stats["threads"] == 3
    assert stats["claims_by_status"]["quarantined"] == 1
    listed = as_json(capsys, "threads", populated)
    assert stats["tables"]["checkpoints"] == sum(t["checkpoints"] for t in listed)
    assert stats["tables"]["facts"] == 4 and stats["files"]["db"] > 0
    parts = {p["part"] for p in stats["parts"]}
    assert {"checkpoints", "store", "facts", "access", "changes"} <= parts
    assert all(p["known_to_this_install"] for p in stats["parts"]), stats["parts"]
    status = as_json(capsys, "index", "status", populated)
    assert status["dims"] == 256 and status["vectors"] == 5
    assert status["indexes"][0]["pending"] == 0


def test_tables_for_people(populated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --json every command prints a table with the values in it."""
    db = str(populated)
    expected = {
        ("threads", db): "t-1",
        ("history", db, "t-1"): "input",
        ("checkpoint", db, "t-1"): "notes",
        ("facts", db): "processing",
        ("fact", db, "app", "acme", "plan"): "billing",
        ("disagreements", db, "--status", "all"): "trust_ranking",
        ("quarantine", db): "seats",
        ("validations", db): "no source given",
        ("agents", db): "invoices",
        ("messages", db, "t-1"): "it is processing",
        ("audit", db): "denied",
        ("changes", db): "asserted",
        ("items", db): "tier",
        ("stats", db): "fact_claims",
        ("index", "status", db): "chroma",
    }
    for args, text in expected.items():
        code, out, err = run(capsys, *args)
        assert code == 0, (args, err)
        assert text in out, (args, out)


def test_every_command_has_help_and_is_documented() -> None:
    docs = DOCS.read_text()
    names: list[tuple[str, click.Command]] = []
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            names += [(f"{name} {sub}", c) for sub, c in command.commands.items()]
        else:
            names.append((name, command))
    assert len(names) >= 18
    for name, command in names:
        assert command.help and len(command.help) > 20, name
        assert re.search(rf"`sharedmem {name}\b", docs), (
            f"docs/inspector.md lacks `sharedmem {name}`"
        )


def test_console_script_is_declared() -> None:
    (script,) = entry_points(group="console_scripts", name="sharedmem")
    assert script.value == "langgraph_sharedmem.cli:run"


# -- read-only, and plain errors -----------------------------------------------------------


def test_opens_read_only_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file holding only facts: reading threads or items must not add their tables."""
    from langgraph_sharedmem import FactLedger

    path = tmp_path / "facts-only.db"
    with FactLedger(path) as ledger:
        ledger.assert_fact("app", "acme", "plan", "pro", author="billing", status="verified")
    tables = _tables(path)
    for args in (("threads",), ("items",), ("audit",), ("agents",), ("messages",), ("stats",)):
        code, out, err = run(capsys, *args, path, "--json")
        assert code == 0, err
    assert as_json(capsys, "threads", path) == []
    assert _tables(path) == tables
    with (
        Inspector(path) as ins,
        pytest.raises(DatabaseFileError, match="read-only"),
        ins.db.write(),
    ):
        pass


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}


def _fails_plainly(capsys: pytest.CaptureFixture[str], path: Path | str, *words: str) -> None:
    for args in (("stats", path), ("threads", path), ("facts", path, "--json"), ("prune", path)):
        code, out, err = run(capsys, *args)
        assert code == 1, args
        assert out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("sharedmem: error: "), err
        for word in words:
            assert word in lines[0], (word, lines[0])


def test_wrong_path_is_an_error_and_nothing_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    _fails_plainly(capsys, missing, "no such file")
    assert list(tmp_path.iterdir()) == []
    _fails_plainly(capsys, tmp_path, "directory")


def test_a_sqlite_url_names_the_file_as_everywhere_else(
    populated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`SharedMemory.open("sqlite:///agents.db")` and the inspector must name the same file."""
    threads = as_json(capsys, "threads", populated)
    assert threads and as_json(capsys, "threads", f"sqlite:///{populated}") == threads
    stats = as_json(capsys, "stats", f"sqlite:///{populated}")
    assert stats["path"] == str(populated) and stats["files"]["db"] > 0  # the file's own size
    assert stats["files"] == as_json(capsys, "stats", populated)["files"]
    missing = tmp_path / "typo.db"
    _fails_plainly(capsys, f"sqlite:///{missing}", "no such file", str(missing))
    assert list(tmp_path.iterdir()) == []


def test_non_database_files_are_refused_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.db"
    text.write_bytes(b"these are my notes, not a database\n" * 200)
    before = text.read_bytes()
    _fails_plainly(capsys, text, "not a SQLite database")
    assert text.read_bytes() == before
    empty = tmp_path / "empty.db"
    empty.touch()
    _fails_plainly(capsys, empty, "empty")
    assert empty.stat().st_size == 0
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    _fails_plainly(capsys, other, "not a langgraph-sharedmem database")
    assert _tables(other) == {"t"}


@pytest.mark.parametrize("migration_set", ["facts", "changes"])  # a part's, the core's log
def test_newer_schema_is_refused(
    copy: Path, capsys: pytest.CaptureFixture[str], migration_set: str
) -> None:
    with sqlite3.connect(copy) as conn:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
            f"VALUES ('langgraph_sharedmem.{migration_set}', '9999_from_the_future', "
            "'2099-01-01')"
        )
    _fails_plainly(capsys, copy, "newer langgraph-sharedmem", "9999_from_the_future")


def test_bad_arguments_say_what_is_wrong(
    populated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "checkpoint", populated, "t-1", "no-such-checkpoint")
    assert code == 1 and "no checkpoint 'no-such-checkpoint'" in err
    code, out, err = run(capsys, "fact", populated, "user:cust-7", "order:42", "colour")
    assert code == 1 and "no fact order:42/colour" in err
    code, out, err = run(capsys, "facts", populated, "--scope", "planet:mars")
    assert code == 1 and err.startswith("sharedmem: error:") and "mars" not in out
    code, out, err = run(capsys, "facts", populated, "--status", "maybe")
    assert code == 2 and "maybe" in err  # click's usage error


# -- commands that change the file ---------------------------------------------------------


def test_prune_keeps_the_latest_checkpoint(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dry = as_json(capsys, "prune", copy, "--dry-run", "--thread", "t-1")
    assert dry["threads"] == 1 and dry["checkpoints"] == 6
    assert {t["thread_id"]: t["checkpoints"] for t in as_json(capsys, "threads", copy)}["t-1"] == 6

    latest = as_json(capsys, "checkpoint", copy, "t-1")
    done = as_json(capsys, "prune", copy, "--thread", "t-1")
    assert done["threads"] == 1
    counts = {t["thread_id"]: t["checkpoints"] for t in as_json(capsys, "threads", copy)}
    assert counts == {"t-1": 1, "t-2": 6, "v-1": counts["v-1"]}
    assert as_json(capsys, "checkpoint", copy, "t-1")["values"] == latest["values"]

    code, out, err = run(capsys, "prune", copy, "--strategy", "delete")
    assert code == 0, err
    assert as_json(capsys, "threads", copy) == []


def test_index_verify_and_rebuild(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = as_json(capsys, "index", "verify", copy)
    assert report["ok"] and report["checked"] == 5
    shutil.rmtree(f"{copy}.chroma")  # lose the index: verify finds every vector missing
    code, out, err = run(capsys, "index", "verify", copy, "--json")
    assert code == 1 and len(json.loads(out)["missing"]) == 5
    assert "index rebuild" in err
    assert as_json(capsys, "index", "rebuild", copy) == {"vectors": 5}
    assert as_json(capsys, "index", "verify", copy)["ok"]


# -- another process writing ---------------------------------------------------------------


def test_inspects_a_database_another_process_is_writing(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outcome: list[Any] = []
    writer = threading.Thread(
        target=lambda: outcome.extend(run_together(keep_writing, [(str(copy), 3.0)]))
    )
    writer.start()
    seen: list[int] = []
    counter: list[int] = []
    try:
        while writer.is_alive():
            threads = as_json(capsys, "threads", copy)
            seen.append(sum(t["checkpoints"] for t in threads))
            facts = as_json(capsys, "facts", copy, "--scope", "app", "--attribute", "value")
            counter.extend(f["value"] for f in facts)
            for args in (("stats",), ("changes", "--limit", "5"), ("history", "w-0")):
                code, out, err = run(capsys, args[0], copy, *args[1:], "--json")
                assert code == 0, (args, err)
            time.sleep(0.05)
    finally:
        writer.join()
    ((status, turns),) = outcome
    assert status == "ok" and turns > 0, outcome
    assert seen == sorted(seen)  # never a step back: every read is one consistent snapshot
    assert len(set(seen)) > 1, "no inspection ran while the writer was writing"
    assert counter == sorted(counter)
    # Each writer turn adds three checkpoints (input, start, answer) to one of its threads.
    by_thread = {t["thread_id"]: t["checkpoints"] for t in as_json(capsys, "threads", copy)}
    assert sum(by_thread.get(f"w-{i}", 0) for i in range(3)) == 3 * turns
    assert counter[-1] <= turns - 1


def test_studio_threads_lists_only_uuid_threads(
    copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "project"
    out = as_json(capsys, "studio-threads", copy, "--graph", "memory_agent", "--project", project)
    assert out["added"] == [] and sorted(out["skipped"]) == ["t-1", "t-2", "v-1"]
    copied = as_json(
        capsys,
        "studio-threads",
        copy,
        "--graph",
        "memory_agent",
        "--project",
        project,
        "--thread",
        "t-1",
        "--copy-non-uuid",
    )
    assert list(copied["copied"]) == ["t-1"] and copied["added"] == [copied["copied"]["t-1"]]
    assert (project / ".langgraph_api" / ".langgraph_ops.pckl").exists()


def test_viewer_reads_need_no_write_access(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`messages --viewer` applies the agent's grants on a read-only open and records
    nothing: the person inspecting is not the agent."""
    with sqlite3.connect(copy) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        audit_rows = conn.execute("SELECT count(*) FROM acl_audit").fetchone()[0]
    before = copy.read_bytes()
    seen = as_json(capsys, "messages", copy, "t-1", "--viewer", "billing")
    assert [m["message"]["content"] for m in seen] == [
        "where is my order?",
        "checking",
        "it is processing",
    ]
    code, out, err = run(capsys, "messages", copy, "t-1", "--viewer", "nobody")
    assert code == 1 and "unknown agent 'nobody'" in err
    assert copy.read_bytes() == before
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM acl_audit").fetchone()[0] == audit_rows
