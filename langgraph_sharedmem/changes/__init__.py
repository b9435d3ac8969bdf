"""The change feed: every committed change to shared memory, in commit order."""

from langgraph_sharedmem.changes._log import MIGRATIONS, item_changes, record, scope_of_prefix

__all__ = ["MIGRATIONS", "item_changes", "record", "scope_of_prefix"]
