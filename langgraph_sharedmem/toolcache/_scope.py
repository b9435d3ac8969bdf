"""Whose call a cached call is: its sharing boundary and the user and run it is made for.

A result is shared only inside the boundary its call names (``docs/tool_cache.md``):

* ``"run"`` (the default): the same user and run: ``configurable.user_id`` (absent: no user,
  itself a value) and ``configurable.run_id``, else ``thread_id`` (the rule the templates use);
* ``"user"``: every run of one user (``configurable.user_id``);
* ``"app"``: everyone. Said explicitly, never a default: a tool whose answer depends on who
  asks (its injected config, state or store) would otherwise answer one user with another's.

The config is the one given to the call, else the one LangChain and LangGraph set for the
runnable being run (a graph node, a tool). A call whose boundary cannot be told (``"run"``
with no run, ``"user"`` with no user) is refused with `InvalidConfigError` before the tool
runs: failing closed, and loudly, since running uncached instead would hide the mistake.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Final, Literal

from langchain_core.runnables.config import var_child_runnable_config

from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["SCOPES", "Scope", "Where", "check", "where"]

Scope = Literal["run", "user", "app"]
SCOPES: Final = ("run", "user", "app")
Where = tuple[str, str | None, str | None]
"""``(scope, user, run)``: part of the call key; ``None`` where the scope does not look."""


def _id(value: Any, what: str, tool: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, uuid.UUID)):
        raise InvalidConfigError(
            f"cannot cache a call of {tool!r}: configurable.{what} must be a string, got "
            f"{type(value).__name__} {value!r}"
        )
    return str(value)


def check(tool: str, scope: Any) -> None:
    if not isinstance(scope, str) or scope not in SCOPES:
        raise InvalidConfigError(
            f"scope of {tool!r} must be 'run' (the default), 'user' or 'app', got {scope!r}; "
            "to keep results apart by something else, put it in the arguments"
        )


def where(tool: str, scope: Any, config: Any) -> Where:
    """The boundary of one call of ``tool``: ``scope`` applied to ``config`` (None: the
    config of the runnable being run). Refuses an unknown scope and an undeterminable one."""
    check(tool, scope)
    if scope == "app":
        return ("app", None, None)
    if config is None:
        config = var_child_runnable_config.get()
    if config is not None and not isinstance(config, Mapping):
        raise InvalidConfigError(f"config of a call of {tool!r} must be a dict, got {config!r}")
    conf = (config or {}).get("configurable") or {}
    if not isinstance(conf, Mapping):
        raise InvalidConfigError(f"config['configurable'] must be a dict, got {conf!r}")
    user = _id(conf.get("user_id"), "user_id", tool)
    if scope == "user":
        if user is None:
            raise InvalidConfigError(
                f"cannot cache a call of {tool!r} with scope='user': its config names no user "
                "(configurable.user_id), so its result could reach another user. Pass the "
                "user in the config, or scope='app' if the result is the same for everyone"
            )
        return ("user", user, None)
    run = _id(conf.get("run_id"), "run_id", tool) or _id(conf.get("thread_id"), "thread_id", tool)
    if run is None:
        raise InvalidConfigError(
            f"cannot cache a call of {tool!r} with scope='run' (the default): its config names "
            "no run (configurable.thread_id or run_id), so its result could reach another run "
            "or user. Call it inside a LangGraph run or pass config=; say scope='user' or "
            "scope='app' to share it wider"
        )
    return ("run", user, run)
