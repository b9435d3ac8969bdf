"""Graphs for LangGraph Studio (``langgraph dev``) on one langgraph-sharedmem file.

    cd examples/studio && SHAREDMEM_DB=studio.db langgraph dev

``langgraph.json`` points the server's checkpointer and store at the factories below, so
every thread, checkpoint and memory of the runs lands in the SQLite file (``$SHAREDMEM_DB``,
default ``studio.db``). The graphs are compiled WITHOUT a checkpointer: the server adds ours.
Their nodes are async and await the memory's async methods, which run SQLite on the
database's worker thread: the dev server fails runs that block its event loop.

``SHAREDMEM_STUDIO_GRAPH=memory_agent`` also lists, at startup, threads that other processes
wrote to the file (``sharedmem`` ``register_threads``); see docs/studio.md.

No ``from __future__ import annotations`` here: the server loads this file by path, and the
state's annotations must be real objects for LangGraph to read the reducers.
"""

import dataclasses
import os
import re
from typing import Annotated, Any, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.runtime import Runtime

from langgraph_sharedmem.cli.studio import checkpointer, memory, store
from langgraph_sharedmem.templates import (
    CUSTOMER_SERVICE_AGENTS,
    ScriptedChatModel,
    customer_service_team,
    tool_call,
)

__all__ = ["MEMORY", "builder", "checkpointer", "customer_service", "memory_agent", "store"]

MODEL_ENV = "SHAREDMEM_STUDIO_MODEL"  # e.g. "openai:gpt-4o-mini"; unset: offline scripted models

_PROFILE = re.compile(r"\bmy (\w+) is ([\w .@+-]+)", re.IGNORECASE)


# Opened here, at import: the server imports this file off its event loop, and a node must
# not resolve a path or open a file on it (blockbuster fails the run: "Blocking call to
# os.getcwd" with SHAREDMEM_DB=studio.db).
MEMORY = memory()


class State(TypedDict, total=False):
    messages: Annotated[list[AnyMessage], add_messages]
    user_id: str
    remembered: list[str]


def _user(state: State, config: RunnableConfig) -> str:
    return state.get("user_id") or config.get("configurable", {}).get("user_id") or "guest"


async def remember(state: State, config: RunnableConfig, runtime: Runtime) -> dict[str, Any]:
    """Keep the user's message in their memory; "my X is Y" also becomes a fact."""
    user = _user(state, config)
    message = next(m for m in reversed(state["messages"]) if isinstance(m, HumanMessage))
    text = str(message.content)
    assert runtime.store is not None
    await runtime.store.aput(("sharedmem", "user", user, "notes"), str(message.id), {"text": text})
    for attribute, value in _PROFILE.findall(text):
        await MEMORY.facts.aassert_fact(
            ("user", user),
            "profile",
            attribute.lower(),
            value.strip(),
            author="assistant",
            source={"message": message.id},
            status="verified",
        )
    return {"user_id": user}


async def answer(state: State, config: RunnableConfig, runtime: Runtime) -> dict[str, Any]:
    """Answer from memory: the closest notes and the user's profile facts."""
    user = _user(state, config)
    question = str(state["messages"][-1].content)
    assert runtime.store is not None
    notes = await runtime.store.asearch(
        ("sharedmem", "user", user, "notes"), query=question, limit=3
    )
    profile = await MEMORY.facts.alist(("user", user), "profile")
    known = [f"{f.attribute}={f.value}" for f in profile]
    reply = (
        f"I remember {len(notes)} note(s) of yours"
        + (f" and that your {', '.join(known)}" if known else "")
        + "."
    )
    return {"messages": [AIMessage(content=reply)], "remembered": [n.value["text"] for n in notes]}


def builder() -> StateGraph:
    """The memory agent, uncompiled: remember the message, then answer from memory."""
    graph = StateGraph(State)
    graph.add_node("remember", remember)
    graph.add_node("answer", answer)
    graph.add_edge(START, "remember")
    graph.add_edge("remember", "answer")
    graph.add_edge("answer", END)
    return graph


# No checkpointer, no store: the server gives ours (it refuses graphs that bring their own).
memory_agent = builder().compile()


# -- the customer-service template -----------------------------------------------------------

_FOREVER = 100_000  # a scripted model plays its list once; these replies are computed, so repeat


def _triage(messages: list[BaseMessage]) -> AIMessage | str:
    """Offline stand-in for the triage model: hand the request to the best-matching agent
    (the registry ranks them in the prompt), then finish; answer from the team's answers."""
    prompt = str(messages[0].content)
    if prompt.startswith("Answer the user"):
        answers = re.findall(r"^- \w+: (.*)$", prompt.split("Team answers:", 1)[-1], re.M)
        return " ".join(answers) or "The team has no answer yet."
    if "Answers so far:" in prompt:
        return tool_call("finish")
    ranked = re.findall(
        r"^- (\w+):", prompt.split("best match for this request first:", 1)[-1], re.M
    )
    request = str(messages[-1].content)
    return tool_call("transfer_to", {"agent": ranked[0], "instruction": request})


def _specialist(messages: list[BaseMessage]) -> AIMessage | str:
    """Offline stand-in for an agent's model: note the request in the user's memory, then
    say so."""
    if isinstance(messages[-1], ToolMessage):
        return "I noted your request in your file; a colleague will follow up."
    request = next(str(m.content) for m in reversed(messages) if isinstance(m, HumanMessage))
    return tool_call("remember", {"key": "last-request", "content": request, "scope": "user"})


def _customer_service() -> Any:
    mem = MEMORY
    real = os.environ.get(MODEL_ENV)
    if real:
        return customer_service_team(mem, real).compile()
    agents = [
        dataclasses.replace(a, model=ScriptedChatModel([_specialist] * _FOREVER, name=a.name))
        for a in CUSTOMER_SERVICE_AGENTS
    ]
    lead = ScriptedChatModel([_triage] * _FOREVER, name="triage")
    return customer_service_team(mem, lead, agents=agents).compile()


customer_service = _customer_service()
