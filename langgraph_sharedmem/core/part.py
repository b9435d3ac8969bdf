"""`DatabasePart`: the one lifecycle of every part of the shared memory.

A part opens a database file or shares one already open (`SharedMemory` hands every part
the same `Database`), creates its tables on first use — lazily, idempotently, safely with
several threads and processes — and on close releases what it holds, closing the file only
if it opened it. Parts with more to set up or release (the store's index and TTL sweeper,
the audit buffer) extend `_set_up` and `_release` rather than writing their own locking.
"""

from __future__ import annotations

import os
import threading
from typing import ClassVar

from sqlite_utils.migrations import Migrations

from langgraph_sharedmem.core.closing import Closing
from langgraph_sharedmem.core.sqlite import Database, Synchronous

__all__ = ["DatabasePart"]


class DatabasePart(Closing):
    """A part of the shared memory in one `Database`: it opens the file or shares an open
    one, creates its tables on first use, and closes the file only if it opened it."""

    migrations: ClassVar[Migrations]
    # Migration sets this part writes into besides its own (e.g. the change log).
    requires: ClassVar[tuple[Migrations, ...]] = ()
    db: Database
    is_setup: bool

    def _open_database(
        self,
        conn: str | os.PathLike[str] | Database,
        *,
        busy_timeout: float = 30.0,
        synchronous: Synchronous = "NORMAL",
    ) -> None:
        if isinstance(conn, Database):
            self.db, self._owns_db = conn, False
        else:
            # Another application's file or a newer schema: refused now, not at setup.
            self.db = Database.open_checked(
                conn,
                self.migration_sets(),
                busy_timeout=busy_timeout,
                synchronous=synchronous,
            )
            self._owns_db = True
        self._setup_lock = threading.Lock()
        self.is_setup = False

    @classmethod
    def migration_sets(cls) -> tuple[Migrations, ...]:
        """Every migration set this part needs, in the order they are applied."""
        return (*cls.requires, cls.migrations)

    def setup(self) -> None:
        """Create or upgrade this part's tables. Idempotent, safe with several processes."""
        if self.is_setup:  # the hot path: one attribute read, no lock
            return
        with self._setup_lock:
            if not self.is_setup:
                for migrations in self.migration_sets():
                    self.db.migrate(migrations)
                self._set_up()
                self.is_setup = True

    def _set_up(self) -> None:
        """What this part does once its tables exist, under the set-up lock."""

    def _release(self) -> None:
        """What this part releases on close, before the database (if it owns it) closes."""

    def close(self) -> None:
        """Release what this part holds; close the database if this part opened it. Safe to
        call twice."""
        try:
            self._release()
        finally:
            if self._owns_db:
                self.db.close()
