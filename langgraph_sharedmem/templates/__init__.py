"""Prebuilt multi-agent graphs wired to one `SharedMemory`.

    from langgraph_sharedmem.templates import customer_service_team

    builder = customer_service_team(mem, "openai:gpt-4o", tools=[lookup_order])
    graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)

- `supervisor_team`: a supervisor routes through the registry to specialists with scoped
  memory; a validation checkpoint stands before the final answer.
- `research_pipeline`: research -> draft -> edit, a validation checkpoint after each stage.
- `customer_service_team`: billing, support and account behind a triage supervisor, with
  user-shared and agent-private memory.

Each takes a model (a chat model or an ``init_chat_model`` name) and `AgentSpec`s and returns
an uncompiled `StateGraph` over `TeamState` (``compile=True``: compiled with the memory's
checkpointer and store). `ScriptedChatModel` runs them offline.
"""

from langgraph_sharedmem.templates._scripted import ScriptedChatModel, tool_call
from langgraph_sharedmem.templates._spec import AgentSpec, ModelLike
from langgraph_sharedmem.templates._state import TeamState
from langgraph_sharedmem.templates._tools import fact_tools
from langgraph_sharedmem.templates.pipeline import PIPELINE_AGENTS, research_pipeline
from langgraph_sharedmem.templates.team import (
    CUSTOMER_SERVICE_AGENTS,
    customer_service_team,
    supervisor_team,
)

__all__ = [
    "CUSTOMER_SERVICE_AGENTS",
    "PIPELINE_AGENTS",
    "AgentSpec",
    "ModelLike",
    "ScriptedChatModel",
    "TeamState",
    "customer_service_team",
    "fact_tools",
    "research_pipeline",
    "supervisor_team",
    "tool_call",
]
