"""Errors cross process boundaries (worker pools, multiprocessing queues) intact: pickling
keeps the message, the type and every keyword field."""

from __future__ import annotations

import pickle

import pytest

from langgraph_sharedmem import CachedToolError, errors


@pytest.mark.parametrize(
    "error",
    [
        errors.InvalidConfigError("bad"),
        errors.DatabaseFileError("missing"),
        errors.FactConflictError("stale", expected_version=2, current_version=3),
        errors.AccessDenied("no", agent="a", action="get", scope="user:u1"),
        errors.ToolCallWaitTimeout("slow", tool="t", waited=1.5, holder=None),
        errors.CursorExpiredError("old", name="n", cursor=4, horizon=9),
        CachedToolError("failed before", tool="t", error_type="KeyError", error_message="k"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling(error: errors.SharedMemoryError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error)
    assert {f: getattr(copy, f) for f in error._fields} == {
        f: getattr(error, f) for f in error._fields
    }
