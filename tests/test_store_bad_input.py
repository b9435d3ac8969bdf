"""Bad input gets a clear error or round-trips exactly; nothing reaches SQL text."""

from __future__ import annotations

import math
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest
from langgraph.store.base import GetOp, InvalidNamespaceError, PutOp, SearchOp

from langgraph_sharedmem import InvalidConfigError, SharedMemoryStore
from tests._store_workers import toy_index


@pytest.fixture
def store(open_store: Any) -> Any:
    with open_store(index=toy_index(), chroma=None) as s:
        yield s


@pytest.mark.parametrize(
    "namespace",
    [(), ("langgraph", "x"), ("a.b",), ("",), ("a", 1), ("nul\x00",)],
)
def test_invalid_namespaces_like_langgraph(store: SharedMemoryStore, namespace: Any) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(namespace, "k", {"v": 1})
    if namespace[:1] == ("langgraph",):
        # LangGraph reserves the root label in put/aput only; its own parts write there
        # through batch, and so may a batch here (InMemoryStore's behaviour).
        store.batch([PutOp(namespace, "k", {"v": 1})])
        assert store.get(namespace, "k") is not None
        return
    with pytest.raises(InvalidNamespaceError):
        store.batch([PutOp(namespace, "k", {"v": 1})])


def test_dotted_label_cannot_address_another_namespace(store: SharedMemoryStore) -> None:
    store.put(("foo", "bar"), "k", {"v": 1})
    for op in (GetOp(("foo.bar",), "k"), SearchOp(("foo.bar",))):
        with pytest.raises(InvalidNamespaceError):
            store.batch([op])


HOSTILE = ["x'); DROP TABLE mem_items; --", 'a"b', "semi;colon", "a$.x", "a.b[0]", "ü\n\t", "*"]


@pytest.mark.parametrize("key", HOSTILE)
def test_hostile_keys_and_filter_keys(store: SharedMemoryStore, key: str) -> None:
    store.put(("h",), key, {key: "v", "box": {key: "v"}, "text": key})
    assert store.get(("h",), key).value == {key: "v", "box": {key: "v"}, "text": key}
    # As SqliteStore: a top-level filter key is a path and refused, naming it, if it cannot
    # be one; one level down any key is matched as written.
    with pytest.raises(InvalidConfigError, match="Invalid filter key") as refused:
        store.search(("h",), filter={key: "v"})
    assert repr(key) in str(refused.value)
    assert [r.key for r in store.search(("h",), filter={"box": {key: "v"}})] == [key]
    assert store.search(("h",), filter={"box": {key: "other"}}) == []
    assert [r.key for r in store.search(("h",), filter={"box": {"$in": [{key: "v"}]}})] == [key]
    assert store.search(("h",), query=key)[0].key == key
    store.delete(("h",), key)
    assert store.get(("h",), key) is None
    with store.db.read() as conn:  # the tables are all still there
        assert conn.execute("SELECT count(*) FROM mem_items").fetchone() == (0,)
    if store.db.dialect == "sqlite":
        conn = sqlite3.connect(store.db.path)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()


@pytest.mark.parametrize(
    "flt, name",
    [
        ({"n": {"$regex": "x"}}, "$regex"),
        ({"$xor": [{"n": 1}]}, "$xor"),
        ({"$or": {"n": 1}}, "$or"),
        ({"n": {"$in": 3}}, "$in"),
        ({"n": {"$gt": [1]}}, "$gt"),
        ({"n": {"$contains": {"a": 1}}}, "$contains"),
        ({"n": object()}, "object"),
    ],
)
def test_bad_filters_name_the_problem(store: SharedMemoryStore, flt: Any, name: str) -> None:
    with pytest.raises(InvalidConfigError, match=__import__("re").escape(name)):
        store.search(("a",), filter=flt)


