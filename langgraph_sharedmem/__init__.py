"""langgraph-sharedmem: one durable, shared, checkpointed memory for LangGraph multi-agent systems.

Everything public is exported here.
"""

from langgraph_sharedmem._db import Database
from langgraph_sharedmem._version import __version__
from langgraph_sharedmem.agents import (
    AccessControl,
    AgentView,
    AuditEntry,
    Grant,
    memory_tools,
)
from langgraph_sharedmem.changes._query import Change
from langgraph_sharedmem.changes.as_of import MemoryAsOf
from langgraph_sharedmem.changes.feed import ChangeFeed
from langgraph_sharedmem.changes.subscription import ChangeListener, Subscription
from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.conversation import (
    ChatModelSummarizer,
    ConversationLog,
    MessagePage,
    StoredMessage,
)
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
    Scope,
    TrustRanking,
    ValidationDecision,
    ValidationEntry,
)
from langgraph_sharedmem.facts._similar import EmbeddingMatcher
from langgraph_sharedmem.registry import AgentMatch, AgentProfile, Expert, Registry, Route
from langgraph_sharedmem.serde import StrictSerializer
from langgraph_sharedmem.shared import SharedMemory, default_index
from langgraph_sharedmem.store import IndexReport, SharedMemoryStore, WordLlamaEmbeddings
from langgraph_sharedmem.templates import (
    AgentSpec,
    ScriptedChatModel,
    TeamState,
    customer_service_team,
    fact_tools,
    research_pipeline,
    supervisor_team,
)
from langgraph_sharedmem.toolcache import CachedToolError, CacheStats, SharedCacheStats, ToolCache
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
    # validation checkpoints (issue 5)
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
