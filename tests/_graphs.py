"""Real LangGraph graphs used by tests/test_graphs.py and by the child processes it starts.

Everything here is deterministic (message ids, tool-call ids, contents), so two runs of the
same inputs -- in two processes, or on two checkpointers -- produce equal states, and tests
can spell out the exact state they expect.

This module is imported as ``_graphs`` (pytest puts ``tests/`` on ``sys.path``; the child
processes get it through ``PYTHONPATH``).
"""

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any, NamedTuple, NotRequired, Optional, TypedDict, Union

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Send, interrupt
from pydantic import BaseModel


def linear_graph(state: type[Any], *nodes: tuple[str, Any]) -> StateGraph:
    """START -> nodes[0] -> ... -> nodes[-1] -> END; ``(name, callable or compiled graph)`` pairs.

    The many straight-line test graphs differ only in their state type and nodes.
    """
    builder = StateGraph(state)
    builder.add_sequence(list(nodes))
    builder.add_edge(START, nodes[0][0])
    builder.add_edge(nodes[-1][0], END)
    return builder


# ---------------------------------------------------------------------------------------------
# A tool-calling chat agent on an add_messages channel.
#
# One turn: Human -> AI with a tool call -> ToolMessage -> final AI answer (3 supersteps).
# Ids derive from the human message id, so they stay unique when messages are removed.


class ChatState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def human(i: int, text: str = "question") -> HumanMessage:
    """The human message of turn ``i``: content ``f"{text} {i}"``, id ``f"h{i}"``."""
    return HumanMessage(content=f"{text} {i}", id=f"h{i}")


def _last_human(messages: Sequence[AnyMessage]) -> AnyMessage:
    return next(m for m in reversed(messages) if isinstance(m, HumanMessage))


def _agent(state: ChatState) -> dict[str, list[AnyMessage]]:
    last = state["messages"][-1]
    turn = _last_human(state["messages"])
    if isinstance(last, ToolMessage):
        return {
            "messages": [
                AIMessage(
                    content=f"answer to {turn.content}: {last.content}", id=f"{turn.id}-final"
                )
            ]
        }
    return {
        "messages": [
            AIMessage(
                content="",
                id=f"{turn.id}-ai",
                tool_calls=[
                    {
                        "name": "lookup",
                        "args": {"query": str(last.content), "limit": 3},
                        "id": f"{turn.id}-call",
                        "type": "tool_call",
                    }
                ],
            )
        ]
    }


def _tools(state: ChatState) -> dict[str, list[AnyMessage]]:
    last = state["messages"][-1]
    assert isinstance(last, AIMessage) and last.tool_calls
    call = last.tool_calls[0]
    return {
        "messages": [
            ToolMessage(
                content=f"result for {call['args']['query']}",
                tool_call_id=call["id"],
                name=call["name"],
                id=f"{call['id']}-result",
            )
        ]
    }


def _route_chat(state: ChatState) -> str:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else END


def build_chat_graph() -> StateGraph:
    """A ReAct-style agent: agent -> tools -> agent -> END on every turn."""
    builder = StateGraph(ChatState)
    builder.add_node("agent", _agent)
    builder.add_node("tools", _tools)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", _route_chat)
    builder.add_edge("tools", "agent")
    return builder


def expected_turn(i: int, text: str = "question") -> list[AnyMessage]:
    """The four messages turn ``i`` of the chat graph adds, exactly as the graph builds them."""
    h = human(i, text)
    call_id = f"{h.id}-call"
    return [
        h,
        AIMessage(
            content="",
            id=f"{h.id}-ai",
            tool_calls=[
                {
                    "name": "lookup",
                    "args": {"query": h.content, "limit": 3},
                    "id": call_id,
                    "type": "tool_call",
                }
            ],
        ),
        ToolMessage(
            content=f"result for {h.content}",
            tool_call_id=call_id,
            name="lookup",
            id=f"{call_id}-result",
        ),
        AIMessage(content=f"answer to {h.content}: result for {h.content}", id=f"{h.id}-final"),
    ]


# ---------------------------------------------------------------------------------------------
# A counting loop on a DeltaChannel: each superstep appends ``n`` to ``items``.

DELTA_SNAPSHOT_FREQUENCY = 3


