"""`ToolCache.wrap_tool`: a LangChain tool whose calls go through the cache.

The wrapper is a `BaseTool` that keeps the wrapped tool's ``args_schema`` and injected-argument
keys, so LangChain parses its input and LangGraph's ``ToolNode`` injects state, store, tool
call id and config exactly as for the original; its ``_run``/``_arun`` then hand the same
arguments to the original's ``_run``/``_arun`` (with ``run_manager`` and ``config`` when that
method takes them, the rule `BaseTool.run` applies). Only the arguments the model gives make
the key: injected values differ per call (a tool call id, the whole graph state) and would
make every call a miss. What keeps one user's result from another is the call's scope,
applied to the config the tool is invoked with (`_scope.where`).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from langchain_core.messages import BaseMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.tools.base import (
    _get_runnable_config_param,
    _is_injected_arg_type,
    get_all_basemodel_annotations,
)
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from langgraph_sharedmem.toolcache.cache import ToolCache

__all__ = ["cached_tool", "injected_names"]


def injected_names(tool: BaseTool) -> frozenset[str]:
    """Argument names the caller injects rather than the model (left out of the key)."""
    names = set(tool._injected_args_keys)
    schema = tool.get_input_schema()
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        for name, annotation in get_all_basemodel_annotations(schema).items():
            if _is_injected_arg_type(annotation):
                names.add(name)
    return frozenset(names)


def _key_value(value: Any) -> Any:
    """Pydantic models the schema validated are keyed by their JSON form (the schema fixes
    their type, so two different inputs cannot meet); everything else is left as it is for
    the key rules to accept or refuse."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: _key_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_key_value(v) for v in value]
    return value


def _storable(value: Any) -> bool:
    """Messages and Commands name the tool call that produced them: replaying one would answer
    a later call with an earlier call's id."""
    if isinstance(value, BaseMessage):
        return False
    try:
        from langgraph.types import Command
    except ImportError:  # pragma: no cover - langgraph is a dependency
        return True
    return not isinstance(value, Command)


def _forward(method: Any, kwargs: dict[str, Any], run_manager: Any, config: Any) -> dict[str, Any]:
    from langchain_core.tools.base import _signature_parameters

    out = dict(kwargs)
    if _signature_parameters(method).get("run_manager"):
        out["run_manager"] = run_manager
    if param := _get_runnable_config_param(method):
        out[param] = config
    return out


class CachedTool(BaseTool):
    """A tool whose calls go through a `ToolCache` (made by `ToolCache.wrap_tool`)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    wrapped: BaseTool
    cache: Any
    options: dict[str, Any]
    injected: frozenset[str]

    @functools.cached_property
    def _injected_args_keys(self) -> frozenset[str]:
        return self.wrapped._injected_args_keys

    def _identify(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, Any]:
        ident: dict[str, Any] = {
            k: _key_value(v) for k, v in kwargs.items() if k not in self.injected
        }
        if args:  # a single string input of a tool without a dict schema
            ident = {"__args__": [_key_value(a) for a in args], **ident}
        scope = self.options["scope"]
        return ident, (scope(ident) if callable(scope) else scope)

    def _call_options(self, scope: Any, config: Any) -> dict[str, Any]:
        """The keyword arguments of `ToolCache.call`/`acall` for one call of this tool."""
        rest = {k: v for k, v in self.options.items() if k != "scope"}
        return {"scope": scope, "config": config, "storable": _storable, **rest}

    def _run(
        self, *args: Any, config: RunnableConfig, run_manager: Any = None, **kwargs: Any
    ) -> Any:
        ident, scope = self._identify(args, kwargs)
        inner = self.wrapped._run

        def make() -> Any:  # signatures are inspected only on a miss, not on every hit
            return inner(*args, **_forward(inner, kwargs, run_manager, config))

        cache: ToolCache = self.cache
        return cache.call(self.wrapped.name, ident, make, **self._call_options(scope, config))

    async def _arun(
        self, *args: Any, config: RunnableConfig, run_manager: Any = None, **kwargs: Any
    ) -> Any:
        ident, scope = self._identify(args, kwargs)
        inner = self.wrapped
        # The rule BaseTool.arun applies: without its own _arun a tool runs _run in a thread
        # (BaseTool._arun does that), and _run's signature says what to pass.
        uses_default = type(inner)._arun is BaseTool._arun

        def make() -> Any:  # signatures are inspected only on a miss, not on every hit
            method = inner._run if uses_default else inner._arun
            return inner._arun(*args, **_forward(method, kwargs, run_manager, config))

        cache: ToolCache = self.cache
        return await cache.acall(
            self.wrapped.name, ident, make, **self._call_options(scope, config)
        )


def cached_tool(cache: ToolCache, tool: BaseTool, options: dict[str, Any]) -> CachedTool:
    schema = tool.args_schema if tool.args_schema is not None else tool.get_input_schema()
    return CachedTool(
        name=tool.name,
        description=tool.description,
        args_schema=schema,
        return_direct=tool.return_direct,
        handle_tool_error=tool.handle_tool_error,
        handle_validation_error=tool.handle_validation_error,
        metadata=tool.metadata,
        tags=tool.tags,
        wrapped=tool,
        cache=cache,
        options=options,
        injected=injected_names(tool),
    )