@pytest.mark.parametrize(
    "value, where",
    [
        ({"x": math.nan}, "['x']"),
        ({"x": [1, math.inf]}, "['x'][1]"),
        ({"x": {"y": -math.inf}}, "['x']['y']"),
        ({"x": {1: "a"}}, "['x']"),
        ({"x": (1, 2)}, "['x']"),
        ({"x": {1, 2}}, "['x']"),
        ({"x": b"bytes"}, "['x']"),
        ({"x": object()}, "['x']"),
    ],
)
def test_values_json_cannot_carry_are_refused(
    store: SharedMemoryStore, value: Any, where: str
) -> None:
    with pytest.raises(InvalidConfigError) as info:
        store.put(("v",), "k", value)
    assert where in str(info.value)
    assert store.get(("v",), "k") is None


def test_refused_batch_writes_nothing(store: SharedMemoryStore) -> None:
    with pytest.raises(InvalidConfigError):
        store.batch([PutOp(("v",), "ok", {"a": 1}), PutOp(("v",), "bad", {"a": math.nan})])
    assert store.get(("v",), "ok") is None


def test_deep_and_huge_values(store: SharedMemoryStore) -> None:
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(5000):
        cur["d"] = {}
        cur = cur["d"]
    with pytest.raises(InvalidConfigError, match="nested"):
        store.put(("v",), "deep", deep)
    with pytest.raises(InvalidConfigError, match="limit"):
        store.put(("v",), "huge", {"x": "a" * (17 * 1024 * 1024)})
    ok: dict[str, Any] = {}
    cur = ok
    for _ in range(150):
        cur["d"] = {}
        cur = cur["d"]
    store.put(("v",), "ok", ok)
    assert store.get(("v",), "ok").value == ok


def test_exact_round_trips(store: SharedMemoryStore) -> None:
    value = {
        "surrogate": "lone \ud800 here",
        "emoji": "😀",
        "nul": "a\x00b",
        "big": 2**80,
        "neg": -(2**70),
        "float": 0.1 + 0.2,
        "tiny": 5e-324,
        "unicode key ü": [None, True, False, 0, -0.0, {"": ""}],
    }
    store.put(("v",), "k", {**value, "text": "lone \ud800 text"})
    got = store.get(("v",), "k").value
    assert got == {**value, "text": "lone \ud800 text"}
    assert repr(got["float"]) == repr(0.1 + 0.2)
    assert store.search(("v",), query="lone text")[0].key == "k"
    # Without what only `json` can write (lone surrogates, ints past 64 bits), values take
    # the faster encoder: the same exact round trip, -0.0 and the last float bit included.
    common = {k: v for k, v in value.items() if k not in ("surrogate", "big", "neg")}
    common["edge"] = [2**63 - 1, -(2**63), 1e16, 1.7976931348623157e308, -0.0]
    store.put(("v",), "common", common)
    got = store.get(("v",), "common").value
    assert got == common
    assert [repr(x) for x in got["edge"]] == [repr(x) for x in common["edge"]]


def test_lone_surrogate_in_key_is_refused_clearly(store: SharedMemoryStore) -> None:
    with pytest.raises(InvalidConfigError, match="surrogate"):
        store.put(("v",), "bad\udc00", {"a": 1})


def test_namespaces_never_leak(store: SharedMemoryStore) -> None:
    store.put(("tenant", "a"), "k", {"text": "secret of a"})
    store.put(("tenant", "ab"), "k", {"text": "secret of ab"})
    store.put(("tenant", "a", "sub"), "k", {"text": "sub of a"})
    for query in (None, "secret"):
        keys = {r.namespace for r in store.search(("tenant", "a"), query=query)}
        assert keys == {("tenant", "a"), ("tenant", "a", "sub")}


def test_bad_index_config() -> None:
    with pytest.raises(InvalidConfigError, match="dims"):
        SharedMemoryStore(":memory:", index={"embed": lambda t: t})
    with pytest.raises(InvalidConfigError, match="unknown index"):
        SharedMemoryStore(":memory:", index={"dims": 3, "feilds": ["x"]})
    with pytest.raises(InvalidConfigError, match="at most 256"):
        SharedMemoryStore(":memory:", index={"dims": 1024})


def test_wrong_dims_from_embedder(tmp_path: Path) -> None:
    with (
        SharedMemoryStore(
            tmp_path / "d.db", index={"dims": 4, "embed": lambda texts: [[1.0] * 3 for _ in texts]}
        ) as s,
        pytest.raises(InvalidConfigError, match="dims=4"),
    ):
        s.put(("a",), "k", {"v": "x"})


