"""Filter keys read as `SqliteStore` reads them, checked against `SqliteStore` itself.

The same items and filters go through LangGraph's `SqliteStore` and ours; the keys found (or
the ``ValueError`` raised) must be the same. Keys are dotted paths into nested values, with
hyphens, leading digits, and characters no path may hold (unicode, quotes, ``$``, spaces).

Compared on equality (``{"k": v}`` and ``{"k": {"$eq": v}}``), where both stores mean
Python's ``==`` of ``value`` at the path. Known, deliberate differences, kept out of the
comparison rather than hidden:

* a key with an empty path part (``"a..b"``, ``".a"``, ``"a."``) is refused by us; SQLite
  answers it with "JSON path error" or a match on another path, depending on the data;
* ``$ne`` and the orderings follow `InMemoryStore` (``test_store_differential.py``):
  `SqliteStore`'s ``$ne`` skips items missing the key and its ``$gt`` casts text to 0.0.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from langgraph.store.sqlite import SqliteStore

from langgraph_sharedmem import InvalidConfigError, SharedMemoryStore
from langgraph_sharedmem.store import _filters
from tests._store_workers import toy_index

NS = ("app", "u1")
# Labels of stored values: path-safe ones, and ones no filter key can spell.
LABELS = ["a", "b", "user", "access-level", "123abc", "0", "x_y", "-", "é", "a.b", 'q"t', "$or"]
leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from(["ok", "nested", "1", "", "ünï", "a b"]),
)
tree = st.recursive(leaf, lambda kids: st.dictionaries(st.sampled_from(LABELS), kids, max_size=3))
values = st.lists(
    st.dictionaries(st.sampled_from(LABELS), tree, max_size=4), min_size=1, max_size=6
)
filter_key = st.one_of(
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=3).map(".".join),
    st.text(alphabet="ab-._1$ é\"'[]*", max_size=6),
)
filters = st.dictionaries(
    filter_key, st.one_of(leaf, leaf.map(lambda v: {"$eq": v})), min_size=1, max_size=2
)


def _empty_part(key: str) -> bool:
    """A key of path characters with an empty part between dots."""
    return bool(re.fullmatch(r"[a-zA-Z0-9_.-]+", key)) and "" in key.split(".")


def _path_key(key: str) -> bool:
    """A key that is a dotted path of non-empty parts of path characters."""
    return bool(re.fullmatch(r"[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*", key))


def _keys(store: Any, flt: dict[str, Any]) -> set[str] | str:
    try:
        return {r.key for r in store.search(NS, filter=flt, limit=1000)}
    except ValueError:
        return "ValueError"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=values, flt=filters)
@example(items=[{}], flt={"": None, ".": None})  # two bad keys: the first is named
@example(items=[{}], flt={"$or": None, ".": None})  # the first is refused as an operator
def test_same_matches_as_sqlite_store(items: list[dict[str, Any]], flt: dict[str, Any]) -> None:
    with SqliteStore.from_conn_string(":memory:") as theirs:
        theirs.setup()
        with SharedMemoryStore(":memory:") as ours:
            found = check_same_matches(ours, theirs, items, flt)
            if found == "ValueError":  # ours names the key, as a project error
                with pytest.raises(InvalidConfigError) as refused:
                    ours.search(NS, filter=flt)
                assert any(repr(k) in str(refused.value) for k in flt)


def check_same_matches(
    ours: SharedMemoryStore, theirs: Any, items: list[dict[str, Any]], flt: dict[str, Any]
) -> set[str] | str | None:
    """Put ``items`` in both stores; ``flt`` finds the same keys in both (returned), or ours
    refuses it naming a key that cannot be a path (None)."""
    for i, value in enumerate(items):
        theirs.put(NS, f"k{i}", value)
        ours.put(NS, f"k{i}", value)
    if any(_empty_part(k) for k in flt):
        with pytest.raises(InvalidConfigError) as refused:
            ours.search(NS, filter=flt)
        # It names a key that cannot be a path (the first, when there are several: which may
        # be refused for another reason, e.g. "$or" not holding a list of filters).
        invalid = [k for k in flt if not _path_key(k)]
        assert any(repr(k) in str(refused.value) for k in invalid), refused.value
        return None
    found = _keys(ours, flt)
    assert found == _keys(theirs, flt), (flt, items)
    return found


ISSUE_VALUE = {"user": {"access-level": "nested"}, "123abc": "ok", "plain": 1}


@pytest.mark.parametrize(
    "flt",
    [
        {"user.access-level": "nested"},
        {"123abc": "ok"},
        {"user.access-level": {"$eq": "nested"}},
        {"user.access-level": "other"},
        {"user.missing": None},
        {"plain.deeper": None},
        {"plain": 1, "123abc": "ok"},
    ],
)
def test_issue_examples_match_sqlite_store(flt: dict[str, Any]) -> None:
    with SqliteStore.from_conn_string(":memory:") as theirs, SharedMemoryStore(":memory:") as ours:
        theirs.setup()
        for store in (theirs, ours):
            store.put(NS, "k", ISSUE_VALUE)
        assert _keys(ours, flt) == _keys(theirs, flt)
        assert _keys(ours, {"user": {"access-level": "nested"}}) == {"k"}  # nested dict form


@pytest.mark.parametrize("key", ["a b", "x'); DROP TABLE store; --", "é", "$.x", "a[0]", ""])
def test_key_that_cannot_be_a_path_is_refused_by_both(key: str) -> None:
    with SqliteStore.from_conn_string(":memory:") as theirs, SharedMemoryStore(":memory:") as ours:
        theirs.setup()
        with pytest.raises(ValueError):
            theirs.search(NS, filter={key: 1})
        with pytest.raises(InvalidConfigError) as refused:
            ours.search(NS, filter={key: 1})
        assert repr(key) in str(refused.value)


def test_list_prefixes_work_where_sqlite_store_takes_them() -> None:
    with SqliteStore.from_conn_string(":memory:") as theirs, SharedMemoryStore(":memory:") as ours:
        theirs.setup()
        for store in (theirs, ours):
            store.put(("a", "b"), "k", {"x": 1})
            store.put(("a", "c"), "k", {"x": 2})
            store.put(("z",), "k", {"x": 3})
        for store in (theirs, ours):
            assert sorted(r.value["x"] for r in store.search(["a"])) == [1, 2]  # type: ignore[arg-type]
            assert [r.value["x"] for r in store.search(["a", "c"])] == [2]  # type: ignore[arg-type]
            assert store.list_namespaces(prefix=["a"]) == [("a", "b"), ("a", "c")]  # type: ignore[arg-type]
            assert store.list_namespaces(suffix=["b"]) == [("a", "b")]  # type: ignore[arg-type]
        # Where SqliteStore fails on a list (an unhashable TypeError), ours says what it wants.
        for call in (
            lambda: ours.put(["a", "b"], "k", {"x": 9}),  # type: ignore[arg-type]
            lambda: ours.get(["a", "b"], "k"),  # type: ignore[arg-type]
            lambda: ours.delete(["a", "b"], "k"),  # type: ignore[arg-type]
        ):
            with pytest.raises(ValueError, match="tuple"):
                call()
        assert ours.get(("a", "b"), "k").value == {"x": 1}


def test_embeddings_attribute_like_langgraph_stores() -> None:
    with SqliteStore.from_conn_string(":memory:") as theirs, SharedMemoryStore(":memory:") as ours:
        assert theirs.embeddings is None and ours.embeddings is None
    with SharedMemoryStore(":memory:", index=toy_index()) as ours:
        assert ours.embeddings is not None
        vector = ours.embeddings.embed_query("hello world")
        assert len(vector) == toy_index()["dims"]


def test_filters_stay_parameters(tmp_path: Any) -> None:
    """No key or value text is ever part of the SQL, only of its parameters."""
    sql, params = _filters.compile_filter(
        {"user.access-level": "x'); DROP", "a": {"$in": ["'--", 1]}, "b": {"q\"'": 2}}
    )
    for text in ("access-level", "DROP", "'--", "q\"'"):
        assert text not in sql
    assert '$."user"."access-level"' in params
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("CREATE TABLE t (value TEXT)")
    conn.execute("SELECT 1 FROM t AS i WHERE " + sql, params).fetchall()  # valid SQL
