"""Attacker: a file name built to confuse SQLite's URI parser (``#``, ``?``, ``&``, ``%``,
``mode=rwc`` fragments, spaces, unicode).

Invariant: the read-only inspector opens exactly the named file, read-only. It never creates a
file other than SQLite's own ``-wal``/``-shm`` sidecars of that file (a reader of a WAL database
needs them), never changes the file's bytes, and its connection refuses writes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_sharedmem import SharedMemorySaver
from langgraph_sharedmem.cli import Inspector, main

_TRICKS = [
    "#",
    "?",
    "&",
    "%",
    "%2F",
    "%00",
    "=",
    " ",
    "?mode=rwc&x=",
    "#frag",
    "?mode=rw",
    "&mode=memory",
    "?cache=shared",
    "%3Fmode%3Drwc",
    "é",
    "日本",
    "🙂",
    ";",
    "'",
    "+",
]

names = (
    st.lists(
        st.one_of(
            st.sampled_from(_TRICKS),
            st.text(
                st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
                min_size=1,
                max_size=4,
            ),
        ),
        min_size=1,
        max_size=6,
    )
    .map("".join)
    .filter(lambda n: n not in (".", "..") and len(n.encode()) < 200)
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "agents.db"
    with SharedMemorySaver(path) as saver:
        saver.setup()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@settings(settings.get_profile("adversarial"))
@given(name=names)
def test_cli_opens_exactly_the_named_file_read_only(
    name: str, template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    target = folder / name
    target.write_bytes(template.read_bytes())
    before = _listing(folder)
    digest = hashlib.sha256(target.read_bytes()).hexdigest()

    code = main(["stats", str(target), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["path"] == str(target)

    with Inspector(target) as ins:
        assert ins.has("checkpoints")  # it read the schema of this very file
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            ins.db.conn.execute("CREATE TABLE intruder (x)")

    created = _listing(folder) - before
    assert created <= {f"{name}-wal", f"{name}-shm"}, created
    assert _listing(folder) >= before
    assert hashlib.sha256(target.read_bytes()).hexdigest() == digest


@settings(settings.get_profile("adversarial"))
@given(name=names, prefix=st.sampled_from(["", "file:", "file:x.db?mode=ro&", "file:%2Ftmp%2F"]))
def test_a_writable_open_uses_exactly_the_named_file(
    name: str, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same names, opened writable by relative path (SQLite parses a name that starts
    with ``file:`` as a URI unless told otherwise): the file of exactly that name is
    created and written, and nothing else appears."""
    name = prefix + name
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    monkeypatch.chdir(folder)
    with SharedMemorySaver(name) as saver:
        saver.put(
            {"configurable": {"thread_id": "t", "checkpoint_ns": ""}},
            {
                "v": 4,
                "id": "1",
                "ts": "2026-01-01T00:00:00+00:00",
                "channel_values": {"x": 1},
                "channel_versions": {"x": 1},
                "versions_seen": {},
            },
            {},
            {"x": 1},
        )
    assert _listing(folder) <= {name, f"{name}-wal", f"{name}-shm"}
    with sqlite3.connect(folder / name) as conn:
        assert conn.execute("SELECT count(*) FROM checkpoints").fetchone() == (1,)
