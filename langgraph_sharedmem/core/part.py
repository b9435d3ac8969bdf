"""`DatabasePart`: the one lifecycle of every part of the shared memory.

A part opens a database file or shares one already open, creates its tables on first use
(lazily, idempotently, safely with several processes) and closes the file only if it opened it.
"""

from __future__ import annotations

import os
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
            self.db = Database.open_checked(
                conn,
                (*self.requires, self.migrations),
                busy_timeout=busy_timeout,
                synchronous=synchronous,
            )
            self._owns_db = True
        self.is_setup = False

    def setup(self) -> None:
        """Create or upgrade this part's tables. Idempotent, safe with several processes."""
        if not self.is_setup:
            for migrations in (*self.requires, self.migrations):
                self.db.migrate(migrations)
            self.is_setup = True

    def close(self) -> None:
        """Close the database if this part opened it. Safe to call twice."""
        if self._owns_db:
            self.db.close()
