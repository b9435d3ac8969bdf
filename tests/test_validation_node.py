"""The validation node's validators on real graphs: failing closed (raise, timeout, garbage,
malformed LLM output), an LLM judge with structured output, async checks, bad input."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from langgraph_sharedmem import (
    Check,
    InvalidConfigError,
    LLMJudge,
    SharedMemory,
    Verdict,
    validation_node,
    validation_router,
)

RUN = ("run", "t1")


class State(TypedDict, total=False):
    validation: dict[str, Any]
    route: str


def run_graph(
    mem: SharedMemory, values: dict[str, Any], *, mode: str = "sync", **node_kw: Any
) -> dict[str, Any]:
    def writer(state: State, config: RunnableConfig) -> dict[str, Any]:
        view = mem.agent("writer", run_id=config["configurable"]["thread_id"])
        for attribute, value in values.items():
            view.facts.assert_fact("run", "svc", attribute, value)
        return {}

    builder = StateGraph(State)
    builder.add_node("writer", writer)
    builder.add_node("validate", validation_node(mem, **node_kw))
    builder.add_node("next", lambda s: {"route": "next"})
    builder.add_edge(START, "writer")
    builder.add_edge("writer", "validate")
    builder.add_conditional_edges(
        "validate",
        validation_router(next="next", authors={}),
        ["next", END],
    )
    builder.add_edge("next", END)
    graph = builder.compile(checkpointer=mem.checkpointer, store=mem.store)
    config = {"configurable": {"thread_id": "t1"}}
    if mode == "async":
        return asyncio.run(graph.ainvoke({}, config))  # type: ignore[no-any-return]
    return graph.invoke({}, config)  # type: ignore[no-any-return]


@pytest.fixture
def mem(tmp_path: Path) -> Any:
    with SharedMemory.open(tmp_path / "agents.db", index=None) as m:
        m.register_agent("writer")
        yield m


def _raises(claim: Any) -> Any:
    raise RuntimeError("upstream API down")


def _slow(claim: Any) -> Any:
    time.sleep(6.0)
    return True


async def _slow_async(claim: Any) -> Any:
    await asyncio.sleep(6.0)
    return True


def _garbage(claim: Any) -> Any:
    return 42


def _approves(claim: Any) -> Any:
    return True


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_broken_validators_never_verify(mem: SharedMemory, mode: str) -> None:
    judge = GenericFakeChatModel(messages=iter([AIMessage("Looks fine to me!")]))
    values = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}
    started = time.monotonic()
    out = run_graph(
        mem,
        values,
        mode=mode,
        validators=[
            Check(_approves),  # approves all: none of the failures below may be outvoted
            Check(_raises, attribute="a"),
            Check(_slow, attribute="b", timeout=0.2),
            Check(_slow_async, attribute="c", timeout=0.2),
            Check(_garbage, attribute="d"),
            LLMJudge(judge, attribute="e"),
        ],
        timeout=4.0,
        cross_check=False,
    )
    assert time.monotonic() - started < 4  # a timed-out validator is not waited for
    assert out["route"] == "next"  # on_error="continue": the graph goes on
    report = out["validation"]
    assert report["status"] == "error" and report["verified"] == []
    assert sorted(e["attribute"] for e in report["errors"]) == list(values)
    for attribute in values:
        assert mem.facts.get(RUN, "svc", attribute) is None
    assert len(mem.facts.pending(run="t1")) == len(values)
    errors = {
        e.validator: e.reason or "" for e in mem.facts.validation_log(run="t1", outcome="error")
    }
    assert "RuntimeError: upstream API down" in errors["_raises"]
    assert "timed out" in errors["_slow"] and "timed out" in errors["_slow_async"]
    assert "not a verdict" in errors["_garbage"]
    assert "not a verdict" in errors["llm_judge"]


def test_on_error_stop_ends_the_graph(mem: SharedMemory) -> None:
    out = run_graph(mem, {"a": 1}, validators=[_raises], on_error="stop", cross_check=False)
    assert "route" not in out and out["validation"]["stop"] is True


class StructuredJudge(BaseChatModel):
    """A chat model that answers with a tool call, as real models do for structured output."""

    answers: list[dict[str, Any]]

    @property
    def _llm_type(self) -> str:
        return "structured-judge"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        args_ = self.answers.pop(0)
        message = AIMessage("", tool_calls=[{"name": "JudgeVerdict", "args": args_, "id": "c1"}])
        return ChatResult(generations=[ChatGeneration(message=message)])


def test_llm_judge_structured_verdicts_and_malformed_output(mem: SharedMemory) -> None:
    judge = StructuredJudge(
        answers=[
            {"verdict": "approve", "reason": "matches the docs"},
            {"verdict": "reject", "reason": "no such region"},
            {"verdict": "certainly!", "reason": 7},  # malformed: no verdict
        ]
    )
    out = run_graph(mem, {"a": "x", "b": "y", "c": "z"}, judge=judge, cross_check=False)
    report = out["validation"]
    assert [(e["attribute"], e["reason"]) for e in report["verified"]] == [
        ("a", "llm_judge: matches the docs")
    ]
    assert [(e["attribute"], e["reason"]) for e in report["rejected"]] == [
        ("b", "llm_judge: no such region")
    ]
    assert [e["attribute"] for e in report["errors"]] == ["c"]
    assert mem.facts.get(RUN, "svc", "c") is None


def test_a_judge_without_structured_output_answers_in_json(mem: SharedMemory) -> None:
    judge = GenericFakeChatModel(
        messages=iter([AIMessage('```json\n{"verdict": "approve", "reason": "plausible"}\n```')])
    )
    out = run_graph(mem, {"a": "x"}, judge=judge, cross_check=False)
    assert [e["attribute"] for e in out["validation"]["verified"]] == ["a"]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_async_checks_and_verdict_forms(mem: SharedMemory, mode: str) -> None:
    async def positive(claim: Any) -> Verdict:
        await asyncio.sleep(0)
        return Verdict("approve" if claim.value > 0 else "reject", "sign check")

    out = run_graph(
        mem,
        {"a": 5, "b": -1, "c": 0},
        mode=mode,
        validators=[positive, Check(lambda c: {"verdict": "abstain"}, name="quiet")],
        cross_check=False,
    )
    report = out["validation"]
    assert [e["attribute"] for e in report["verified"]] == ["a"]
    assert sorted(e["attribute"] for e in report["rejected"]) == ["b", "c"]


def test_no_approval_means_no_verification_unless_configured(mem: SharedMemory) -> None:
    out = run_graph(mem, {"a": 1}, validators=[lambda c: None], cross_check=False)
    assert out["validation"]["verified"] == [] and mem.facts.get(RUN, "svc", "a") is None
    assert [p["attribute"] for p in out["validation"]["pending"]] == ["a"]
    out = run_graph(
        mem,
        {"a": 1},
        validators=[lambda c: None],
        cross_check=False,
        require_approval=False,
        name="lenient",
    )
    assert mem.facts.get(RUN, "svc", "a").value == 1  # type: ignore[union-attr]


def test_an_author_that_keeps_getting_it_wrong_is_stopped(mem: SharedMemory) -> None:
    def writer(state: State, config: RunnableConfig) -> dict[str, Any]:
        mem.agent("writer", run_id="t1").facts.assert_fact("run", "svc", "a", -1)
        return {}

    builder = StateGraph(State)
    builder.add_node("writer", writer)
    builder.add_node("validate", validation_node(mem, [lambda c: c.value > 0], cross_check=False))
    builder.add_edge(START, "writer")
    builder.add_edge("writer", "validate")
    builder.add_conditional_edges(
        "validate", validation_router(next=END, max_attempts=3), ["writer", END]
    )
    graph = builder.compile(checkpointer=mem.checkpointer)
    out = graph.invoke({}, {"configurable": {"thread_id": "t1"}})
    assert out["validation"]["rejected"][0]["attempt"] == 3
    assert len(mem.facts.decisions(run="t1")) == 3


def test_bad_configuration_is_refused(mem: SharedMemory) -> None:
    for args, kwargs, match in (
        ((object(),), {}, "SharedMemory or a FactLedger"),
        ((mem, "check"), {}, "validators must be a list"),
        ((mem, [42]), {}, "a validator must be"),
        ((mem, [_approves, _approves]), {}, "unique"),
        ((mem,), {"timeout": 0}, "timeout"),
        ((mem,), {"timeout": True}, "timeout"),
        ((mem,), {"on_error": "ignore"}, "on_error"),
        ((mem,), {"human": "yes"}, "human"),
        ((mem,), {"schemas": {"a": 42}}, "pydantic"),
        ((mem,), {"schemas": ["a"]}, "schemas"),
        ((mem,), {"cross_check": "yes"}, "cross_check"),
        ((mem,), {"name": ""}, "name"),
        ((mem,), {"scopes": ["planet:x"]}, "scope"),
    ):
        with pytest.raises(InvalidConfigError, match=match):
            validation_node(*args, **kwargs)
    with pytest.raises(InvalidConfigError, match="max_attempts"):
        validation_router(next="x", max_attempts=0)
    with pytest.raises(InvalidConfigError, match="next"):
        validation_router(next="")
    with pytest.raises(InvalidConfigError, match="attribute"):
        Check(_approves, attribute=[])
    # A node without a run to validate says so instead of validating every run.
    node = validation_node(mem)
    with pytest.raises(InvalidConfigError, match="needs the run"):
        node.invoke({}, {"configurable": {}})
