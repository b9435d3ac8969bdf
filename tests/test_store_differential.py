"""Random operation sequences against this store and LangGraph's InMemoryStore, compared.

Known, deliberate differences, handled here rather than hidden:
* InMemoryStore keeps a namespace in ``list_namespaces`` after its last item is deleted (its
  dict of namespaces never shrinks); we list namespaces that hold items, as SqliteStore does.
  The reference answer is InMemoryStore's own listing over its non-empty namespaces.
* Orders of equal-score or unranked results are unspecified; sets are compared there.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph.store.base import ListNamespacesOp, MatchCondition
from langgraph.store.memory import InMemoryStore

from langgraph_sharedmem import SharedMemoryStore
from tests._store_workers import toy_index

NAMESPACES = [("a",), ("a", "b"), ("a", "b", "c"), ("a", "x"), ("ab",), ("z", "b")]
WORDS = ["pizza", "pasta", "dog", "cat", "tea", "chess", "INV-7", "x'; DROP", "naïve", "42"]

scalar = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(["r", "g"]))
value = st.fixed_dictionaries(
    {
        "text": st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join),
        "n": st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False).map(round)),
    },
    optional={
        "tag": scalar,
        "nested": st.fixed_dictionaries({"a": scalar}, optional={'we\'ird "key"': scalar}),
        "list": st.lists(st.integers(0, 2), max_size=2),
        'we\'ird "key"': scalar,
    },
)
filters = st.one_of(
    st.fixed_dictionaries({"tag": scalar}),
    st.fixed_dictionaries(
        {
            "n": st.fixed_dictionaries(
                {},
                optional={
                    "$gt": st.integers(-5, 5),
                    "$lte": st.integers(-5, 5),
                    "$ne": st.integers(-5, 5),
                    "$eq": st.integers(-5, 5),
                },
            )
        }
    ),
    st.fixed_dictionaries({"nested": st.fixed_dictionaries({"a": scalar})}),
    st.fixed_dictionaries({"list": st.lists(st.integers(0, 2), max_size=2)}),
    # A top-level key must be a path (SqliteStore's rule); any key is fine one level down.
    st.fixed_dictionaries({"nested": st.fixed_dictionaries({'we\'ird "key"': scalar})}),
    st.fixed_dictionaries({"tag": st.fixed_dictionaries({"$ne": scalar})}),
)
ns = st.sampled_from(NAMESPACES)
key = st.sampled_from(["k1", "k2", "k3", "it's; --"])
op = st.one_of(
    st.tuples(st.just("put"), ns, key, value),
    st.tuples(st.just("delete"), ns, key),
    st.tuples(st.just("get"), ns, key),
    st.tuples(
        st.just("search"),
        st.sampled_from([(), ("a",), ("a", "b"), ("z",)]),
        st.one_of(st.none(), filters),
    ),
    st.tuples(
        st.just("query"),
        st.sampled_from([(), ("a",)]),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join),
    ),
    st.tuples(
        st.just("list"),
        st.sampled_from([None, ("a",), ("*", "b")]),
        st.sampled_from([None, ("b",), ("c",)]),
        st.sampled_from([None, 1, 2]),
    ),
)
_files = itertools.count()


def _live_listing(mem: InMemoryStore, prefix: Any, suffix: Any, depth: Any) -> list[Any]:
    ref = InMemoryStore()
    ref._data.update({k: v for k, v in mem._data.items() if v})
    conditions = []
    if prefix:
        conditions.append(MatchCondition("prefix", prefix))
    if suffix:
        conditions.append(MatchCondition("suffix", suffix))
    return ref._handle_list_namespaces(
        ListNamespacesOp(match_conditions=tuple(conditions), max_depth=depth, limit=100)
    )


def _as_set(items: list[Any]) -> set[Any]:
    return {(i.namespace, i.key, repr(sorted(i.value.items()))) for i in items}


def _fresh(store_conn: str | Path) -> str | Path:
    """A new file per example on SQLite; on PostgreSQL the test's database, emptied by
    `_empty` (a database per example would cost more than the example)."""
    if isinstance(store_conn, Path):
        return store_conn.parent / f"diff{next(_files)}.db"
    return store_conn


def _empty(store: SharedMemoryStore) -> None:
    if store.db.dialect == "postgres":
        store.setup()
        with store.db.write() as conn:
            conn.execute("TRUNCATE mem_items, mem_vectors, mem_outbox")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_matches_in_memory_store(store_conn: str | Path, ops: list[Any]) -> None:
    mem = InMemoryStore(index=toy_index())
    with SharedMemoryStore(_fresh(store_conn), index=toy_index(hybrid=False), chroma=None) as ours:
        _empty(ours)
        for o in ops:
            kind = o[0]
            if kind == "put":
                mem.put(o[1], o[2], o[3])
                ours.put(o[1], o[2], o[3])
            elif kind == "delete":
                mem.delete(o[1], o[2])
                ours.delete(o[1], o[2])
            elif kind == "get":
                a, b = mem.get(o[1], o[2]), ours.get(o[1], o[2])
                assert (a is None) == (b is None)
                if a is not None:
                    assert (a.namespace, a.key, a.value) == (b.namespace, b.key, b.value)
            elif kind == "search":
                a = mem.search(o[1], filter=o[2], limit=1000)
                b = ours.search(o[1], filter=o[2], limit=1000)
                assert _as_set(a) == _as_set(b), (o, a, b)
            elif kind == "query":
                a = mem.search(o[1], query=o[2], limit=1000)
                b = ours.search(o[1], query=o[2], limit=1000)
                assert len(a) == len(b)
                sa = {(i.namespace, i.key): i.score for i in a}
                sb = {(i.namespace, i.key): i.score for i in b}
                assert sa.keys() == sb.keys()
                for k, score in sa.items():
                    assert (score is None) == (sb[k] is None)
                    if score is not None:
                        assert math.isclose(score, sb[k], abs_tol=1e-5)
                scored = [i.score for i in b if i.score is not None]
                assert scored == sorted(scored, reverse=True)
                assert all(i.score is None for i in b[len(scored) :])
            else:
                _, prefix, suffix, depth = o
                expected = _live_listing(mem, prefix, suffix, depth)
                got = ours.list_namespaces(prefix=prefix, suffix=suffix, max_depth=depth)
                assert got == expected


# Strings whose JSON spelling is literal (plain ASCII) and ones it escapes; placed as the
# value, as a key, inside a longer string and inside a list, so a match by spelling alone
# (the store's substring pre-test) would show up as a difference.
spelled = st.text(alphabet='ab /"\\é\n', max_size=4)
holder = st.one_of(
    spelled.map(lambda s: {"k": s}),
    spelled.map(lambda s: {s or "_": "x", "k": "other"}),
    spelled.map(lambda s: {"k": f'say "{s}"'}),
    spelled.map(lambda s: {"k": [s]}),
    spelled.map(lambda s: {"k": {"k": s}}),
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(values=st.lists(holder, min_size=1, max_size=8), wanted=spelled)
def test_string_equality_matches_in_memory_store_whatever_the_spelling(
    tmp_path_factory: Any, values: list[dict[str, Any]], wanted: str
) -> None:
    path = tmp_path_factory.mktemp("spelled") / "s.db"
    ours, ref = SharedMemoryStore(path), InMemoryStore()
    for i, v in enumerate(values):
        ours.put(("a",), str(i), v)
        ref.put(("a",), str(i), v)
    for flt in ({"k": wanted}, {"k": {"$eq": wanted}}, {"k": {"$ne": wanted}}):
        got = {r.key for r in ours.search(("a",), filter=flt, limit=100)}
        want = {r.key for r in ref.search(("a",), filter=flt, limit=100)}
        assert got == want, flt
    ours.close()
