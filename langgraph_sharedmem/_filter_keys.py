"""Filter keys as JSON paths, with the rule LangGraph's SQLite saver and store apply.

``SqliteSaver.list(filter=...)`` and ``SqliteStore.search(filter=...)`` accept a key of
letters, digits, ``_``, ``-`` and ``.``, and read it as a path: ``"user.access-level"`` is
``metadata["user"]["access-level"]``. Anything else raises ``ValueError`` naming the key. We
apply the same rule (raising `InvalidConfigError`, a ``ValueError``), and also refuse empty
path parts (``"a..b"``, ``".a"``, ``"a."``), on which SQLite either fails with "JSON path
error" or silently matches a different path, depending on the stored data.

Used by the checkpointer's metadata filter and the store's search filter; neither pastes a
key into SQL text.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph_sharedmem.errors import InvalidConfigError

_KEY = re.compile(r"[a-zA-Z0-9_.-]+")


def filter_path(key: Any) -> tuple[str, ...]:
    """The path parts of a filter key, or `InvalidConfigError` naming the key."""
    if not isinstance(key, str):
        raise InvalidConfigError(f"filter keys must be strings, got {type(key).__name__}: {key!r}")
    if not _KEY.fullmatch(key):
        raise InvalidConfigError(
            f"Invalid filter key: {key!r}. Filter keys must contain only alphanumeric "
            "characters, underscores, dots, and hyphens (a dot separates nested keys)"
        )
    parts = tuple(key.split("."))
    if "" in parts:
        raise InvalidConfigError(
            f"Invalid filter key: {key!r}. A dot separates nested keys, so it cannot start "
            "or end the key or follow another dot"
        )
    return parts


def lookup(value: Any, path: tuple[str, ...]) -> Any:
    """``value`` at ``path`` through nested dicts; None where the path does not lead."""
    for part in path:
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value
