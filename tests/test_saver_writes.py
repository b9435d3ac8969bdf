"""Pending writes as LangGraph's savers keep them, now that a call's writes share a row:
regular writes keep what was stored first for (task, idx), special ones replace, and reads
order them by task path, task id, then idx. Both backends."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import empty_checkpoint

from langgraph_sharedmem import SharedMemorySaver


def _checkpoint(saver: SharedMemorySaver) -> dict[str, Any]:
    checkpoint = empty_checkpoint()
    return saver.put({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}, checkpoint, {}, {})


def _pending(saver: SharedMemorySaver, config: dict[str, Any]) -> list[tuple[str, str, Any]]:
    found = saver.get_tuple(config)  # type: ignore[arg-type]
    assert found is not None
    return list(found.pending_writes or [])


def test_a_retried_call_keeps_the_first_writes_and_adds_new_ones(
    saver: SharedMemorySaver,
) -> None:
    config = _checkpoint(saver)
    saver.put_writes(config, [("a", 1), ("b", None)], "task", "~path")  # type: ignore[arg-type]
    saver.put_writes(config, [("a", 9), ("b", 9), ("c", 3)], "task", "~path")  # type: ignore[arg-type]
    saver.put_writes(config, [("a", 8)], "task", "~path")  # type: ignore[arg-type]
    assert _pending(saver, config) == [("task", "a", 1), ("task", "b", None), ("task", "c", 3)]


def test_special_writes_replace_and_regular_ones_beside_them_stay(
    saver: SharedMemorySaver,
) -> None:
    config = _checkpoint(saver)
    saver.put_writes(config, [("__interrupt__", "first"), ("x", 1), ("y", 2)], "task")  # type: ignore[arg-type]
    saver.put_writes(config, [("__interrupt__", "second"), ("z", 3)], "task")  # type: ignore[arg-type]
    saver.put_writes(config, [("__error__", "boom")], "task")  # type: ignore[arg-type]
    # idx order: __interrupt__ (-3), __error__ (-1), then regular 1, 2 (x was written at 1).
    assert _pending(saver, config) == [
        ("task", "__interrupt__", "second"),
        ("task", "__error__", "boom"),
        ("task", "x", 1),
        ("task", "y", 2),
    ]


def test_writes_of_several_tasks_come_in_task_path_then_task_id_order(
    saver: SharedMemorySaver,
) -> None:
    config = _checkpoint(saver)
    saver.put_writes(config, [("m", "b1"), ("n", "b2")], "b-task", "~2")  # type: ignore[arg-type]
    saver.put_writes(config, [("m", "a1"), ("n", "a2"), ("o", "a3")], "a-task", "~2")  # type: ignore[arg-type]
    saver.put_writes(config, [("m", "z1")], "z-task", "~1")  # type: ignore[arg-type]
    assert _pending(saver, config) == [
        ("z-task", "m", "z1"),
        ("a-task", "m", "a1"),
        ("a-task", "n", "a2"),
        ("a-task", "o", "a3"),
        ("b-task", "m", "b1"),
        ("b-task", "n", "b2"),
    ]
    saver.copy_thread("t", "copy")
    copied = {"configurable": {**config["configurable"], "thread_id": "copy"}}
    assert _pending(saver, copied) == _pending(saver, config)
    saver.copy_thread("t", "copy")  # again: the target's writes are replaced, not doubled
    assert _pending(saver, copied) == _pending(saver, config)


def test_the_inspector_counts_every_write_of_a_shared_row(saver_conn: Any) -> None:
    from langgraph_sharedmem.cli.inspector import Inspector

    with SharedMemorySaver.from_conn_string(saver_conn) as saver:
        config = _checkpoint(saver)
        saver.put_writes(config, [("m", 1), ("n", None), ("o", 2)], "task")  # type: ignore[arg-type]
        saver.put_writes(config, [("__error__", "boom")], "task")  # type: ignore[arg-type]
    with Inspector(saver_conn) as inspector:
        [entry] = inspector.history("t")
    assert entry["writes"] == 4
