"""The ``sharedmem`` inspector: read a langgraph-sharedmem database from the shell or Python.

    $ sharedmem threads agents.db
    $ sharedmem facts agents.db --status quarantined --json

`Inspector` is the same data as Python values. See ``docs/inspector.md``.
"""

from __future__ import annotations

import sys

from langgraph_sharedmem.cli._app import cli, main
from langgraph_sharedmem.cli.inspector import Inspector, PartUnavailable

__all__ = ["Inspector", "PartUnavailable", "cli", "main", "run"]


def run() -> None:
    """Console-script entry point: ``sharedmem ...``."""
    sys.exit(main())
