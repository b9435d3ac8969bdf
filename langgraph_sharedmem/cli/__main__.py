"""``python -m langgraph_sharedmem.cli`` runs the ``sharedmem`` command."""

from langgraph_sharedmem.cli import run

run()
