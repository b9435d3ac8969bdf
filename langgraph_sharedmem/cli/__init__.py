"""The ``sharedmem`` inspector: read a langgraph-sharedmem database from the shell or Python.

    $ sharedmem threads agents.db
    $ sharedmem facts agents.db --status quarantined --json

`Inspector` is the same data as Python values. See ``docs/inspector.md``.
`copy_database` is ``sharedmem copy SRC DST`` (a memory moved between SQLite and PostgreSQL,
verified); see ``docs/scaling.md``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from langgraph_sharedmem.cli._app import cli, main

if TYPE_CHECKING:
    from langgraph_sharedmem.cli._copy import copy_database
    from langgraph_sharedmem.cli.inspector import Inspector, PartUnavailable

__all__ = ["Inspector", "PartUnavailable", "cli", "copy_database", "main", "run"]


def run() -> None:
    """Console-script entry point: ``sharedmem ...``."""
    sys.exit(main())


def __getattr__(name: str) -> Any:
    # `sharedmem --help` must not pay for loading every part of the memory.
    if name in ("Inspector", "PartUnavailable"):
        from langgraph_sharedmem.cli import inspector

        return getattr(inspector, name)
    if name == "copy_database":
        from langgraph_sharedmem.cli import _copy

        return _copy.copy_database
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
