"""LangChain tools bound to an `AgentView`, for LLM agents.

    tools = memory_tools(mem.agent("support", user_id="u1", run_id=thread_id))
    model = model.bind_tools(tools)                 # remember, recall, search, forget

Which agent, user and run a tool acts for is fixed when the tools are made; no argument the
model writes can name another. ``scope`` is an enum of the view's *own* scope kinds it could
write when the tools were made (never ids), extra arguments are refused, and every call goes
through the view, so grants changed later are still enforced (`AccessDenied` comes back to the
model as the tool's error message and is in the audit log).
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from langchain_core.tools import StructuredTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, create_model

from langgraph_sharedmem.agents.view import AgentView
from langgraph_sharedmem.errors import AccessDenied, InvalidConfigError

__all__ = ["as_tool_error", "memory_tools", "view_tool"]


def memory_tools(view: AgentView, *, search_limit: int = 5) -> list[StructuredTool]:
    """``remember``, ``recall``, ``search`` and ``forget`` tools acting through ``view``."""
    kinds = [s.kind for s in view.writable()] or ["agent"]
    default = next((k for k in ("user", "agent") if k in kinds), kinds[0])
    ScopeKinds = Literal.__getitem__(tuple(kinds))  # an enum in the JSON schema
    strict = ConfigDict(extra="forbid")
    scope_field: Any = (
        ScopeKinds,
        Field(default=default, description="where to keep it: " + ", ".join(kinds)),
    )
    RememberArgs = create_model(
        "RememberArgs",
        __config__=strict,
        content=(str, Field(description="what to remember, as a short self-contained text")),
        key=(str | None, Field(default=None, description="an id to update an existing memory")),
        scope=scope_field,
    )
    ForgetArgs = create_model(
        "ForgetArgs",
        __config__=strict,
        key=(str, Field(description="the key of the memory to delete")),
        scope=scope_field,
    )

    class RecallArgs(BaseModel):
        model_config = strict
        key: str = Field(description="the key of the memory")

    class SearchArgs(BaseModel):
        model_config = strict
        query: str = Field(description="what to look for")

    def remember(content: str, key: str | None = None, scope: Any = default) -> str:
        key = key or uuid.uuid4().hex
        kind = _kind(scope)
        as_tool_error(lambda: view.remember(key, {"content": content}, scope=kind))
        return f"remembered {key!r} in {kind} memory"

    def recall(key: str) -> str:
        item = as_tool_error(lambda: view.recall(key))
        return "not found" if item is None else json.dumps(_brief(item), ensure_ascii=False)

    def search(query: str) -> str:
        items = as_tool_error(lambda: view.search(query, limit=search_limit))
        return json.dumps([_brief(it) for it in items], ensure_ascii=False)

    def forget(key: str, scope: Any = default) -> str:
        kind = _kind(scope)
        as_tool_error(lambda: view.forget(key, scope=kind))
        return f"forgot {key!r} in {kind} memory"

    return [
        view_tool(
            remember,
            "remember",
            "Save a memory for later (facts, preferences, decisions).",
            RememberArgs,
        ),
        view_tool(recall, "recall", "Read one memory by its key.", RecallArgs),
        view_tool(search, "search_memory", "Search the memories this agent may read.", SearchArgs),
        view_tool(forget, "forget", "Delete a memory by its key.", ForgetArgs),
    ]


def view_tool(fn: Any, name: str, description: str, args_schema: Any) -> StructuredTool:
    """A tool that hands its errors (access, validation) back to the model as text."""
    return StructuredTool.from_function(
        fn,
        name=name,
        description=description,
        args_schema=args_schema,
        handle_tool_error=True,
        handle_validation_error=True,
    )


def _kind(scope: Any) -> str:
    return str(scope)


def as_tool_error(fn: Any) -> Any:
    """``fn()``, with access and input errors raised as `ToolException` so the model reads
    them as the tool's answer instead of the run failing."""
    try:
        return fn()
    except (AccessDenied, InvalidConfigError) as exc:
        raise ToolException(str(exc)) from exc


def _brief(item: Any) -> dict[str, Any]:
    out = {"key": item.key, "scope": item.namespace[1], "value": item.value}
    if getattr(item, "score", None) is not None:
        out["score"] = round(item.score, 3)
    return out
