"""The change feed: every committed change to shared memory, in commit order.

Only the write side (`record`, `item_changes`, `MIGRATIONS`) is imported here, because the
parts that write changes import this package; the feed lives in `changes.feed`,
`changes.subscription` and `changes.as_of` (exported from the package root).
"""

from langgraph_sharedmem.changes._log import MIGRATIONS, item_changes, record, scope_of_prefix

__all__ = ["MIGRATIONS", "item_changes", "record", "scope_of_prefix"]
