"""The change log on PostgreSQL: numbered in commit order, so a cursor never skips a row."""

from __future__ import annotations

import psycopg
import pytest

from langgraph_sharedmem.core import changelog_pg
from langgraph_sharedmem.core.changelog import record
from langgraph_sharedmem.core.postgres import PostgresDatabase
from tests._changes_pg_workers import log_reader, log_writer
from tests._spawn import run_together


@pytest.fixture
def log_db(postgres_db: str) -> str:
    with PostgresDatabase(postgres_db) as db:
        db.migrate(changelog_pg.MIGRATIONS)
    return postgres_db


def test_record_commits_with_its_transaction(log_db: str) -> None:
    with PostgresDatabase(log_db) as db:
        with db.write() as conn:
            first = record(conn, kind="fact", op="asserted", key="acme/plan", data={"v": 1})
        with pytest.raises(KeyError), db.write() as conn:
            record(conn, kind="fact", op="asserted", key="acme/plan")
            raise KeyError("rolled back: no row")
        with db.write() as conn:
            third = record(conn, kind="fact", op="asserted", key="acme/plan", scope='["app"]')
        with db.read() as conn:
            rows = conn.execute("SELECT seq, kind, key, scope, data FROM changes").fetchall()
    assert third > first + 1  # the rolled-back number is a gap, never reused
    assert rows == [
        (first, "fact", "acme/plan", None, '{"v":1}'),
        (third, "fact", "acme/plan", '["app"]', None),
    ]


def test_a_log_writer_waits_for_the_uncommitted_one_before_it(log_db: str) -> None:
    """The second writer draws its number only once the first has committed."""
    with PostgresDatabase(log_db) as db, psycopg.connect(log_db) as other:
        with db.write() as conn:
            mine = record(conn, kind="test", op="put", key="first")
            other.execute("SET lock_timeout = '200ms'")
            with pytest.raises(psycopg.errors.LockNotAvailable):
                record(other, kind="test", op="put", key="second")
            other.rollback()
        later = record(other, kind="test", op="put", key="second")
        other.commit()
    assert later > mine


def test_a_cursor_reader_never_misses_a_row_of_concurrent_writers(log_db: str) -> None:
    """4 processes log in transactions that linger after logging; a reader follows the log
    by cursor meanwhile. It must see every committed row exactly once."""
    n = 150
    outcomes = run_together(
        _either,
        [("w", log_db, f"w{i}", n) for i in range(4)] + [("r", log_db, "", 0)],
    )
    errors = [o[2] for o in outcomes if o[2]]
    assert not errors, errors[0]
    seen = next(o[1] for o in outcomes if o[0] == "reader")
    with psycopg.connect(log_db) as conn:
        committed = [r[0] for r in conn.execute("SELECT seq FROM changes ORDER BY seq")]
    assert len(committed) == 4 * n
    assert len(seen) == len(set(seen))  # no row twice
    # The reader stopped at some point; everything committed up to its last row was seen.
    missed = [s for s in committed if s <= seen[-1] and s not in set(seen)]
    assert missed == []
    assert len(seen) > n  # it did follow the writers, not just read once at the end


def _either(role: str, url: str, name: str, n: int, barrier: object, results: object) -> None:
    if role == "w":
        log_writer(url, name, n, True, barrier, results)
    else:
        log_reader(url, 2.5, barrier, results)
