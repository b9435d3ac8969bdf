"""langgraph-sharedmem: one durable, shared, checkpointed memory for LangGraph multi-agent systems.

Everything public is exported here.
"""

from langgraph_sharedmem._db import Database
from langgraph_sharedmem.agents import (
    AccessControl,
    AgentView,
    AuditEntry,
    Grant,
    memory_tools,
)
from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.errors import (
    AccessDenied,
    DatabaseBusyError,
    DatabaseFileError,
    FactConflictError,
    InvalidConfigError,
    SchemaVersionError,
    SharedMemoryError,
    UnsafeDeserializationError,
)
from langgraph_sharedmem.facts import (
    Claim,
    CustomResolver,
    Disagreement,
    Fact,
    FactChange,
    FactLedger,
    FactVersion,
    FirstWins,
    LatestWins,
    Policy,
    RequireValidation,
    Scope,
    TrustRanking,
)
from langgraph_sharedmem.serde import StrictSerializer
from langgraph_sharedmem.shared import SharedMemory, default_index
from langgraph_sharedmem.store import IndexReport, SharedMemoryStore, WordLlamaEmbeddings
from langgraph_sharedmem.toolcache import CachedToolError, CacheStats, SharedCacheStats, ToolCache

__all__ = [
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
    "StrictSerializer",
    "TrustRanking",
    "UnsafeDeserializationError",
    "WordLlamaEmbeddings",
    "default_index",
]