def extend_list(state: list[Any], writes: Sequence[list[Any]]) -> list[Any]:
    """DeltaChannel reducer: append every write's elements, in order (batching-invariant)."""
    out = list(state)
    for write in writes:
        out.extend(write)
    return out


def _delta_list() -> DeltaChannel[list[Any]]:
    return DeltaChannel(extend_list, snapshot_frequency=DELTA_SNAPSHOT_FREQUENCY)


class CounterState(TypedDict):
    items: Annotated[list[Any], _delta_list()]
    n: int
    limit: int


class CounterWithSpareState(CounterState):
    # A second delta channel that this graph never writes (an optional field).
    spare: NotRequired[Annotated[list[Any], _delta_list()]]


def _count(state: CounterState) -> dict[str, Any]:
    return {"items": [state["n"]], "n": state["n"] + 1}


def _route_count(state: CounterState) -> str:
    return "count" if state["n"] < state["limit"] else END


def build_counter_graph(*, with_spare_channel: bool = False) -> StateGraph:
    """START -> count -> count -> ... until ``n == limit``; one superstep per count."""
    builder = StateGraph(CounterWithSpareState if with_spare_channel else CounterState)
    builder.add_node("count", _count)
    builder.add_edge(START, "count")
    builder.add_conditional_edges("count", _route_count)
    return builder


# ---------------------------------------------------------------------------------------------
# Human-in-the-loop approval: draft -> review (interrupt) -> publish.


class ApprovalState(TypedDict, total=False):
    request: str
    decision: str
    log: Annotated[list[str], operator.add]


def _draft(state: ApprovalState) -> ApprovalState:
    return {"log": [f"drafted {state['request']}"]}


def _review(state: ApprovalState) -> ApprovalState:
    decision = interrupt({"question": "approve?", "request": state["request"]})
    return {"decision": decision, "log": [f"reviewed: {decision}"]}


def _publish(state: ApprovalState) -> ApprovalState:
    verb = "published" if state["decision"] == "approve" else "discarded"
    return {"log": [f"{verb} {state['request']}"]}


def build_approval_graph() -> StateGraph:
    return linear_graph(
        ApprovalState, ("draft", _draft), ("review", _review), ("publish", _publish)
    )


# ---------------------------------------------------------------------------------------------
# A linear pipeline for update_state / time travel. ``calls`` counts node executions, so a
# re-executed node is visible in the state.


class DraftState(TypedDict, total=False):
    topic: str
    draft: str
    log: Annotated[list[str], operator.add]


def build_draft_graph(calls: dict[str, int] | None = None) -> StateGraph:
    """write -> edit -> publish; each node logs its name and how many times it has run."""
    counter = calls if calls is not None else {}

    def tick(name: str) -> str:
        counter[name] = counter.get(name, 0) + 1
        return f"{name}#{counter[name]}"

    def write(state: DraftState) -> DraftState:
        return {"draft": f"about {state['topic']}", "log": [tick("write")]}

    def edit(state: DraftState) -> DraftState:
        return {"draft": state["draft"] + " (edited)", "log": [tick("edit")]}

    def publish(state: DraftState) -> DraftState:
        return {"log": [f"{tick('publish')}: {state['draft']}"]}

    return linear_graph(DraftState, ("write", write), ("edit", edit), ("publish", publish))


# ---------------------------------------------------------------------------------------------
# A parent graph whose middle node is a compiled subgraph that interrupts.


class ChildState(TypedDict, total=False):
    topic: str
    answer: str
    notes: Annotated[list[str], operator.add]


class ParentState(TypedDict, total=False):
    topic: str
    answer: str
    log: Annotated[list[str], operator.add]


def _child_research(state: ChildState) -> ChildState:
    return {"notes": [f"researched {state['topic']}"]}


def _child_ask(state: ChildState) -> ChildState:
    reply = interrupt({"question": f"what about {state['topic']}?"})
    return {"answer": f"{state['topic']}: {reply}", "notes": [f"asked, got {reply}"]}


def build_child_graph() -> StateGraph:
    return linear_graph(ChildState, ("research", _child_research), ("ask", _child_ask))


def build_parent_graph() -> StateGraph:
    """prepare -> child (compiled subgraph: research -> ask[interrupt]) -> report."""

    def prepare(state: ParentState) -> ParentState:
        return {"log": [f"prepared {state['topic']}"]}

    def report(state: ParentState) -> ParentState:
        return {"log": [f"reported {state['answer']}"]}

    return linear_graph(
        ParentState,
        ("prepare", prepare),
        # The child's own checkpointer is inherited from the parent when compiled without one.
        ("child", build_child_graph().compile()),
        ("report", report),
    )


