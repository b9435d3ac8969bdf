"""Migration steps are atomic: a step that fails leaves nothing behind, even when it uses
``executescript`` (which sqlite3 would otherwise run after committing the open transaction)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlite_utils.migrations import Migrations

from langgraph_sharedmem import Database


def test_a_failing_migration_step_leaves_no_table_behind(tmp_path):
    steps = Migrations("test.atomic")

    @steps(name="0001_two_tables")
    def _m0001(db):
        db.executescript(
            """
            CREATE TABLE first (id INTEGER PRIMARY KEY);
            CREATE TRIGGER first_guard BEFORE DELETE ON first BEGIN SELECT 1; END;
            CREATE TABLE second (note TEXT DEFAULT 'a;b');
            """
        )
        assert db.conn.in_transaction, "executescript must not commit the migration's transaction"
        raise RuntimeError("step fails after its DDL")

    path = tmp_path / "m.db"
    db = Database(path)
    with pytest.raises(RuntimeError, match="step fails"):
        db.migrate(steps)
    db.close()
    names = {
        name
        for (name,) in sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    }
    assert not names & {"first", "second", "first_guard"}


def test_a_script_with_semicolons_in_strings_and_triggers_applies_whole(tmp_path):
    steps = Migrations("test.script")

    @steps(name="0001_script")
    def _m0001(db):
        db.executescript(
            """
            CREATE TABLE t (note TEXT DEFAULT 'x;y');
            CREATE TABLE log (n INTEGER);
            CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log VALUES (1); END;
            """
        )

    db = Database(tmp_path / "s.db")
    db.migrate(steps)
    with db.write() as conn:
        conn.execute("INSERT INTO t DEFAULT VALUES")
    with db.read() as conn:
        assert conn.execute("SELECT note FROM t").fetchone() == ("x;y",)
        assert conn.execute("SELECT count(*) FROM log").fetchone() == (1,)
    db.close()
