"""Errors raised by langgraph-sharedmem.

Few types, each built on a standard exception so callers can catch either::

    SharedMemoryError (Exception)
    ├── InvalidConfigError (ValueError)          a config, argument or value we cannot accept
    ├── DatabaseFileError (OSError)              missing, unwritable, not a database, corrupt
    ├── SchemaVersionError (RuntimeError)        the database was written by a newer version
    ├── DatabaseBusyError (TimeoutError)         the write lock stayed taken past the timeout
    ├── UnsafeDeserializationError (ValueError)  a blob names a type not on the allowlist
    ├── FactConflictError (RuntimeError)         a fact changed since the version the caller read
    └── AccessDenied (PermissionError)           an agent's view asked for what no grant allows

Backend errors (``sqlite3.*``) are translated at the boundary with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "DatabaseBusyError",
    "DatabaseFileError",
    "FactConflictError",
    "InvalidConfigError",
    "SchemaVersionError",
    "SharedMemoryError",
    "UnsafeDeserializationError",
]


class SharedMemoryError(Exception):
    """Base class of every error this package raises on purpose."""


class InvalidConfigError(SharedMemoryError, ValueError):
    """A config, argument or value that cannot be accepted; nothing was written."""


class DatabaseFileError(SharedMemoryError, OSError):
    """The database file is missing, unwritable, not a SQLite database, or corrupt."""


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

    def __init__(self, message: str, *, expected_version: int, current_version: int) -> None:
        super().__init__(message)
        self.expected_version = expected_version
        self.current_version = current_version

    def __reduce__(self) -> tuple[object, ...]:  # keyword-only fields survive pickling
        return (
            _rebuild_conflict,
            (str(self), self.expected_version, self.current_version),
        )


def _rebuild_conflict(message: str, expected: int, current: int) -> FactConflictError:
    return FactConflictError(message, expected_version=expected, current_version=current)


class AccessDenied(SharedMemoryError, PermissionError):
    """An agent tried to read or write a scope its grants do not cover at that moment; nothing
    was read or written, and the denial is in the audit log. ``agent``, ``action`` and
    ``scope`` (text such as ``"user:u1"``) say what was refused."""

    def __init__(self, message: str, *, agent: str, action: str, scope: str) -> None:
        super().__init__(message)
        self.agent = agent
        self.action = action
        self.scope = scope

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_denied, (str(self), self.agent, self.action, self.scope))


def _rebuild_denied(message: str, agent: str, action: str, scope: str) -> AccessDenied:
    return AccessDenied(message, agent=agent, action=action, scope=scope)