# ---------------------------------------------------------------------------------------------
# Parallel writers on a DeltaChannel: 12 Send tasks per round plus two static branches, so the
# order in which one superstep's writes are replayed matters.

FANOUT_WIDTH = 12
FANOUT_ROUNDS = 3


class FanoutState(TypedDict, total=False):
    items: Annotated[list[str], DeltaChannel(extend_list, snapshot_frequency=4)]
    round: int


def build_fanout_graph() -> StateGraph:
    """plan -> Send x12 -> worker (x12, in parallel) -> plan ... for 3 rounds; a, z at the start."""

    def plan(state: FanoutState) -> FanoutState:
        return {"round": state.get("round", 0) + 1}

    def fan_out(state: FanoutState) -> list[Send]:
        return [Send("worker", {"i": i, "round": state["round"]}) for i in range(FANOUT_WIDTH)]

    def worker(arg: Any) -> FanoutState:
        return {"items": [f"r{arg['round']}w{arg['i']}"]}

    def route(state: FanoutState) -> str:
        return "plan" if state["round"] < FANOUT_ROUNDS else END

    builder = StateGraph(FanoutState)
    builder.add_node("plan", plan)
    builder.add_node("worker", worker)  # type: ignore[arg-type]  # takes a Send payload
    builder.add_node("a", lambda state: {"items": ["a"]})
    builder.add_node("z", lambda state: {"items": ["z"]})
    builder.add_edge(START, "plan")
    builder.add_edge(START, "a")
    builder.add_edge(START, "z")
    builder.add_conditional_edges("plan", fan_out)
    builder.add_conditional_edges("worker", route)
    return builder


# ---------------------------------------------------------------------------------------------
# A node that asks two questions in a row (two interrupts in one node).


class FormState(TypedDict, total=False):
    name: str
    age: str


def _fill_form(state: FormState) -> FormState:
    name = interrupt("name?")
    age = interrupt(f"age of {name}?")
    return {"name": name, "age": age}


def build_form_graph() -> StateGraph:
    return linear_graph(FormState, ("fill_form", _fill_form))


# ---------------------------------------------------------------------------------------------
# A graph whose state declares the application's own types: a dataclass, a Pydantic model, an
# Enum and a NamedTuple, directly and inside Optional / Union / list / dict. They live here (an
# importable module) so a fresh process can rebuild them.


class Priority(Enum):
    LOW = "low"
    HIGH = "high"


class Point(NamedTuple):
    x: int
    y: int


@dataclass
class Action:
    kind: str
    target: str


class Ticket(BaseModel):
    number: int
    priority: Priority
    tags: list[str] = []


@dataclass
class Plan:
    steps: list[Action]
    owner: Ticket | None = None


class TypedState(TypedDict, total=False):
    action: Action
    priority: Priority
    where: Point
    ticket: Optional[Ticket]  # noqa: UP045  # the typing spelling is part of what is tested
    either: Union[Action, Point]  # noqa: UP007
    plans: list[Plan]
    by_name: dict[str, Ticket]
    log: Annotated[list[str], operator.add]


def typed_step(n: int, prior: TypedState) -> TypedState:
    """The update step ``n`` (0-based) writes, given the state before it."""
    ticket = Ticket(number=n, priority=Priority.HIGH, tags=[f"t{n}"])
    return {
        "action": Action("move", f"t{n}"),
        "priority": Priority.HIGH if n % 2 else Priority.LOW,
        "where": Point(n, -n),
        "ticket": ticket if n else None,
        "either": Point(n, n) if n % 2 else Action("wait", str(n)),
        "plans": [*prior.get("plans", []), Plan([Action("step", str(n))], owner=ticket)],
        "by_name": {**prior.get("by_name", {}), f"k{n}": ticket},
        "log": [f"act {n}"],
    }


def expected_typed_state(steps: int, *, reviews: Sequence[str] = ()) -> TypedState:
    """The state after ``steps`` runs of the ``act`` node (and the given review answers)."""
    state: TypedState = {}
    for n in range(steps):
        update = typed_step(n, state)
        state = {**state, **update, "log": [*state.get("log", []), *update["log"]]}
        if n < len(reviews):
            state["log"] = [*state["log"], f"reviewed {reviews[n]}"]
    return state


