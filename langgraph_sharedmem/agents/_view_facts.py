"""`ViewFacts`: the fact ledger seen through an agent's view (``view.facts``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.facts import Scope

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
        """`FactLedger.assert_fact` in ``scope`` (needs write access), authored by the agent."""
        if "author" in kwargs:
            raise InvalidConfigError("the author of a view's fact is its agent; drop author=")
        view = self.view
        where = view.scope(scope)
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
        return self._read(
            "fact_get",
            scope,
            f"{subject}/{attribute}",
            lambda s: self.view.ledger.get(s, subject, attribute, **kwargs),
        )

    def list(self, scope: Any, subject: str | None = None, **kwargs: Any) -> Any:
        return self._read(
            "fact_list", scope, subject, lambda s: self.view.ledger.list(s, subject, **kwargs)
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
