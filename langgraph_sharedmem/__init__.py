"""langgraph-sharedmem: one durable, shared, checkpointed memory for LangGraph multi-agent systems.

Everything public is exported here.
"""

from langgraph_sharedmem._db import Database
from langgraph_sharedmem.checkpoint import SharedMemorySaver
from langgraph_sharedmem.errors import (
    DatabaseBusyError,
    DatabaseFileError,
    InvalidConfigError,
    SchemaVersionError,
    SharedMemoryError,
    UnsafeDeserializationError,
)
from langgraph_sharedmem.serde import StrictSerializer
from langgraph_sharedmem.shared import SharedMemory, default_index
from langgraph_sharedmem.store import IndexReport, SharedMemoryStore, WordLlamaEmbeddings

__all__ = [
    "Database",
    "DatabaseBusyError",
    "DatabaseFileError",
    "IndexReport",
    "InvalidConfigError",
    "SchemaVersionError",
    "SharedMemory",
    "SharedMemoryError",
    "SharedMemorySaver",
    "SharedMemoryStore",
    "StrictSerializer",
    "UnsafeDeserializationError",
    "WordLlamaEmbeddings",
    "default_index",
]
