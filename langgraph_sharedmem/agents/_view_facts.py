"""`ViewFacts`: the fact ledger seen through an agent's view (``view.facts``).

An agent's writes are quarantined unless a quarantine rule trusts it
(`FactLedger.set_quarantine`), and tagged with the view's run for that run's validation node.
Reads show verified facts, plus the quarantined claims the agent wrote itself (all of them,
for a validator agent), marked ``status="quarantined"``. docs/validation.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.errors import AccessDenied, InvalidConfigError

if TYPE_CHECKING:
    from langgraph_sharedmem.agents.view import AgentView

__all__ = ["ViewFacts"]

T = TypeVar("T")


class ViewFacts:
    """The fact ledger through a view: the same checks, ``author`` = the view's agent."""

    def __init__(self, view: AgentView) -> None:
        self.view = view

    def assert_fact(
        self, scope: Any, subject: str, attribute: str, value: Any, **kwargs: Any
    ) -> Any:
        """`FactLedger.assert_fact` in ``scope`` (needs write access), authored by the agent.

        Quarantined unless a quarantine rule trusts the agent; asking for
        ``status="verified"`` without such a rule raises `AccessDenied`. ``run`` defaults to
        the view's run, ``derived_from`` records lineage."""
        if "author" in kwargs:
            raise InvalidConfigError("the author of a view's fact is its agent; drop author=")
        view = self.view
        where = view.scope(scope)
        ruled = view.ledger.initial_status(where, view.agent, attribute, via_agent=True)
        status = kwargs.pop("status", None)
        if status is None:
            status = ruled
        elif status == "verified" and ruled == "quarantined":
            raise AccessDenied(
                f"agent {view.agent!r} may not write verified facts of {attribute!r} in scope "
                f"{str(where)!r}: its writes are quarantined until validated (a trusted agent "
                "needs ledger.set_quarantine(False, agent=...))",
                agent=view.agent,
                action="assert_fact",
                scope=str(where),
            )
        kwargs["status"] = status
        if kwargs.get("run") is None:
            kwargs["run"] = view.run
        view.ledger.setup()
        return view._guarded_write(
            "assert_fact",
            where,
            f"{subject}/{attribute}",
            lambda: view.ledger.assert_fact(
                where, subject, attribute, value, author=view.agent, **kwargs
            ),
        )

    def _read(self, action: str, scope: Any, subject: str | None, fn: Callable[[Scope], T]) -> T:
        view = self.view
        where = view.scope(scope)
        if not view._allows(None, where, write=False):
            raise view._deny(action, where, subject)
        result = fn(where)
        view._audit.read(view._row(action, str(where), subject))
        return result

    def get(self, scope: Any, subject: str, attribute: str, **kwargs: Any) -> Any:
        """The verified fact, or the agent's own newer quarantined claim (any quarantined
        claim for a validator), marked ``status="quarantined"``."""
        _no_viewer(kwargs)
        return self._read(
            "fact_get",
            scope,
            f"{subject}/{attribute}",
            lambda s: self.view.ledger.get(s, subject, attribute, viewer=self.view.agent, **kwargs),
        )

    def list(self, scope: Any, subject: str | None = None, **kwargs: Any) -> Any:
        """The facts of ``scope`` as `get` sees them."""
        _no_viewer(kwargs)
        return self._read(
            "fact_list",
            scope,
            subject,
            lambda s: self.view.ledger.list(s, subject, viewer=self.view.agent, **kwargs),
        )

    def history(self, scope: Any, subject: str, attribute: str) -> Any:
        return self._read(
            "fact_history",
            scope,
            f"{subject}/{attribute}",
            lambda s: self.view.ledger.history(s, subject, attribute),
        )

    def claims(self, scope: Any, subject: str, attribute: str) -> Any:
        return self._read(
            "fact_claims",
            scope,
            f"{subject}/{attribute}",
            lambda s: self.view.ledger.claims(s, subject, attribute),
        )

    def disagreements(self, scope: Any, subject: str | None = None, **kwargs: Any) -> Any:
        return self._read(
            "fact_disagreements",
            scope,
            subject,
            lambda s: self.view.ledger.disagreements(s, subject, **kwargs),
        )

    async def aassert_fact(self, *args: Any, **kwargs: Any) -> Any:
        return await self.view.db.run(self.assert_fact, *args, **kwargs)

    async def aget(self, *args: Any, **kwargs: Any) -> Any:
        return await self.view.db.run(self.get, *args, **kwargs)

    async def alist(self, *args: Any, **kwargs: Any) -> Any:
        return await self.view.db.run(self.list, *args, **kwargs)

    async def ahistory(self, *args: Any, **kwargs: Any) -> Any:
        return await self.view.db.run(self.history, *args, **kwargs)


def _no_viewer(kwargs: dict[str, Any]) -> None:
    if "viewer" in kwargs:
        raise InvalidConfigError("a view reads as its agent; drop viewer=")
