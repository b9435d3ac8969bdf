"""Errors raised by langgraph-sharedmem.

Few types, each built on a standard exception so callers can catch either::

    SharedMemoryError (Exception)
    ├── InvalidConfigError (ValueError)          a config, argument or value we cannot accept
    │   └── UnsupportedBackendError              a part that does not run on that backend yet
    ├── DatabaseFileError (OSError)              missing, unwritable, not ours, unreachable
    ├── SchemaVersionError (RuntimeError)        the database was written by a newer version
    ├── DatabaseBusyError (TimeoutError)         the write lock stayed taken past the timeout
    ├── UnsafeDeserializationError (ValueError)  a blob names a type not on the allowlist
    ├── FactConflictError (RuntimeError)         a fact changed since the version the caller read
    ├── AccessDenied (PermissionError)           an agent's view asked for what no grant allows
    └── ToolCallWaitTimeout (TimeoutError)       a cached call in flight elsewhere ran too long

Backend errors (``sqlite3.*``, ``psycopg.*``) are translated at the boundary with
``raise ... from exc``.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AccessDenied",
    "CursorExpiredError",
    "DatabaseBusyError",
    "DatabaseFileError",
    "FactConflictError",
    "InvalidConfigError",
    "SchemaVersionError",
    "SharedMemoryError",
    "ToolCallWaitTimeout",
    "UnsafeDeserializationError",
    "UnsupportedBackendError",
]


class SharedMemoryError(Exception):
    """Base class of every error this package raises on purpose."""

    # The keyword-only attributes a subclass's __init__ sets. Exception's own pickling
    # replays only the positional args, so errors sent back from worker processes would fail
    # to rebuild; __reduce__ passes these along.
    _fields: ClassVar[tuple[str, ...]] = ()

    def __reduce__(self) -> Any:
        if not self._fields:
            return super().__reduce__()
        return (_rebuild, (type(self), str(self), {f: getattr(self, f) for f in self._fields}))


def _rebuild(cls: type[SharedMemoryError], message: str, fields: dict[str, Any]) -> Any:
    return cls(message, **fields)


class InvalidConfigError(SharedMemoryError, ValueError):
    """A config, argument or value that cannot be accepted; nothing was written."""


class UnsupportedBackendError(InvalidConfigError):
    """A part of the memory was opened on a backend it does not run on (every part of this
    version runs on SQLite and PostgreSQL; a part added later may not); nothing was created
    or written. The message names the part and, from `SharedMemory`, what does run there."""


class DatabaseFileError(SharedMemoryError, OSError):
    """The database file is missing, unwritable, not a SQLite database, or corrupt; or the
    PostgreSQL server cannot be reached, refuses the login, or holds another application's
    tables."""


class SchemaVersionError(SharedMemoryError, RuntimeError):
    """The database holds schema migrations this version of the package does not know."""


class DatabaseBusyError(SharedMemoryError, TimeoutError):
    """The write lock stayed busy for longer than the configured busy timeout."""


class UnsafeDeserializationError(SharedMemoryError, ValueError):
    """A stored blob asks to rebuild a type that is not on the deserialization allowlist."""


class FactConflictError(SharedMemoryError, RuntimeError):
    """A compare-and-set write named a fact version that is no longer current; nothing was
    written. ``current_version`` (0: the fact does not exist) tells the caller what to re-read.
    """

    _fields = ("expected_version", "current_version")

    def __init__(self, message: str, *, expected_version: int, current_version: int) -> None:
        super().__init__(message)
        self.expected_version = expected_version
        self.current_version = current_version


class AccessDenied(SharedMemoryError, PermissionError):
    """An agent tried to read or write a scope its grants do not cover at that moment; nothing
    was read or written, and the denial is in the audit log. ``agent``, ``action`` and
    ``scope`` (text such as ``"user:u1"``) say what was refused."""

    _fields = ("agent", "action", "scope")

    def __init__(self, message: str, *, agent: str, action: str, scope: str) -> None:
        super().__init__(message)
        self.agent = agent
        self.action = action
        self.scope = scope


class ToolCallWaitTimeout(SharedMemoryError, TimeoutError):
    """A tool-cache caller waited ``wait_timeout`` seconds for the same call running elsewhere
    (``holder``: host:pid:id), whose lease is still being renewed; nothing was run or stored
    by this caller. ``tool``, ``waited`` (seconds) and ``holder`` say which."""

    _fields = ("tool", "waited", "holder")

    def __init__(self, message: str, *, tool: str, waited: float, holder: str | None) -> None:
        super().__init__(message)
        self.tool = tool
        self.waited = waited
        self.holder = holder


class CursorExpiredError(SharedMemoryError, LookupError):
    """A change-feed cursor (or an as-of read) is older than the retention horizon: the
    changes after it were pruned, so continuing would silently miss them. ``name`` (None for
    a one-shot read), ``cursor`` and ``horizon`` (the highest pruned ``seq``) say where."""

    _fields = ("name", "cursor", "horizon")

    def __init__(self, message: str, *, name: str | None, cursor: int, horizon: int) -> None:
        super().__init__(message)
        self.name = name
        self.cursor = cursor
        self.horizon = horizon
