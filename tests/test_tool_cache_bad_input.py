"""Arguments without a canonical form get a clear error, never a wrong cache hit."""

from __future__ import annotations

import enum
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from langgraph_sharedmem import InvalidConfigError, ToolCache
from langgraph_sharedmem.toolcache._keys import MAX_ARGS_BYTES, call_key

APP = ("app", None, None)  # the boundary of an app-scoped call: no user, no run


@pytest.fixture
def cache(backend_url: str) -> Any:
    with ToolCache(backend_url) as c:
        yield c


def test_key_ignores_dict_order() -> None:
    assert call_key("t", {"a": 1, "b": 2}, APP) == call_key("t", {"b": 2, "a": 1}, APP)


def test_one_one_point_zero_and_true_are_three_keys() -> None:
    keys = {call_key("t", {"x": v}, APP)[0] for v in (1, 1.0, True)}
    assert len(keys) == 3
    assert len({call_key("t", {"x": v}, APP)[0] for v in (0, 0.0, False, None, "0")}) == 5


def test_tool_and_scope_are_part_of_the_key() -> None:
    keys = {
        call_key("t", {}, APP)[0],
        call_key("u", {}, APP)[0],
        call_key("t", {}, ("user", "u1", None))[0],
        call_key("t", {}, ("user", "u2", None))[0],
        call_key("t", {}, ("run", "u1", "t1"))[0],
        call_key("t", {}, ("run", "u2", "t1"))[0],
        call_key("t", {}, ("run", "u1", "t2"))[0],
        call_key("t", {}, ("run", None, "t1"))[0],
    }
    assert len(keys) == 8


class Color(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (float("nan"), "NaN"),
        (float("inf"), "NaN or infinity"),
        ((1, 2), "tuple"),
        ({1, 2}, "set"),
        (b"x", "bytes"),
        (object(), "object"),
        (Color.RED, "Color"),
        ({1: "a"}, "key of type int"),
    ],
)
def test_values_without_canonical_form_are_refused(value: Any, words: str) -> None:
    with pytest.raises(InvalidConfigError, match=words) as info:
        call_key("t", {"deep": [{"x": value}]}, APP)
    assert "['deep'][0]['x']" in str(info.value)


def test_huge_and_deep_arguments_are_refused() -> None:
    with pytest.raises(InvalidConfigError, match="limit"):
        call_key("t", {"x": "a" * (MAX_ARGS_BYTES + 1)}, APP)
    deep: Any = []
    for _ in range(1000):
        deep = [deep]
    with pytest.raises(InvalidConfigError, match="nested"):
        call_key("t", deep, APP)


def test_decorated_function_with_bad_input_is_not_called(cache: ToolCache) -> None:
    runs: list[Any] = []

    @cache.cached(scope="app")
    def api(x: Any) -> Any:
        runs.append(x)
        return x

    with pytest.raises(InvalidConfigError, match="NaN"):
        api(float("nan"))
    with pytest.raises(InvalidConfigError, match="tuple"):
        api((1, 2))
    assert runs == []
    assert api(1) == 1 and api(1.0) == 1.0 and api(True) is True
    assert len(runs) == 3


def test_key_function_is_the_documented_fallback(cache: ToolCache) -> None:
    @cache.cached(key=lambda points: [list(p) for p in points], scope="app")
    def area(points: tuple[tuple[int, int], ...]) -> int:
        return len(points)

    assert area(((0, 0), (1, 1))) == area(((0, 0), (1, 1))) == 2
    assert cache.stats().hits == 1


def test_bad_options_are_refused(cache: ToolCache) -> None:
    with pytest.raises(InvalidConfigError):
        ToolCache(":memory:", default_ttl=0)
    with pytest.raises(InvalidConfigError):
        ToolCache(":memory:", lease=-1)
    with pytest.raises(InvalidConfigError, match="scope"):
        cache.call("t", {}, lambda: 1, scope="")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=300, deadline=None)
@given(json_values, json_values)
def test_different_arguments_never_share_a_key(a: Any, b: Any) -> None:
    same_key = call_key("t", a, APP)[0] == call_key("t", b, APP)[0]
    same_value = _typed(a) == _typed(b)
    assert same_key == same_value


def _typed(v: Any) -> Any:
    """Equality that tells 1, 1.0 and True apart (Python's == does not)."""
    if isinstance(v, dict):
        return ("d", sorted((k, _typed(x)) for k, x in v.items()))
    if isinstance(v, list):
        return ("l", [_typed(x) for x in v])
    return (type(v).__name__, repr(v))


def test_hit_latency_is_measured(cache: ToolCache) -> None:
    """Reports the median hit latency; timing is asserted in bench/, not here."""

    @cache.cached(scope="app")
    def api(q: str) -> dict[str, str]:
        return {"q": q}

    api("x")
    samples = []
    for _ in range(200):
        t0 = time.perf_counter()
        api("x")
        samples.append(time.perf_counter() - t0)
    samples.sort()
    print(f"median hit latency: {samples[100] * 1e6:.0f} us")
    assert cache.stats().hits == 200
