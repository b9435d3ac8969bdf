"""Scopes, agent views, access rules, audit log and memory tools for multi-agent systems.

``SharedMemory.agent(...)`` gives an `AgentView`; ``SharedMemory.access`` is the
`AccessControl` holding agents, users, grants and the audit log. See ``docs/agents.md``.
"""

from typing import TYPE_CHECKING, Any

from langgraph_sharedmem.agents._acl import WILDCARD, AccessControl, Grant, Permissions
from langgraph_sharedmem.agents._audit import AuditEntry, AuditLog
from langgraph_sharedmem.agents._view_facts import ViewFacts
from langgraph_sharedmem.agents.view import AgentView
from langgraph_sharedmem.core.values import namespace, scope_of

if TYPE_CHECKING:
    from langgraph_sharedmem.agents.tools import memory_tools

__all__ = [
    "WILDCARD",
    "AccessControl",
    "AgentView",
    "AuditEntry",
    "AuditLog",
    "Grant",
    "Permissions",
    "ViewFacts",
    "memory_tools",
    "namespace",
    "scope_of",
]


def __getattr__(name: str) -> Any:
    # LangChain's tool machinery costs ~0.25 s to import; only agents that get tools pay it.
    if name == "memory_tools":
        from langgraph_sharedmem.agents.tools import memory_tools

        return memory_tools
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
