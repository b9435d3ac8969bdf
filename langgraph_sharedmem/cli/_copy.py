"""`copy_database`: ``sharedmem copy SRC DST``, a whole memory moved between backends.

The parts declare how their tables are copied (``copy_tables`` on each part class); this
module hands those declarations to `core.transfer.copy_between`, which copies and verifies.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from langgraph_sharedmem.core.backend import Backend, is_postgres_url, open_database
from langgraph_sharedmem.core.transfer import CopyReport, PartCopy, copy_between
from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["copy_database", "part_specs"]


def part_specs() -> list[PartCopy]:
    """Every part's copy declaration, the change log first (the others log into it)."""
    from langgraph_sharedmem.agents import AccessControl
    from langgraph_sharedmem.changes.feed import ChangeFeed
    from langgraph_sharedmem.checkpoint import SharedMemorySaver
    from langgraph_sharedmem.conversation import ConversationLog
    from langgraph_sharedmem.facts import FactLedger
    from langgraph_sharedmem.registry import Registry
    from langgraph_sharedmem.store import SharedMemoryStore
    from langgraph_sharedmem.toolcache import ToolCache

    parts: dict[str, Any] = {
        "changes": ChangeFeed,
        "access": AccessControl,
        "facts": FactLedger,
        "tool_cache": ToolCache,
        "checkpointer": SharedMemorySaver,
        "conversation": ConversationLog,
        "registry": Registry,
        "store": SharedMemoryStore,
    }
    return [cls.copy_spec(name) for name, cls in parts.items()]


def _shown(conn: str | os.PathLike[str]) -> str:
    if is_postgres_url(conn):
        from langgraph_sharedmem.core.postgres import redact

        return redact(str(conn))
    return os.fspath(conn)


def _same(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> bool:
    if is_postgres_url(source) and is_postgres_url(destination):
        return _server_and_database(source) == _server_and_database(destination)
    if is_postgres_url(source) or is_postgres_url(destination):
        return False
    from langgraph_sharedmem.core.sqlite import parse_conn_string

    a, b = parse_conn_string(source), parse_conn_string(destination)
    return os.path.realpath(a) == os.path.realpath(b)


def _server_and_database(conn: str) -> dict[str, str]:
    """What names the database in a URL or connection string, whichever form it is in (one
    that spells out a default differs: the copy's "already holds data" refusal is the net)."""
    from psycopg.conninfo import conninfo_to_dict

    named = conninfo_to_dict(conn)
    return {k: str(named[k]) for k in ("host", "hostaddr", "port", "dbname") if k in named}


def _open(conn: str | os.PathLike[str], parts: list[PartCopy], *, source: bool) -> Backend:
    if is_postgres_url(conn):
        sets: list[Any] = []
        for m in (m for p in parts if p.runs_on_postgres for m in p.pg_migrations()):
            if all(m is not s for s in sets):  # unhashable: compared by identity
                sets.append(m)
        return open_database(str(conn), *sets)
    sqlite_sets = list(dict.fromkeys(m for p in parts for m in p.sqlite_migrations))
    if source:
        from langgraph_sharedmem.core.sqlite import parse_conn_string

        if not os.path.exists(parse_conn_string(conn)):
            raise InvalidConfigError(f"cannot copy from {_shown(conn)!r}: no such file")
        return open_database(conn, *sqlite_sets, read_only=True)
    return open_database(conn, *sqlite_sets)


def copy_database(
    source: str | os.PathLike[str], destination: str | os.PathLike[str]
) -> CopyReport:
    """Copy the memory at ``source`` into the empty ``destination`` and verify it.

    Either may be a file path, a ``sqlite:///`` URL, a ``postgresql://`` URL or a libpq connection
    string. Every part's tables are copied in one snapshot of the source and one transaction on the
    destination (its tables are created first), then compared table by table: row counts and a
    SHA-256 over the rows in key order (`CopyReport.ok`). Refused, with nothing written, when the
    destination already holds data or the source holds data of a part the destination cannot hold
    yet (the message names it). Messages never show a password.
    """
    if _same(source, destination):
        raise InvalidConfigError("the source and the destination are the same database")
    parts = part_specs()
    new_file = None
    if not is_postgres_url(destination):
        from langgraph_sharedmem.core.sqlite import parse_conn_string

        path = parse_conn_string(destination)
        new_file = None if os.path.exists(path) else path
    src = _open(source, parts, source=True)
    try:
        dst = _open(destination, parts, source=False)
        try:
            return copy_between(src, dst, parts)
        except BaseException:
            dst.close()
            if new_file is not None:  # a refused or failed copy leaves no file behind
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(new_file + suffix)
            raise
        finally:
            dst.close()
    finally:
        src.close()
