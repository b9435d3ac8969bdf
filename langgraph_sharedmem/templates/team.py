"""The supervisor team and the customer-service team.

    builder = supervisor_team(mem, "openai:gpt-4o", [AgentSpec("billing", "..."), ...])
    graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)
    graph.invoke({"messages": [("user", "I was charged twice")]},
                 {"configurable": {"thread_id": "t1", "user_id": "cust-7"}})

Graph: ``supervisor`` routes the request through the registry to a specialist, which works
on its own view of the memory and hands back; the supervisor routes again or finishes; a
validation checkpoint clears the run's quarantined facts (a rejected author is sent back once
with the reasons); ``respond`` answers from verified facts only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict, Field, create_model

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import Policy, TrustRanking
from langgraph_sharedmem.shared import SharedMemory
from langgraph_sharedmem.templates import _parts
from langgraph_sharedmem.templates._agent import (
    AgentNode,
    _text,
    _visible_facts,
    ensure_user,
    message_id,
    run_id,
    task_of,
    user_id,
)
from langgraph_sharedmem.templates._spec import (
    AgentSpec,
    check_agents,
    resolve_model,
    with_models,
)
from langgraph_sharedmem.templates._state import TeamState

__all__ = ["CUSTOMER_SERVICE_AGENTS", "customer_service_team", "supervisor_team"]

VALIDATE, REVISE, RESPOND = "validate", "revise", "respond"

SUPERVISOR_PROMPT = (
    "You lead a team of agents. Hand the request to the agent best suited for the next part "
    "of it with transfer_to(agent, instruction); when their answers cover the request, call "
    "finish()."
)
RESPOND_PROMPT = (
    "Answer the user from the team's answers and the facts on record. State only facts on "
    "record; say plainly what could not be verified."
)


def supervisor_team(
    mem: SharedMemory,
    model: str | BaseChatModel,
    agents: Sequence[AgentSpec],
    *,
    name: str = "supervisor",
    prompt: str | None = None,
    validators: Sequence[Any] = (),
    validation_options: Mapping[str, Any] | None = None,
    fact_scope: str | None = None,
    max_handoffs: int = 4,
    max_revisions: int = 1,
    compile: bool = False,
) -> Any:
    """A supervisor routing through the registry to specialists with scoped memory, and a
    validation checkpoint before the final answer.

    Args:
        mem: The shared memory the agents work on (registry, views, facts, tool cache).
        model: The supervisor's model (and each agent's unless its spec names one): a chat
            model, or an ``init_chat_model`` name.
        agents: The specialists.
        name: The supervisor's agent id (it reads the user's facts to answer).
        validators: The validation checkpoint's validators (see `validation_node`).
        validation_options: More keyword arguments for `validation_node`.
        fact_scope: Where agents record facts: default the user's scope, else the run's.
        max_handoffs: Agent turns per request before the supervisor must finish.
        max_revisions: Times per request a rejected author is sent back to correct itself.
        compile: Return ``builder.compile(checkpointer=mem.checkpointer, store=mem.store)``
            instead of the uncompiled `StateGraph` (compile it yourself for Studio, which
            brings its own checkpointer).
    """
    team = check_agents(agents, "supervisor_team")
    if any(a.name == name for a in team):
        raise InvalidConfigError(f"the supervisor and an agent are both named {name!r}")
    for what, n in (("max_handoffs", max_handoffs), ("max_revisions", max_revisions)):
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidConfigError(f"{what} must be an int >= 0, got {n!r}")
    lead = resolve_model(model, name)
    team = with_models(team, lead)
    _parts.register_agents(mem, team)
    mem.register_agent(name, description="routes requests and answers the user")
    everyone = [*team, AgentSpec(name, "supervisor", user_access="read")]

    builder: StateGraph = StateGraph(TeamState)
    builder.add_node(name, Supervisor(mem, lead, team, everyone, name, prompt, max_handoffs))
    for spec in team:
        builder.add_node(spec.name, AgentNode(mem, spec, lead, fact_scope=fact_scope))
        builder.add_conditional_edges(spec.name, _back_from(spec.name, name), [name, VALIDATE])
    builder.add_node(
        VALIDATE,
        _parts.validation_checkpoint(mem, validators, name=VALIDATE, **(validation_options or {})),
    )
    builder.add_node(REVISE, _revise(team))
    builder.add_node(RESPOND, Responder(mem, lead, name, fact_scope))
    names = [a.name for a in team]
    builder.add_edge(START, name)
    builder.add_conditional_edges(name, _goto, [*names, VALIDATE])
    builder.add_conditional_edges(
        VALIDATE, _after_validation(team, max_revisions), [REVISE, RESPOND]
    )
    builder.add_conditional_edges(REVISE, _goto, names)
    builder.add_edge(RESPOND, END)
    if compile:
        return builder.compile(checkpointer=mem.checkpointer, store=mem.store)
    return builder


CUSTOMER_SERVICE_AGENTS: tuple[AgentSpec, ...] = (
    AgentSpec(
        "billing",
        "Charges, invoices, refunds and payment problems.",
        capabilities=("billing", "refunds", "invoices", "payments", "charges"),
        trust=0.9,
    ),
    AgentSpec(
        "support",
        "Orders, deliveries, products and troubleshooting.",
        capabilities=("orders", "shipping", "delivery", "products", "troubleshooting"),
        trust=0.5,
    ),
    AgentSpec(
        "account",
        "The customer's account: profile, login, plan and contact preferences.",
        capabilities=("account", "login", "plan", "profile", "preferences"),
        trust=0.7,
    ),
)
"""The default customer-service team (replace a spec's fields with `dataclasses.replace`)."""


def customer_service_team(
    mem: SharedMemory,
    model: str | BaseChatModel,
    *,
    agents: Sequence[AgentSpec] | None = None,
    tools: Sequence[BaseTool] = (),
    policies: Mapping[str, Policy | str | Mapping[str, float]] | None = None,
    trusted_attributes: Sequence[str] = ("status",),
    validators: Sequence[Any] = (),
    name: str = "triage",
    compile: bool = False,
    **options: Any,
) -> Any:
    """A customer-service team (billing, support, account by default) behind a triage
    supervisor: the user's memory is shared by the agents the user granted, each agent also
    has its private memory, facts about the customer live in the user's scope.

    Args:
        tools: Domain tools every agent gets (order lookups, ...), called through the shared
            tool cache so one lookup serves the whole team within one user's run; a tool
            wrapped with ``mem.tool_cache.wrap_tool(t, scope="user" or "app")`` is shared
            that much wider.
        policies: Disagreement policy per fact attribute; default: ``"status"`` settled by
            trust ranking (each agent's `AgentSpec.trust`).
        trusted_attributes: Attributes the team's agents write verified (settled by the
            policy) rather than quarantined until the validation checkpoint. Policies and
            these rules are set on ``mem.facts``, for this process.
        options: More `supervisor_team` options (``validators``, ``max_handoffs``, ...).
    """
    team = check_agents(
        CUSTOMER_SERVICE_AGENTS if agents is None else agents, "customer_service_team"
    )
    team = [dataclasses.replace(a, tools=(*a.tools, *tools)) for a in team]
    lead = resolve_model(model, name)
    team = with_models(team, lead)  # refused here, before policies and rules are set
    ranks = {a.name: float(a.trust) for a in team}
    chosen: Mapping[str, Any] = {"status": TrustRanking(ranks)} if policies is None else policies
    for attribute, policy in chosen.items():
        mem.facts.set_policy(policy, attribute=attribute)
    for attribute in trusted_attributes:
        for spec in team:
            mem.facts.set_quarantine(False, agent=spec.name, attribute=attribute)
    return supervisor_team(
        mem, lead, team, name=name, validators=validators, compile=compile, **options
    )


# -- nodes -------------------------------------------------------------------------------------


class Supervisor:
    """Routes the request: the registry ranks the team for the task, the model picks."""

    def __init__(
        self,
        mem: SharedMemory,
        model: BaseChatModel,
        team: list[AgentSpec],
        everyone: list[AgentSpec],
        name: str,
        prompt: str | None,
        max_handoffs: int,
    ) -> None:
        self.mem, self.model, self.team, self.everyone = mem, model, team, everyone
        self.name, self.prompt, self.max_handoffs = name, prompt or SUPERVISOR_PROMPT, max_handoffs
        self.__name__ = name

    def __call__(self, state: TeamState, config: RunnableConfig) -> dict[str, Any]:
        run, user = run_id(config), user_id(state, config)
        messages = list(state.get("messages") or [])
        task = task_of(state)
        update: dict[str, Any] = {"task": task}
        if messages and isinstance(messages[-1], HumanMessage):  # a new request: a new turn
            ensure_user(self.mem, user, self.everyone)
            _parts.heartbeat(self.mem, self.team)
            _parts.record_messages(self.mem, run, [messages[-1]], sender=user or "user")
            update.update(
                outputs={}, handoffs=0, revisions=0, revising=None, validation={}, final=""
            )
            outputs: dict[str, str] = {}
            handoffs = 0
        else:
            outputs = dict(state.get("outputs") or {})
            handoffs = int(state.get("handoffs") or 0)
        if handoffs >= self.max_handoffs:
            return {**update, "next": VALIDATE}
        ranked = _parts.route(self.mem, task, self.team) or [a.name for a in self.team]
        specs = {a.name: a for a in self.team}
        lines = [self.prompt, "Agents, best match for this request first:"]
        lines += [f"- {n}: {specs[n].description}" for n in ranked]
        if outputs:
            lines.append("Answers so far:\n" + "\n".join(f"- {k}: {v}" for k, v in outputs.items()))
        prompt: list[BaseMessage] = [
            SystemMessage("\n".join(lines)),
            *_parts.context_for(self.mem, run, self.name, task, user=user),
        ]
        if not prompt[-1:] or not isinstance(prompt[-1], HumanMessage):
            prompt.append(HumanMessage(task))
        reply = self.model.bind_tools(_routing_tools(ranked)).invoke(prompt, config)
        target, instruction = _decision(reply, ranked)
        if target is None:
            # No usable choice: the registry's best agent takes a fresh request; a request
            # someone already answered goes to validation.
            target = VALIDATE if outputs else ranked[0]
            instruction = task
        if target == VALIDATE:
            return {**update, "next": VALIDATE}
        note = AIMessage(
            f"[{self.name} -> {target}] {instruction}",
            name=self.name,
            id=message_id(config, "handoff"),
        )
        _parts.record_messages(self.mem, run, [note], sender=self.name)
        return {**update, "next": target, "instruction": instruction, "messages": [note]}


class Responder:
    """The final answer, from the verified facts the supervisor's view may read."""

    def __init__(
        self, mem: SharedMemory, model: BaseChatModel, name: str, fact_scope: str | None
    ) -> None:
        self.mem, self.model, self.name, self.fact_scope = mem, model, name, fact_scope
        self.__name__ = RESPOND

    def __call__(self, state: TeamState, config: RunnableConfig) -> dict[str, Any]:
        run, user = run_id(config), user_id(state, config)
        view = self.mem.agent(self.name, user_id=user, run_id=run)
        task = task_of(state)
        lines = [RESPOND_PROMPT]
        facts = _visible_facts(view, self.fact_scope)
        lines.append("Facts on record:\n" + ("\n".join(facts) if facts else "(none)"))
        outputs = state.get("outputs") or {}
        if outputs:
            lines.append("Team answers:\n" + "\n".join(f"- {k}: {v}" for k, v in outputs.items()))
        report = state.get("validation") or {}
        unverified = report.get("rejected", []) + report.get("pending", [])
        if unverified:  # named, never with their values: nobody downstream reads those
            lines.append(
                "Could not be verified (do not state them): "
                + ", ".join(f"{r.get('subject')}.{r.get('attribute')}" for r in unverified)
            )
        prompt: list[BaseMessage] = [
            SystemMessage("\n\n".join(lines)),
            *_parts.context_for(self.mem, run, self.name, task, user=user),
        ]
        if not isinstance(prompt[-1], HumanMessage):
            prompt.append(HumanMessage(task))
        reply = self.model.invoke(prompt, config)
        answer = AIMessage(_text(reply), name=self.name, id=message_id(config, "answer"))
        _parts.record_messages(self.mem, run, [answer], sender=self.name)
        return {"messages": [answer], "final": answer.content}


# -- routing ------------------------------------------------------------------------------------


def _goto(state: TeamState) -> str:
    return state.get("next") or VALIDATE


def _back_from(agent: str, supervisor: str) -> Any:
    # An author sent back to correct a rejected fact goes straight to the checkpoint again.
    def route(state: TeamState) -> str:
        return VALIDATE if state.get("revising") == agent else supervisor

    return route


def _after_validation(team: list[AgentSpec], max_revisions: int) -> Any:
    names = {a.name for a in team}

    def route(state: TeamState) -> str:
        rejected = (state.get("validation") or {}).get("rejected", [])
        authors = [r.get("author") for r in rejected if r.get("author") in names]
        if authors and int(state.get("revisions") or 0) < max_revisions:
            return REVISE
        return RESPOND

    return route


def _revise(team: list[AgentSpec]) -> Any:
    names = {a.name for a in team}

    def revise(state: TeamState) -> dict[str, Any]:
        rejected = (state.get("validation") or {}).get("rejected", [])
        author = next(r["author"] for r in rejected if r.get("author") in names)
        return _parts.send_back(state, author)

    return revise


def _routing_tools(names: list[str]) -> list[StructuredTool]:
    strict = ConfigDict(extra="forbid")
    Target: Any = Literal.__getitem__(tuple(names))  # an enum in the JSON schema
    TransferArgs = create_model(
        "TransferArgs",
        __config__=strict,
        agent=(Target, Field(description="the agent to hand the request to")),
        instruction=(str, Field(description="what that agent should do")),
    )

    class FinishArgs(BaseModel):
        model_config = strict

    def transfer_to(agent: str, instruction: str) -> str:
        return f"transferred to {agent}"

    def finish() -> str:
        return "finished"

    return [
        StructuredTool.from_function(
            transfer_to,
            name="transfer_to",
            description="Hand the request to an agent of the team.",
            args_schema=TransferArgs,
        ),
        StructuredTool.from_function(
            finish,
            name="finish",
            description="The team's answers cover the request: go to the final answer.",
            args_schema=FinishArgs,
        ),
    ]


def _decision(reply: BaseMessage, names: list[str]) -> tuple[str | None, str]:
    for call in getattr(reply, "tool_calls", None) or []:
        if call["name"] == "finish":
            return VALIDATE, ""
        if call["name"] == "transfer_to" and call["args"].get("agent") in names:
            return call["args"]["agent"], str(call["args"].get("instruction") or "")
    return None, ""
