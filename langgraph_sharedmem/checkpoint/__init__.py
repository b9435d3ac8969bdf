"""The checkpointer: `SharedMemorySaver`, a LangGraph checkpoint saver on one SQLite file or
PostgreSQL database."""

from langgraph_sharedmem.checkpoint.saver import SharedMemorySaver

__all__ = ["SharedMemorySaver"]
