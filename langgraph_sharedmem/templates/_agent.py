"""The pieces every template is made of: the agent node (a tool-calling loop on the agent's
view of the memory), the user set-up and the ids a run works under."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool

from langgraph_sharedmem.agents import AgentView
from langgraph_sharedmem.agents.tools import memory_tools
from langgraph_sharedmem.errors import AccessDenied, InvalidConfigError
from langgraph_sharedmem.shared import SharedMemory
from langgraph_sharedmem.templates import _parts
from langgraph_sharedmem.templates._spec import AgentSpec, resolve_model
from langgraph_sharedmem.templates._state import TeamState
from langgraph_sharedmem.templates._tools import default_scope, fact_tools
from langgraph_sharedmem.toolcache.tools import CachedTool

__all__ = ["AgentNode", "ensure_user", "message_id", "run_id", "task_of", "user_id"]


def run_id(config: RunnableConfig) -> str:
    """The run the memory of this invocation belongs to: ``run_id``, else ``thread_id``."""
    conf = config.get("configurable") or {}
    run = conf.get("run_id") or conf.get("thread_id")
    if not run:
        raise InvalidConfigError(
            "a template graph needs config['configurable']['thread_id'] (or 'run_id'): "
            "its run-scoped memory and history are kept under it"
        )
    return str(run)


def message_id(config: RunnableConfig, label: str) -> str:
    """An id for a message a node makes, the same when LangGraph retries the same task (its
    ``checkpoint_ns`` holds the task id), so the history part stores it once."""
    ns = (config.get("configurable") or {}).get("checkpoint_ns")
    if not ns:
        return str(uuid.uuid4())
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"langgraph-sharedmem:{ns}/{label}"))


def user_id(state: TeamState, config: RunnableConfig) -> str | None:
    conf = config.get("configurable") or {}
    user = conf.get("user_id") or state.get("user_id")
    return None if user is None else str(user)


def task_of(state: TeamState) -> str:
    """The current request: the newest human message (or ``state["task"]``)."""
    for message in reversed(state.get("messages") or []):
        if isinstance(message, HumanMessage):
            return _text(message)
    return state.get("task") or ""


def ensure_user(mem: SharedMemory, user: str | None, agents: Sequence[AgentSpec]) -> None:
    """Register ``user`` and grant each agent its ``user_access`` unless a live grant exists.

    Templates call this when a run first sees a user, so an agent's rights on the user's
    memory are what its `AgentSpec` says; revoking a grant later still takes effect at once
    (a revoked grant is not given again, see `AgentSpec.user_access`).
    """
    if user is None:
        return
    access = mem.access
    try:  # a read; registering again would add an audit row on every turn
        access.check_principals(agents[0].name, user)
    except InvalidConfigError:
        mem.register_user(user)
    for spec in agents:
        if spec.user_access == "none":
            continue
        history = access.grants(agent=spec.name, user=user)
        if history:  # given (and maybe revoked) before: the user's decision stands
            continue
        access.grant_user(
            user,
            spec.name,
            read=True,
            write=spec.user_access == "write",
            granted_by="template",
        )


class AgentNode:
    """One agent's turn: it sees a slice of the conversation and the verified facts, calls
    its tools (memory tools on its view, fact tools, cached domain tools) until it answers,
    and hands its answer back."""

    def __init__(
        self,
        mem: SharedMemory,
        spec: AgentSpec,
        default_model: BaseChatModel,
        *,
        fact_scope: str | None = None,
        final: bool = False,
    ) -> None:
        self.mem, self.spec, self.final = mem, spec, final
        self.model = default_model if spec.model is None else resolve_model(spec.model, spec.name)
        self.fact_scope = fact_scope
        # One cached wrapper per tool for the graph's life: every agent, branch and process
        # calling the same tool with the same arguments in one user's run shares one
        # execution. A tool the caller wrapped itself keeps the scope it was given.
        self.domain_tools: list[BaseTool] = [
            t if isinstance(t, CachedTool) else mem.tool_cache.wrap_tool(t) for t in spec.tools
        ]
        self.__name__ = spec.name

    def tools(self, view: AgentView) -> list[BaseTool]:
        return [*memory_tools(view), *fact_tools(view, scope=self.fact_scope), *self.domain_tools]

    def __call__(self, state: TeamState, config: RunnableConfig) -> dict[str, Any]:
        spec, mem = self.spec, self.mem
        run, user = run_id(config), user_id(state, config)
        view = mem.agent(spec.name, user_id=user, run_id=run)
        tools = self.tools(view)
        # The change-feed cursor moves only if the turn completes: a failed, retried turn is
        # told the same changes again.
        with _parts.changes_step(mem, spec.name, config, user=user, run=run) as changed:
            return self._turn(view, tools, state, config, changed)

    def _turn(
        self,
        view: AgentView,
        tools: list[BaseTool],
        state: TeamState,
        config: RunnableConfig,
        changed: list[str],
    ) -> dict[str, Any]:
        spec, mem = self.spec, self.mem
        run, user = view.run or run_id(config), view.user
        by_name = {t.name: t for t in tools}
        task = task_of(state)
        transcript: list[AnyMessage] = list(state.get("messages") or [])
        system = SystemMessage(self._system(view, state, changed))
        ask = HumanMessage(self._ask(state, task), name="supervisor")
        prompt: list[BaseMessage] = [
            system,
            *_parts.context_for(
                mem,
                run,
                spec.name,
                task,
                user=user,
                instruction=(state.get("instruction") if state.get("next") == spec.name else None),
                role=spec.description,
            ),
            ask,
        ]
        whole = [system, *transcript, ask]
        usage = {
            "agent": spec.name,
            "sent_messages": len(prompt),
            "sent_tokens": _parts.tokens(prompt),
            "transcript_messages": len(whole),
            "transcript_tokens": _parts.tokens(whole),
            "changes_seen": len(changed),
        }
        bound = _bind(self.model, tools)
        new: list[BaseMessage] = []
        answer: AIMessage | None = None
        for step in range(spec.max_steps):
            reply = bound.invoke(prompt + new, config)
            # Keep everything the provider sent (content blocks, metadata); name the agent.
            ai = reply.model_copy(
                update={"name": spec.name, "id": message_id(config, f"{spec.name}/{step}")}
            )
            new.append(ai)
            if not ai.tool_calls:
                answer = ai
                break
            calls_config = tool_config(config, user=user, run=run)
            new.extend(_run_tool(by_name, call, calls_config) for call in ai.tool_calls)
        if answer is None:  # out of steps: say so rather than leave a dangling tool call
            answer = AIMessage(
                f"({spec.name} stopped after {spec.max_steps} steps without an answer)",
                name=spec.name,
                id=message_id(config, f"{spec.name}/out-of-steps"),
            )
            new.append(answer)
        text = _text(answer)
        _parts.record_messages(mem, run, [answer], sender=spec.name)
        update: dict[str, Any] = {
            "messages": new,
            "outputs": {**(state.get("outputs") or {}), spec.name: text},
            "handoffs": int(state.get("handoffs") or 0) + 1,
            "context": [usage],
        }
        if self.final:
            update["final"] = text
        return update

    def _system(self, view: AgentView, state: TeamState, changed: list[str]) -> str:
        spec = self.spec
        lines = [spec.prompt or f"You are {spec.name}. {spec.description}".strip()]
        lines.append(
            f"You are agent {spec.name!r}. Use your memory tools to keep and find what matters; "
            "record facts with record_fact (others rely on them once verified)."
        )
        facts = _visible_facts(view, self.fact_scope)
        if facts:
            lines.append("Facts on record:\n" + "\n".join(facts))
        if changed:
            lines.append("Changed by others since your last turn:\n" + "\n".join(changed))
        rejected = [
            r
            for r in (state.get("validation") or {}).get("rejected", [])
            if r.get("author") == spec.name
        ]
        if state.get("revising") == spec.name and rejected:
            lines.append(
                "The validator REJECTED facts you recorded; correct them or leave them out:\n"
                + "\n".join(
                    f"- {r.get('subject')}.{r.get('attribute')} = {r.get('value')!r}: "
                    f"{r.get('reason')}"
                    for r in rejected
                )
            )
        return "\n\n".join(lines)

    def _ask(self, state: TeamState, task: str) -> str:
        instruction = state.get("instruction") if state.get("next") == self.spec.name else None
        others = {k: v for k, v in (state.get("outputs") or {}).items() if k != self.spec.name}
        text = f"Request: {task}"
        if instruction:
            text += f"\nYour part: {instruction}"
        if others:
            text += "\nDone so far:\n" + "\n".join(f"- {k}: {v}" for k, v in others.items())
        return text


def _visible_facts(view: AgentView, scope: str | None) -> list[str]:
    """The facts the view may read, one line each; its own unverified ones marked so."""
    try:
        facts = view.facts.list(default_scope(view, scope))  # where its fact tools write
    except AccessDenied:  # a view without read access there simply sees no facts
        return []
    return [
        f"- {f.subject}.{f.attribute} = {f.value!r}"
        + ("" if f.status == "verified" else f" ({f.status}, not yet verified)")
        for f in facts
    ]


def _bind(model: BaseChatModel, tools: list[BaseTool]) -> Any:
    try:
        return model.bind_tools(tools)
    except NotImplementedError as exc:
        raise InvalidConfigError(
            f"model {model!r} does not support tool calling (bind_tools); the templates' "
            "agents need it"
        ) from exc


def tool_config(config: RunnableConfig, *, user: str | None, run: str) -> RunnableConfig:
    """``config`` naming the user and run the turn works for (the user may have come in the
    state only): what a tool reading its config sees, and what the tool cache keeps results
    apart by."""
    conf = {**(config.get("configurable") or {}), "run_id": run}
    if user is not None:
        conf["user_id"] = user
    return {**config, "configurable": conf}


def _run_tool(by_name: dict[str, BaseTool], call: Any, config: RunnableConfig) -> ToolMessage:
    tool = by_name.get(call["name"])
    if tool is None:
        return ToolMessage(
            f"error: no tool named {call['name']!r}; available: {', '.join(by_name)}",
            tool_call_id=call["id"],
            name=call["name"],
            status="error",
        )
    started = time.perf_counter()
    try:
        out = tool.invoke({**call, "type": "tool_call"}, config)
    except Exception as exc:  # noqa: BLE001 - the model is told, the graph goes on
        return ToolMessage(
            f"error: {type(exc).__name__}: {exc}",
            tool_call_id=call["id"],
            name=call["name"],
            status="error",
        )
    message = (
        out
        if isinstance(out, ToolMessage)
        else ToolMessage(str(out), tool_call_id=call["id"], name=call["name"])
    )
    message.response_metadata["seconds"] = round(time.perf_counter() - started, 6)
    return message


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return " ".join(
        part.get("text", "") if isinstance(part, dict) else str(part) for part in content
    ).strip()
