"""Text a database cannot hold, handed to calls no name check guards first: a lone surrogate
in a tool's name or an audit filter gets `InvalidConfigError` naming the text, on both
backends, and nothing stored changes (before, the driver's raw `UnicodeEncodeError`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from langgraph_sharedmem import InvalidConfigError, SharedMemory, ToolCache

BAD = "card\ud800"

CALLS: dict[str, Callable[[SharedMemory, ToolCache], Any]] = {
    "tool cache name": lambda mem, cache: cache.call(BAD, {"q": 1}, lambda: 1, scope="app"),
    "audit agent filter": lambda mem, cache: mem.audit(agent=BAD),
    "audit user filter": lambda mem, cache: mem.audit(user=BAD),
}


@pytest.fixture
def opened(backend_url: str) -> Iterator[tuple[SharedMemory, ToolCache]]:
    with SharedMemory.open(backend_url, index=None) as mem, ToolCache(backend_url) as cache:
        mem.register_agent("reader")
        mem.register_user("u1")
        mem.access.grant_user("u1", "reader", read=True)
        cache.call("lookup", {"q": 1}, lambda: "answer", scope="app")
        yield mem, cache


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_lone_surrogate_is_refused_by_name_and_changes_nothing(
    opened: tuple[SharedMemory, ToolCache], call: str
) -> None:
    mem, cache = opened
    audit_before = len(mem.audit())
    with pytest.raises(InvalidConfigError, match="lone surrogate") as refused:
        CALLS[call](mem, cache)
    assert "card" in str(refused.value)  # the message shows the text it refuses
    assert len(mem.audit()) == audit_before
    assert cache.call("lookup", {"q": 1}, lambda: "ran again", scope="app") == "answer"
