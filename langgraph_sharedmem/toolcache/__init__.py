"""The shared tool-call cache: a tool call made once for every branch, thread and process on
one database file, with TTL, leases that expire when their holder dies, and statistics. See
`ToolCache` and ``docs/tool_cache.md``."""

from langgraph_sharedmem.toolcache._model import CachedToolError, CacheStats, SharedCacheStats
from langgraph_sharedmem.toolcache.cache import ToolCache

__all__ = ["CacheStats", "CachedToolError", "SharedCacheStats", "ToolCache"]
