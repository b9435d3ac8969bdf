"""The research -> draft -> edit pipeline.

    graph = research_pipeline(mem, model, validators=[...]).compile(
        checkpointer=mem.checkpointer, store=mem.store)
    graph.invoke({"messages": [("user", "Brief me on SQLite WAL mode")]},
                 {"configurable": {"thread_id": "job-1"}})

``intake -> researcher -> validate_research -> drafter -> validate_draft -> editor ->
validate_final -> END``. The stages share the graph state and the run's memory: facts the
researcher records stay quarantined until the checkpoint after its stage verifies them, so the
drafter builds only on verified facts; a stage whose facts were rejected is sent back once
with the reasons before the pipeline goes on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.shared import SharedMemory
from langgraph_sharedmem.templates import _parts
from langgraph_sharedmem.templates._agent import AgentNode, ensure_user, run_id, task_of, user_id
from langgraph_sharedmem.templates._spec import (
    AgentSpec,
    check_agents,
    resolve_model,
    with_models,
)
from langgraph_sharedmem.templates._state import TeamState

__all__ = ["PIPELINE_AGENTS", "research_pipeline"]

PIPELINE_AGENTS: tuple[AgentSpec, AgentSpec, AgentSpec] = (
    AgentSpec(
        "researcher",
        "Finds the facts the request needs, with their sources, and records them.",
        capabilities=("research", "sources", "facts"),
        user_access="read",
    ),
    AgentSpec(
        "drafter",
        "Writes a first draft from the verified facts.",
        capabilities=("writing", "drafts"),
        user_access="read",
    ),
    AgentSpec(
        "editor",
        "Checks the draft against the verified facts and returns the final text.",
        capabilities=("editing", "review"),
        user_access="read",
    ),
)


def research_pipeline(
    mem: SharedMemory,
    model: str | BaseChatModel,
    *,
    researcher: AgentSpec | None = None,
    drafter: AgentSpec | None = None,
    editor: AgentSpec | None = None,
    validators: Sequence[Any] = (),
    validation_options: Mapping[str, Any] | None = None,
    fact_scope: str = "run",
    max_revisions: int = 1,
    compile: bool = False,
) -> Any:
    """Research, draft and edit in turn, a validation checkpoint after each stage.

    Args:
        model: Every stage's model unless its spec names one.
        researcher, drafter, editor: The stages (defaults: `PIPELINE_AGENTS`).
        validators: The checkpoints' validators (see `validation_node`).
        fact_scope: Where the stages record facts: the run's scope (the job) by default.
        max_revisions: Times per request a stage whose facts were rejected is sent back.
        compile: Return the graph compiled with ``mem.checkpointer`` and ``mem.store``.
    """
    default_r, default_d, default_e = PIPELINE_AGENTS
    stages = check_agents(
        [researcher or default_r, drafter or default_d, editor or default_e], "research_pipeline"
    )
    if isinstance(max_revisions, bool) or not isinstance(max_revisions, int) or max_revisions < 0:
        raise InvalidConfigError(f"max_revisions must be an int >= 0, got {max_revisions!r}")
    lead = resolve_model(model, "research_pipeline")
    stages = with_models(stages, lead)
    _parts.register_agents(mem, stages)
    options = dict(validation_options or {})

    builder: StateGraph = StateGraph(TeamState)
    builder.add_node("intake", _intake(mem, stages))
    builder.add_edge(START, "intake")
    previous: str | None = "intake"
    checks = ("validate_research", "validate_draft", "validate_final")
    for i, (spec, check) in enumerate(zip(stages, checks, strict=True)):
        last = i == len(stages) - 1
        builder.add_node(spec.name, AgentNode(mem, spec, lead, fact_scope=fact_scope, final=last))
        builder.add_node(
            check, _parts.validation_checkpoint(mem, validators, name=check, **options)
        )
        if previous is not None:
            builder.add_edge(previous, spec.name)
        builder.add_edge(spec.name, check)
        revise = f"revise_{spec.name}"
        builder.add_node(revise, _send_back(spec.name))
        builder.add_edge(revise, spec.name)
        after = END if last else stages[i + 1].name
        builder.add_conditional_edges(
            check, _after_check(spec.name, max_revisions, revise, after), [revise, after]
        )
        previous = None  # the next stage is reached through the conditional edge
    if compile:
        return builder.compile(checkpointer=mem.checkpointer, store=mem.store)
    return builder


def _intake(mem: SharedMemory, stages: list[AgentSpec]) -> Any:
    def intake(state: TeamState, config: RunnableConfig) -> dict[str, Any]:
        run, user = run_id(config), user_id(state, config)
        ensure_user(mem, user, stages)
        messages = state.get("messages") or []
        if messages and isinstance(messages[-1], HumanMessage):
            _parts.record_messages(mem, run, [messages[-1]], sender=user or "user")
        return {
            "task": task_of(state),
            "outputs": {},
            "handoffs": 0,
            "revisions": 0,
            "revising": None,
            "validation": {},
            "final": "",
        }

    return intake


def _after_check(author: str, max_revisions: int, revise: str, after: str) -> Any:
    def route(state: TeamState) -> str:
        rejected = (state.get("validation") or {}).get("rejected", [])
        mine = [r for r in rejected if r.get("author") == author]
        if mine and int(state.get("revisions") or 0) < max_revisions:
            return revise
        return after

    return route


def _send_back(author: str) -> Any:
    def send_back(state: TeamState) -> dict[str, Any]:
        return _parts.send_back(state, author)

    return send_back