def _typed_act(state: TypedState) -> TypedState:
    steps = sum(1 for line in state.get("log", []) if line.startswith("act "))
    # Attribute access proves the values came back as the declared types, not dicts.
    if steps:
        assert isinstance(state["action"], Action) and state["action"].target == f"t{steps - 1}"
        assert isinstance(state["where"], Point) and isinstance(state["priority"], Priority)
        assert all(isinstance(p.steps[0], Action) for p in state["plans"])
    return typed_step(steps, state)


def _typed_review(state: TypedState) -> TypedState:
    answer = interrupt({"ticket": state["ticket"], "where": state["where"]})
    return {"log": [f"reviewed {answer}"]}


def build_typed_graph(*, review: bool = False) -> StateGraph:
    """act (-> review[interrupt]) over `TypedState`."""
    if review:
        return linear_graph(TypedState, ("act", _typed_act), ("review", _typed_review))
    return linear_graph(TypedState, ("act", _typed_act))


def build_typed_parent_graph() -> StateGraph:
    """A parent whose ``child`` node is the typed graph with its review interrupt."""
    return linear_graph(TypedState, ("child", build_typed_graph(review=True).compile()))


def typed_resume_worker(db_path: str, barrier: Any, results: Any) -> None:
    """In a fresh process: read the typed thread, run one more step, report the states."""
    from langgraph_sharedmem import SharedMemorySaver  # noqa: PLC0415

    try:
        barrier.wait()
        config = {"configurable": {"thread_id": "typed"}}
        with SharedMemorySaver(db_path) as saver:
            graph = build_typed_graph().compile(checkpointer=saver)
            before = graph.get_state(config).values
            after = graph.invoke({"log": []}, config)
        results.put(("ok", before, after))
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(("error", repr(exc), None))


DEV_GRAPH_FILE = """
import operator
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, TypedDict

from langgraph.graph import END, START, StateGraph


class Mood(Enum):
    CALM = "calm"


@dataclass
class Step:
    kind: str
    n: int


class State(TypedDict, total=False):
    step: Step | None
    mood: Mood
    log: Annotated[list[str], operator.add]


def act(state: State) -> State:
    n = len(state.get("log", []))
    if n:
        assert isinstance(state["step"], Step) and state["step"].n == n - 1
    return {"step": Step("move", n), "mood": Mood.CALM, "log": [f"act {n}"]}


builder = StateGraph(State)
builder.add_node("act", act)
builder.add_edge(START, "act")
builder.add_edge("act", END)
graph = builder.compile()
"""


def dev_loaded_worker(graph_path: str, db_path: str, barrier: Any, results: Any) -> None:
    """Load a graph file the way `langgraph dev` does and run it twice, saver lent by config."""
    import asyncio  # noqa: PLC0415
    import os  # noqa: PLC0415

    # What `langgraph dev` sets before langgraph_api is imported (langgraph_api/cli.py).
    for key, value in {
        "REDIS_URI": "fake",
        "DATABASE_URI": ":memory:",
        "MIGRATIONS_PATH": "__inmem",
        "LANGGRAPH_RUNTIME_EDITION": "inmem",
        "LANGSMITH_LANGGRAPH_API_VARIANT": "local_dev",
    }.items():
        os.environ.setdefault(key, value)
    from langgraph.constants import CONFIG_KEY_CHECKPOINTER  # noqa: PLC0415
    from langgraph_api.graph import GraphSpec, _graph_from_spec  # noqa: PLC0415

    from langgraph_sharedmem import SharedMemorySaver  # noqa: PLC0415

    async def run() -> list[Any]:
        graph = _graph_from_spec(GraphSpec(id="dev", path=graph_path, variable="graph"))
        async with SharedMemorySaver(db_path) as saver:
            config = {"configurable": {"thread_id": "dev", CONFIG_KEY_CHECKPOINTER: saver}}
            for _ in range(2):
                await graph.ainvoke({"log": []}, config)
            values = (await graph.aget_state(config)).values
        return [type(values["step"]).__module__, values["step"].n, values["mood"].value]

    try:
        barrier.wait()
        results.put(("ok", asyncio.run(run())))
    except Exception as exc:  # reported to the parent, which asserts on it
        results.put(("error", repr(exc)))
