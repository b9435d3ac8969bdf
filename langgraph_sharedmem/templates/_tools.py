"""`fact_tools`: the fact ledger as LangChain tools bound to an agent's view."""

from __future__ import annotations

import json

from langchain_core.tools import StructuredTool
from pydantic import BaseModel, ConfigDict, Field

from langgraph_sharedmem.agents import AgentView
from langgraph_sharedmem.agents.tools import as_tool_error, view_tool  # as memory_tools do

__all__ = ["fact_tools"]

FactValue = str | int | float | bool


class _RecordArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(description="what the fact is about, e.g. 'order:42'")
    attribute: str = Field(description="which property, e.g. 'status'")
    value: FactValue = Field(description="the value")
    source: str | None = Field(
        default=None, description="where it comes from: a tool name, a document, 'customer'"
    )


class _ReadArgs(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: str = Field(description="what the fact is about")
    attribute: str = Field(description="which property")


def fact_tools(view: AgentView, *, scope: str | None = None) -> list[StructuredTool]:
    """``record_fact`` and ``read_fact`` acting through ``view`` in ``scope`` (default: the
    view's user, else its run). The author is always the view's agent; access rules,
    quarantine and disagreement policies apply as for any view write."""
    where = default_scope(view, scope)
    view.scope(where)  # refuses a scope the view does not have, now rather than per call

    def record_fact(
        subject: str, attribute: str, value: FactValue, source: str | None = None
    ) -> str:
        # The view tags the claim with its run, for that run's validation checkpoint.
        change = as_tool_error(
            lambda: view.facts.assert_fact(
                where, subject, attribute, value, source={"said_by": source}
            )
        )
        status = change.claim.status
        if status == "verified":
            return f"recorded {subject}.{attribute} = {value!r} (verified)"
        if status == "quarantined":
            return f"recorded {subject}.{attribute} = {value!r}; unverified until validated"
        shown = change.fact.value if change.fact is not None else None
        return (
            f"not accepted ({status}): {subject}.{attribute} is settled as {shown!r} "
            f"(disagreement {change.disagreement_id})"
        )

    def read_fact(subject: str, attribute: str) -> str:
        fact = as_tool_error(lambda: view.facts.get(where, subject, attribute))
        if fact is None:
            return "unknown"
        return json.dumps(
            {"value": fact.value, "status": fact.status, "author": fact.author},
            ensure_ascii=False,
        )

    return [
        view_tool(
            record_fact,
            "record_fact",
            "Record a fact others can rely on once verified (subject, attribute, value, source).",
            _RecordArgs,
        ),
        view_tool(read_fact, "read_fact", "Read the settled value of a fact.", _ReadArgs),
    ]


def default_scope(view: AgentView, scope: str | None) -> str:
    """Where an agent's facts live: ``scope``, else the view's user, else its run."""
    return scope or ("user" if view.user is not None else "run")
