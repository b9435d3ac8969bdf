"""The agent registry: profiles, heartbeats, capability and semantic lookup, routing, and
who knows what. ``SharedMemory.registry`` gives the `Registry` of a memory; see
``docs/registry.md``.
"""

from langgraph_sharedmem.registry._model import AgentMatch, AgentProfile, Expert, Route
from langgraph_sharedmem.registry._rank import DEFAULT_WEIGHTS, RouteWeights
from langgraph_sharedmem.registry._schema import NAMESPACE
from langgraph_sharedmem.registry.registry import Registry

__all__ = [
    "DEFAULT_WEIGHTS",
    "NAMESPACE",
    "AgentMatch",
    "AgentProfile",
    "Expert",
    "Registry",
    "Route",
    "RouteWeights",
]