def test_ttl_minutes_odd_values(store: SharedMemoryStore) -> None:
    # NaN was accepted and stored as "never expires" (SQLite reads NaN as NULL).
    with pytest.raises(InvalidConfigError, match="NaN"):
        store.put(("t",), "nan", {"v": 1}, ttl=math.nan)
    with pytest.raises(InvalidConfigError, match="minutes"):
        store.put(("t",), "text", {"v": 1}, ttl="5")  # type: ignore[arg-type]
    # Beyond a float (an OverflowError before), infinite or past any date: never expires,
    # and reads (which refresh the ttl) still work (PostgreSQL refused the refresh of the
    # largest float with an overflow, so the item could not be read).
    store.put(("t",), "huge", {"v": 1}, ttl=10**400)
    store.put(("t",), "inf", {"v": 1}, ttl=math.inf)
    store.put(("t",), "max", {"v": 1}, ttl=sys.float_info.max)
    # Negative the same way: expired at once (-inf was "never expires" on PostgreSQL).
    for key, ttl in (("-inf", -math.inf), ("-max", -sys.float_info.max), ("-huge", -(10**400))):
        store.put(("t",), key, {"v": 1}, ttl=ttl)
    assert {r.key for r in store.search(("t",))} == {"huge", "inf", "max"}
    for key in ("huge", "inf", "max"):
        item = store.get(("t",), key)
        assert item is not None and item.value == {"v": 1}
    for key in ("nan", "-inf", "-max", "-huge"):
        assert store.get(("t",), key) is None


@pytest.mark.parametrize("minutes", [math.nan, -1, math.inf, "5"])
def test_sweep_interval_must_be_positive_minutes(tmp_path: Path, minutes: Any) -> None:
    # NaN started a sweeper thread that could never wait; now refused, in config or call.
    with pytest.raises(InvalidConfigError, match="sweep_interval_minutes"):
        SharedMemoryStore(tmp_path / "s.db", ttl={"sweep_interval_minutes": minutes})
    with SharedMemoryStore(tmp_path / "s.db") as s, pytest.raises(InvalidConfigError):
        s.start_ttl_sweeper(minutes)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda s: s.search(("a",), limit=1.5), "limit"),
        (lambda s: s.search(("a",), limit=-1), "limit"),
        (lambda s: s.search(("a",), offset="1"), "offset"),
        (lambda s: s.search(("a",), query=5), "query"),
        (lambda s: s.list_namespaces(limit=-1), "limit"),
        (lambda s: s.list_namespaces(max_depth=1.5), "max_depth"),
        (lambda s: s.list_namespaces(prefix=("\ud800",)), "surrogate"),
    ],
)
def test_odd_counts_and_queries_are_named(store: SharedMemoryStore, call: Any, name: str) -> None:
    store.put(("a",), "k", {"text": "x"})
    with pytest.raises(InvalidConfigError, match=name):
        call(store)


def test_huge_counts_simply_work(store: SharedMemoryStore) -> None:
    store.put(("a",), "k", {"text": "x"})
    for query in (None, "x"):
        assert [r.key for r in store.search(("a",), query=query, limit=10**30)] == ["k"]
        assert store.search(("a",), query=query, offset=10**30) == []
    assert store.list_namespaces(limit=10**30) == [("a",)]


def test_a_key_with_a_nul_character_is_refused(store: SharedMemoryStore) -> None:
    # Found by tests/adversarial/test_odd_input.py: SQLite's JSON functions end text at a
    # NUL, so a later batch did not find such an item's vectors and wrote duplicate rows
    # ("constraint failed"). Refused like LangGraph refuses NUL in namespace labels.
    with pytest.raises(InvalidConfigError, match="NUL"):
        store.put(("w",), "a\x00b", {"text": "x"})
    with pytest.raises(InvalidConfigError, match="NUL"):
        store.batch([PutOp(("w",), "a\x00b", {"text": "x"})])
    assert store.search(("w",)) == []
