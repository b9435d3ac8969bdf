"""libpq ``key=value`` connection strings open PostgreSQL, as psycopg and LangGraph's
``PostgresSaver.from_conn_string`` take them: never a SQLite file named after the string (its
password in a file name), and its password never in a message or repr."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from langgraph_sharedmem import (
    DatabaseFileError,
    InvalidConfigError,
    SharedMemory,
    SharedMemorySaver,
    SharedMemoryStore,
    ToolCache,
)
from langgraph_sharedmem.cli import main
from langgraph_sharedmem.core.backend import is_postgres_url
from tests._cli_workers import populate


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The working directory is an empty temp dir: whatever a test creates there shows."""
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    # Nothing named after a connection string (nor a Chroma dir beside one) was created.
    assert not [p.name for p in tmp_path.iterdir() if "=" in p.name or "postgres" in p.name]


def _dsn(url: str, **extra: str) -> str:
    return make_conninfo(**conninfo_to_dict(url), **extra)


def test_shared_memory_saver_store_and_tool_cache_open_a_dsn(
    postgres_db: str, in_tmp: Path
) -> None:
    dsn = _dsn(postgres_db)
    assert dsn.startswith(("host=", "user=", "dbname=", "port=")) and "://" not in dsn
    with SharedMemory.open(postgres_db) as mem:
        mem.store.put(("users", "u1"), "prefs", {"lang": "fr"})
    with SharedMemory.open(dsn) as mem:  # the same database: it sees what the URL wrote
        assert mem.db.dialect == "postgres"
        item = mem.store.get(("users", "u1"), "prefs")
        assert item is not None and item.value == {"lang": "fr"}
    with SharedMemorySaver.from_conn_string(dsn) as saver:
        assert saver.db.dialect == "postgres"
    with SharedMemoryStore(dsn, index=None) as store:
        assert store.get(("users", "u1"), "prefs") is not None
    with ToolCache(dsn) as cache:
        assert cache.db.dialect == "postgres"


def test_a_dsn_password_is_redacted_in_reprs_and_messages(postgres_db: str, in_tmp: Path) -> None:
    # The throwaway server trusts every login: a password is accepted and ignored.
    dsn = _dsn(postgres_db, password="s3cret word")
    with SharedMemory.open(dsn) as mem:
        assert "s3cret" not in mem.db.path and "password=***" in mem.db.path
        assert "s3cret" not in repr(mem.db)
    nobody = "host=127.0.0.1 port=1 dbname=x user=u password=s3cret connect_timeout=1"
    with pytest.raises(DatabaseFileError) as refused:
        SharedMemory.open(nobody)
    assert "s3cret" not in str(refused.value) and "password=***" in str(refused.value)
    # Malformed: libpq's error, no file -- and the words it choked on are not echoed.
    with pytest.raises(InvalidConfigError) as malformed:
        SharedMemorySaver.from_conn_string("host=127.0.0.1 password=s3cret dangling")
    assert "s3cret" not in str(malformed.value) and "./name" in str(malformed.value)


def test_paths_with_an_equals_sign_stay_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    # Not starting with a libpq keyword and "=", or written as "./..." or a sqlite:/// URL.
    for path in ("run=1.db", "data/host=a.db", "./host=b.db", "sqlite:///user=c.db"):
        assert not is_postgres_url(path)
        with SharedMemory.open(path) as mem:
            assert mem.db.dialect == "sqlite"
            mem.store.put(("ns",), "k", {"v": 1})
    for name in ("run=1.db", "data/host=a.db", "host=b.db", "user=c.db"):
        assert (tmp_path / name).is_file()
    # A pathlib.Path is always a path, even one that reads like a connection string.
    assert not is_postgres_url(Path("host=d.db"))


def test_a_sqlalchemy_url_is_refused_naming_the_accepted_forms(in_tmp: Path) -> None:
    for url in ("postgresql+psycopg://app:s3cret@db-host/agents", "postgres+asyncpg://h/db"):
        with pytest.raises(InvalidConfigError) as refused:
            SharedMemory.open(url)
        message = str(refused.value)
        assert "SQLAlchemy" in message and "postgresql://" in message
        assert "libpq connection string" in message and "s3cret" not in message
    assert list(in_tmp.iterdir()) == []


def test_the_cli_refuses_a_sqlalchemy_url_without_showing_its_password(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["threads", "postgresql+psycopg://app:s3cret@db-host/agents"])
    _, err = capsys.readouterr()
    assert code == 1 and "SQLAlchemy" in err and "s3cret" not in err


def test_the_cli_reads_a_dsn_as_it_reads_the_url(
    postgres_db: str, in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    populate(postgres_db)
    shown = []
    for target in (postgres_db, _dsn(postgres_db)):
        code = main(["threads", target, "--json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        shown.append(json.loads(out))
    assert shown[0] == shown[1]
    assert {"t-1", "t-2"} <= {t["thread_id"] for t in shown[0]}
