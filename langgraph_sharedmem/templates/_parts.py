"""The templates' contact points with the other parts of the memory: the registry (who does
what, routing), the conversation history (slices instead of transcripts), the validation
checkpoints and the change feed. Kept in one module so a template reads as a graph."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.messages.utils import count_tokens_approximately
from langchain_core.runnables import RunnableConfig

from langgraph_sharedmem.shared import SharedMemory
from langgraph_sharedmem.templates._spec import AgentSpec
from langgraph_sharedmem.validation import validation_node

__all__ = [
    "changes_step",
    "context_for",
    "heartbeat",
    "record_messages",
    "register_agents",
    "route",
    "send_back",
    "tokens",
    "validation_checkpoint",
]

HISTORY_TOKENS = 1000
"""The token budget of an agent's slice of the history: the two newest messages, then the
older ones worth most to its instruction (`ConversationLog.context` with ``budget``)."""
CHANGES_SHOWN = 20
"""Changes listed to an agent per turn; more wait for its next turn (the cursor says so)."""


# -- registry ---------------------------------------------------------------------------------


def register_agents(mem: SharedMemory, agents: Sequence[AgentSpec]) -> None:
    """Put the agents in the registry (and so in the access rules)."""
    for spec in agents:
        mem.registry.register(
            spec.name,
            description=spec.description,
            capabilities=tuple(spec.capabilities),
            tools=tuple(t.name for t in spec.tools),
            trust=spec.trust,
        )


def heartbeat(mem: SharedMemory, agents: Sequence[AgentSpec]) -> None:
    """Mark the team's agents alive: they run in this graph, so they are up whenever it is
    (otherwise an agent unused for the registry's ``stale_after`` would never be routed to
    again). Retired agents stay retired."""
    for spec in agents:
        profile = mem.registry.get(spec.name)
        if profile is not None and not profile.retired:
            mem.registry.heartbeat(spec.name)


def route(mem: SharedMemory, task: str, agents: Sequence[AgentSpec]) -> list[str]:
    """The team's agents for ``task``, best first: the registry's ranking (capabilities,
    semantic match, trust), then the team's other agents; retired and stale ones left out."""
    names = [a.name for a in agents]
    routes = mem.registry.route(task, k=max(len(names), 1))
    ranked = [n for n in (r.agent.name for r in routes) if n in names]
    # The registry ranks only agents that match the task at all; the rest of the team stays
    # available after them.
    for name in names:
        if name not in ranked:
            profile = mem.registry.get(name)
            if profile is not None and not profile.retired and not profile.stale:
                ranked.append(name)
    return ranked


# -- conversation history ---------------------------------------------------------------------


def record_messages(
    mem: SharedMemory, run: str, messages: Sequence[BaseMessage], *, sender: str
) -> None:
    """Keep the conversation-level messages of a run (requests, hand-offs, answers; no tool
    chatter) in the history. Idempotent on message ids, so a retried node stores them once."""
    for message in messages:
        if _conversational(message):
            mem.conversation.append(message, run=run, sender=sender)


def context_for(
    mem: SharedMemory,
    run: str,
    agent: str,
    task: str,
    *,
    user: str | None,
    instruction: str | None = None,
    role: str | None = None,
) -> list[BaseMessage]:
    """The slice of the conversation ``agent`` gets instead of the whole transcript, within
    `HISTORY_TOKENS`: the newest messages plus the older ones worth most to what it is about
    to do (``instruction``, else the newest message; its ``role``; the ``task``), only those
    it may see."""
    return list(
        mem.conversation.context(
            run,
            agent,
            user=user,
            budget=HISTORY_TOKENS,
            query=task,
            instruction=instruction or None,
            role=role or None,
        )
    )


def tokens(messages: Sequence[BaseMessage]) -> int:
    """Approximate tokens of ``messages`` (LangChain's counter: ~4 characters a token)."""
    return int(count_tokens_approximately(list(messages))) if messages else 0


def _conversational(message: BaseMessage) -> bool:
    if isinstance(message, ToolMessage):
        return False
    if isinstance(message, AIMessage):
        return not message.tool_calls and bool(message.content)
    return isinstance(message, HumanMessage) or bool(message.content)


# -- validation checkpoints -------------------------------------------------------------------


def validation_checkpoint(
    mem: SharedMemory, validators: Sequence[Any], *, name: str, **options: Any
) -> Any:
    """The checkpoint node over this run's quarantined facts (`validation_node`)."""
    return validation_node(mem, list(validators), name=name, **options)


def send_back(state: Any, author: str) -> dict[str, Any]:
    """The state update that returns the turn to ``author`` to revise its rejected facts."""
    return {
        "next": author,
        "revising": author,
        "revisions": int(state.get("revisions") or 0) + 1,
        "instruction": "The validator rejected facts you recorded; correct or drop them.",
    }


# -- change feed -------------------------------------------------------------------------------


@contextmanager
def changes_step(
    mem: SharedMemory, agent: str, config: RunnableConfig, *, user: str | None, run: str
) -> Iterator[list[str]]:
    """What others changed in memory ``agent`` may read since its last turn in this thread
    (facts and memories), one line each; nothing on its first turn. The cursor moves only
    when the block exits normally, so a failed, retried turn is told the same changes."""
    own = f"sharedmem.agent.{agent}/"
    with mem.changes.step(
        agent, config, user_id=user, run_id=run, kinds=("fact", "item"), limit=CHANGES_SHOWN
    ) as rows:
        lines = []
        for change in rows:
            if change.kind == "item" and change.key.startswith(own):
                continue  # its own private memory, written by its own tools
            who = change.author or "someone"
            if change.kind == "fact":
                status = (change.data or {}).get("status")
                lines.append(f"- {who}: fact {change.key} {change.op} ({status})")
            else:
                lines.append(f"- {who}: memory {change.key} {change.op}")
        yield lines
