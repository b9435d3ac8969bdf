"""`TeamState`: the graph state every template shares."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

__all__ = ["TeamState"]


class TeamState(TypedDict, total=False):
    """The state of a template graph (checkpointed with the thread).

    Input: ``{"messages": [HumanMessage(...)], "user_id": "u1"}`` (``user_id`` may come from
    ``config["configurable"]["user_id"]`` instead, which wins).
    """

    messages: Annotated[list[AnyMessage], add_messages]
    """The whole transcript: requests, routing notes, each agent's tool calls and answers."""
    user_id: str
    """Whose user-scoped memory the agents share."""
    task: str
    """The request of the current turn (the last human message)."""
    next: str
    """Where the router sends the turn next (an agent name, or a node of the template)."""
    instruction: str
    """What the supervisor asked the agent it routed to."""
    outputs: dict[str, str]
    """Each agent's answer in this turn, by agent name."""
    handoffs: int
    """Agent turns taken in this turn (bounded by ``max_handoffs``)."""
    revisions: int
    """Times in this turn an author was sent back after a validation rejection."""
    revising: str | None
    """The agent sent back to correct a rejected fact, while it does."""
    validation: dict[str, Any]
    """The last validation checkpoint's report (``ValidationReport``)."""
    context: Annotated[list[dict[str, Any]], operator.add]
    """One row per agent turn: ``agent``, ``sent_messages``, ``sent_tokens`` (the slice it got)
    and ``transcript_messages``, ``transcript_tokens`` (what passing the whole transcript would
    have cost)."""
    final: str
    """The answer given to the user in this turn."""
