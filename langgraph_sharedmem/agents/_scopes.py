"""The one mapping from scopes to store namespaces, and the checks on the ids in them.

Pure functions, no I/O. Every memory an agent view writes lives under::

    ("sharedmem", "app",   "default", [collection])   app-wide defaults (one app per file)
    ("sharedmem", "user",  <user_id>, [collection])   one user's memory, shared by the agents
                                                      that user granted
    ("sharedmem", "agent", <agent_id>, [collection])  one agent's private memory
    ("sharedmem", "run",   <run_id>,  [collection])   one conversation or job

The shape is always (root, kind, id[, collection]), so a namespace names its scope without a
lookup and a scope is one namespace prefix: the store's prefix match is label by label, so
("sharedmem", "user", "u1") never matches ("sharedmem", "user", "u10").

Ids are labels of LangGraph namespaces: non-empty strings without "." (LangGraph forbids it),
at most `MAX_ID` characters, no control characters, and not "*" (the wildcard of scope grants).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, Literal

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import Scope
from langgraph_sharedmem.facts._values import check_name

__all__ = [
    "APP_ID",
    "KINDS",
    "ROOT",
    "ScopeKind",
    "check_id",
    "namespace",
    "scope_of",
]

ROOT: Final = "sharedmem"
APP_ID: Final = "default"
MAX_ID: Final = 256
ScopeKind = Literal["app", "user", "agent", "run"]
# Most specific first: the order recall() tries and search() breaks score ties in.
KINDS: Final[tuple[ScopeKind, ...]] = ("run", "agent", "user", "app")


def check_id(what: str, value: Any) -> str:
    """An agent, user, run or collection id, or `InvalidConfigError` naming what is wrong."""
    check_name(what, value, limit=MAX_ID)
    if "." in value:
        raise InvalidConfigError(
            f"{what} {value!r} contains '.', which LangGraph namespaces do not allow"
        )
    if value == "*":
        raise InvalidConfigError(f"{what} may not be '*' (the wildcard of scope grants)")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidConfigError(f"{what} {value!r} contains a control character")
    return value


def scope(kind: Any, ident: Any = None) -> Scope:
    """A checked `Scope`: the kind is known, the id (none for app) passes `check_id`."""
    if kind == "app":
        if ident not in (None, APP_ID):
            raise InvalidConfigError(f"the app scope takes no id, got {ident!r}")
        return Scope.app()
    if kind not in ("user", "agent", "run"):
        raise InvalidConfigError(
            f"unknown scope kind {kind!r}; expected one of 'app', 'user', 'agent', 'run'"
        )
    return Scope(kind, check_id(f"{kind} id", ident))


def as_scope(value: Any) -> Scope:
    """A `Scope`, a tuple like ("agent", "billing") or text like "agent:billing", checked."""
    if isinstance(value, Scope):
        return scope(value.kind, value.id)
    if isinstance(value, str):
        kind, colon, ident = value.partition(":")
        return scope(kind, ident if colon else None)
    if isinstance(value, Sequence) and 1 <= len(value) <= 2:
        return scope(*value)
    raise InvalidConfigError(
        f"a scope is 'app', 'user', 'agent', 'run', a tuple like ('agent', 'billing') or a "
        f"Scope; got {value!r}"
    )


def namespace(where: Scope, collection: str | None = None) -> tuple[str, ...]:
    """The store namespace of ``where`` (and of one ``collection`` inside it)."""
    base = (ROOT, where.kind, where.id if where.id is not None else APP_ID)
    return base if collection is None else (*base, check_id("collection", collection))


def scope_of(ns: Sequence[str]) -> Scope | None:
    """The scope a store namespace belongs to, or None if it is not a view's namespace."""
    if len(ns) < 3 or ns[0] != ROOT:
        return None
    try:
        return scope(ns[1], ns[2])
    except InvalidConfigError:
        return None
