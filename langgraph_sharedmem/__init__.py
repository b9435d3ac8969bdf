"""langgraph-sharedmem: one durable, shared, checkpointed memory for LangGraph multi-agent systems.

Everything public is exported here. Names load on first use (PEP 562), so ``import
langgraph_sharedmem`` and the ``sharedmem`` command start without loading LangGraph's graph
machinery, LangChain's tools, Chroma or the embedder until a part needs them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from langgraph_sharedmem._version import __version__ as __version__

if TYPE_CHECKING:
    from langgraph_sharedmem.agents import (
        AccessControl,
        AgentView,
        AuditEntry,
        Grant,
        memory_tools,
    )
    from langgraph_sharedmem.changes._query import (
        Change,
    )
    from langgraph_sharedmem.changes.as_of import (
        MemoryAsOf,
    )
    from langgraph_sharedmem.changes.feed import (
        ChangeFeed,
    )
    from langgraph_sharedmem.changes.subscription import (
        ChangeListener,
        Subscription,
    )
    from langgraph_sharedmem.checkpoint import (
        SharedMemorySaver,
    )
    from langgraph_sharedmem.conversation import (
        ChatModelSummarizer,
        ConversationLog,
        MessagePage,
        StoredMessage,
    )
    from langgraph_sharedmem.core.sqlite import Database
    from langgraph_sharedmem.core.values import Scope
    from langgraph_sharedmem.errors import (
        AccessDenied,
        CursorExpiredError,
        DatabaseBusyError,
        DatabaseFileError,
        FactConflictError,
        InvalidConfigError,
        SchemaVersionError,
        SharedMemoryError,
        ToolCallWaitTimeout,
        UnsafeDeserializationError,
        UnsupportedBackendError,
    )
    from langgraph_sharedmem.facts import (
        Claim,
        ClaimRecord,
        CustomResolver,
        Disagreement,
        Fact,
        FactChange,
        FactLedger,
        FactVersion,
        FirstWins,
        LatestWins,
        Lineage,
        Policy,
        RequireValidation,
        TrustRanking,
        ValidationDecision,
        ValidationEntry,
    )
    from langgraph_sharedmem.facts._similar import (
        EmbeddingMatcher,
    )
    from langgraph_sharedmem.registry import (
        AgentMatch,
        AgentProfile,
        Expert,
        Registry,
        Route,
    )
    from langgraph_sharedmem.serde import (
        StrictSerializer,
    )
    from langgraph_sharedmem.shared import (
        SharedMemory,
    )
    from langgraph_sharedmem.store import (
        IndexReport,
        SharedMemoryStore,
        WordLlamaEmbeddings,
    )
    from langgraph_sharedmem.store.embedding import (
        default_index,
    )
    from langgraph_sharedmem.templates import (
        AgentSpec,
        ScriptedChatModel,
        TeamState,
        customer_service_team,
        fact_tools,
        research_pipeline,
        supervisor_team,
    )
    from langgraph_sharedmem.toolcache import (
        CachedToolError,
        CacheStats,
        SharedCacheStats,
        ToolCache,
    )
    from langgraph_sharedmem.validation import (
        Check,
        CrossCheck,
        HumanReview,
        JudgeVerdict,
        LLMJudge,
        SchemaCheck,
        ValidationReport,
        Verdict,
        rejections_for,
        validation_node,
        validation_router,
    )

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    "Database": "langgraph_sharedmem.core.sqlite",
    "AccessControl": "langgraph_sharedmem.agents",
    "AgentView": "langgraph_sharedmem.agents",
    "AuditEntry": "langgraph_sharedmem.agents",
    "Grant": "langgraph_sharedmem.agents",
    "memory_tools": "langgraph_sharedmem.agents.tools",
    "Change": "langgraph_sharedmem.changes._query",
    "MemoryAsOf": "langgraph_sharedmem.changes.as_of",
    "ChangeFeed": "langgraph_sharedmem.changes.feed",
    "ChangeListener": "langgraph_sharedmem.changes.subscription",
    "Subscription": "langgraph_sharedmem.changes.subscription",
    "SharedMemorySaver": "langgraph_sharedmem.checkpoint",
    "ChatModelSummarizer": "langgraph_sharedmem.conversation",
    "ConversationLog": "langgraph_sharedmem.conversation",
    "MessagePage": "langgraph_sharedmem.conversation",
    "StoredMessage": "langgraph_sharedmem.conversation",
    "AccessDenied": "langgraph_sharedmem.errors",
    "CursorExpiredError": "langgraph_sharedmem.errors",
    "DatabaseBusyError": "langgraph_sharedmem.errors",
    "DatabaseFileError": "langgraph_sharedmem.errors",
    "FactConflictError": "langgraph_sharedmem.errors",
    "InvalidConfigError": "langgraph_sharedmem.errors",
    "SchemaVersionError": "langgraph_sharedmem.errors",
    "SharedMemoryError": "langgraph_sharedmem.errors",
    "ToolCallWaitTimeout": "langgraph_sharedmem.errors",
    "UnsafeDeserializationError": "langgraph_sharedmem.errors",
    "UnsupportedBackendError": "langgraph_sharedmem.errors",
    "Claim": "langgraph_sharedmem.facts",
    "ClaimRecord": "langgraph_sharedmem.facts",
    "CustomResolver": "langgraph_sharedmem.facts",
    "Disagreement": "langgraph_sharedmem.facts",
    "Fact": "langgraph_sharedmem.facts",
    "FactChange": "langgraph_sharedmem.facts",
    "FactLedger": "langgraph_sharedmem.facts",
    "FactVersion": "langgraph_sharedmem.facts",
    "FirstWins": "langgraph_sharedmem.facts",
    "LatestWins": "langgraph_sharedmem.facts",
    "Lineage": "langgraph_sharedmem.facts",
    "Policy": "langgraph_sharedmem.facts",
    "RequireValidation": "langgraph_sharedmem.facts",
    "Scope": "langgraph_sharedmem.facts",
    "TrustRanking": "langgraph_sharedmem.facts",
    "ValidationDecision": "langgraph_sharedmem.facts",
    "ValidationEntry": "langgraph_sharedmem.facts",
    "EmbeddingMatcher": "langgraph_sharedmem.facts._similar",
    "AgentMatch": "langgraph_sharedmem.registry",
    "AgentProfile": "langgraph_sharedmem.registry",
    "Expert": "langgraph_sharedmem.registry",
    "Registry": "langgraph_sharedmem.registry",
    "Route": "langgraph_sharedmem.registry",
    "StrictSerializer": "langgraph_sharedmem.serde",
    "SharedMemory": "langgraph_sharedmem.shared",
    "default_index": "langgraph_sharedmem.store.embedding",
    "IndexReport": "langgraph_sharedmem.store",
    "SharedMemoryStore": "langgraph_sharedmem.store",
    "WordLlamaEmbeddings": "langgraph_sharedmem.store",
    "AgentSpec": "langgraph_sharedmem.templates",
    "ScriptedChatModel": "langgraph_sharedmem.templates",
    "TeamState": "langgraph_sharedmem.templates",
    "customer_service_team": "langgraph_sharedmem.templates",
    "fact_tools": "langgraph_sharedmem.templates",
    "research_pipeline": "langgraph_sharedmem.templates",
    "supervisor_team": "langgraph_sharedmem.templates",
    "CachedToolError": "langgraph_sharedmem.toolcache",
    "CacheStats": "langgraph_sharedmem.toolcache",
    "SharedCacheStats": "langgraph_sharedmem.toolcache",
    "ToolCache": "langgraph_sharedmem.toolcache",
    "Check": "langgraph_sharedmem.validation",
    "CrossCheck": "langgraph_sharedmem.validation",
    "HumanReview": "langgraph_sharedmem.validation",
    "JudgeVerdict": "langgraph_sharedmem.validation",
    "LLMJudge": "langgraph_sharedmem.validation",
    "SchemaCheck": "langgraph_sharedmem.validation",
    "ValidationReport": "langgraph_sharedmem.validation",
    "Verdict": "langgraph_sharedmem.validation",
    "rejections_for": "langgraph_sharedmem.validation",
    "validation_node": "langgraph_sharedmem.validation",
    "validation_router": "langgraph_sharedmem.validation",
}

__all__ = [
    "Change",
    "ChangeFeed",
    "ChangeListener",
    "CursorExpiredError",
    "MemoryAsOf",
    "Subscription",
    "AccessControl",
    "AccessDenied",
    "AgentView",
    "AuditEntry",
    "CacheStats",
    "CachedToolError",
    "Grant",
    "memory_tools",
    "Claim",
    "CustomResolver",
    "Database",
    "DatabaseBusyError",
    "DatabaseFileError",
    "Disagreement",
    "Fact",
    "FactChange",
    "FactConflictError",
    "EmbeddingMatcher",
    "FactLedger",
    "FactVersion",
    "FirstWins",
    "IndexReport",
    "InvalidConfigError",
    "LatestWins",
    "Policy",
    "RequireValidation",
    "SchemaVersionError",
    "Scope",
    "SharedMemory",
    "SharedMemoryError",
    "SharedMemorySaver",
    "SharedMemoryStore",
    "SharedCacheStats",
    "ToolCache",
    "ToolCallWaitTimeout",
    "ChatModelSummarizer",
    "ConversationLog",
    "MessagePage",
    "StoredMessage",
    "StrictSerializer",
    "TrustRanking",
    "UnsafeDeserializationError",
    "UnsupportedBackendError",
    "WordLlamaEmbeddings",
    "AgentMatch",
    "AgentProfile",
    "Expert",
    "Registry",
    "Route",
    "default_index",
    "AgentSpec",
    "ScriptedChatModel",
    "TeamState",
    "customer_service_team",
    "fact_tools",
    "research_pipeline",
    "supervisor_team",
    "Check",
    "ClaimRecord",
    "CrossCheck",
    "HumanReview",
    "JudgeVerdict",
    "LLMJudge",
    "Lineage",
    "SchemaCheck",
    "ValidationDecision",
    "ValidationEntry",
    "ValidationReport",
    "Verdict",
    "rejections_for",
    "validation_node",
    "validation_router",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
