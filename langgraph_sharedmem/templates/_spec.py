"""`AgentSpec`: what a template needs to know about one agent, and how models are named."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.tools import BaseTool

from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["AgentSpec", "ModelLike", "resolve_model"]

ModelLike = str | BaseChatModel
"""A chat model instance, or a name for LangChain's ``init_chat_model`` ("openai:gpt-4o")."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
_RESERVED = frozenset({"validate", "revise", "respond", "intake", "__start__", "__end__"})


@dataclass(frozen=True)
class AgentSpec:
    """One agent of a template.

    Args:
        name: Its id in the registry, the access rules and the graph (a node name).
        description: What it does; the registry and the router match tasks against it.
        prompt: Its system prompt.
        capabilities: Keywords the registry indexes ("refunds", "invoices").
        model: Its own model; default: the template's model.
        tools: Domain tools; every call goes through the shared tool cache, shared within
            the user's run (a tool already wrapped by ``mem.tool_cache.wrap_tool`` keeps its
            scope).
        user_access: What the user grants it on the user's memory: ``"none"``, ``"read"``
            or ``"write"`` (granted the first time a run sees the user).
        trust: Its rank (0 to 1) when two agents disagree about a fact (higher wins), and
            its trust in the registry.
        max_steps: Model calls per turn before it must answer.
    """

    name: str
    description: str = ""
    prompt: str = ""
    capabilities: Sequence[str] = ()
    model: ModelLike | None = None
    tools: Sequence[BaseTool] = field(default_factory=tuple)
    user_access: Literal["none", "read", "write"] = "write"
    trust: float = 0.5
    max_steps: int = 6

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise InvalidConfigError(
                f"agent name {self.name!r} must start with a letter and hold only letters, "
                "digits, '-' and '_' (at most 64)"
            )
        if self.name in _RESERVED:
            raise InvalidConfigError(f"agent name {self.name!r} is a node of the template")
        if self.user_access not in ("none", "read", "write"):
            raise InvalidConfigError(
                f"user_access of {self.name!r} must be 'none', 'read' or 'write', "
                f"got {self.user_access!r}"
            )
        if isinstance(self.max_steps, bool) or not isinstance(self.max_steps, int):
            raise InvalidConfigError(f"max_steps of {self.name!r} must be an int")
        if self.max_steps < 1:
            raise InvalidConfigError(f"max_steps of {self.name!r} must be >= 1")
        for tool in self.tools:
            if not isinstance(tool, BaseTool):
                raise InvalidConfigError(
                    f"tools of {self.name!r} must be LangChain tools, got {tool!r}"
                )
        if isinstance(self.trust, bool) or not isinstance(self.trust, int | float):
            raise InvalidConfigError(f"trust of {self.name!r} must be a number, got {self.trust!r}")
        if not 0.0 <= self.trust <= 1.0:
            raise InvalidConfigError(f"trust of {self.name!r} must be within [0, 1]")
        if isinstance(self.capabilities, str):
            raise InvalidConfigError(
                f"capabilities of {self.name!r} is a string; pass a list of keywords"
            )


def resolve_model(model: Any, what: str) -> BaseChatModel:
    """``model`` as a chat model: an instance as is, a name through ``init_chat_model``.
    Refuses a model without tool calling: the templates' agents and routers need it."""
    if isinstance(model, BaseChatModel):
        if type(model).bind_tools is BaseChatModel.bind_tools:
            raise InvalidConfigError(
                f"model of {what} ({type(model).__name__}) does not support tool calling "
                "(bind_tools); offline, use ScriptedChatModel"
            )
        return model
    if isinstance(model, str) and model:
        try:
            from langchain.chat_models import init_chat_model  # type: ignore[import-not-found]
        except ImportError as exc:
            raise InvalidConfigError(
                f"model {model!r} for {what} is a name for init_chat_model, which needs the "
                "'langchain' package and the provider's (pip install langchain "
                "langchain-openai); or pass a chat model instance"
            ) from exc
        return init_chat_model(model)  # type: ignore[no-any-return]
    raise InvalidConfigError(
        f"model of {what} must be a chat model or an init_chat_model name, got {model!r}"
    )


def with_models(agents: Sequence[AgentSpec], lead: BaseChatModel) -> list[AgentSpec]:
    """The specs with their models resolved (the template's model where a spec has none), so
    a bad model is refused before the template registers anything."""
    return [
        dataclasses.replace(a, model=lead if a.model is None else resolve_model(a.model, a.name))
        for a in agents
    ]


def check_agents(agents: Sequence[AgentSpec], what: str) -> list[AgentSpec]:
    """The specs as a list; refuses an empty team, non-specs and duplicate names."""
    agents = list(agents)
    if not agents:
        raise InvalidConfigError(f"{what} needs at least one AgentSpec")
    seen: set[str] = set()
    for spec in agents:
        if not isinstance(spec, AgentSpec):
            raise InvalidConfigError(f"{what} takes AgentSpec values, got {spec!r}")
        if spec.name in seen:
            raise InvalidConfigError(f"{what}: two agents are named {spec.name!r}")
        seen.add(spec.name)
    return agents
