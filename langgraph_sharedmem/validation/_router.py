"""Routing on a validation report: all clear -> on, rejections -> back to the author."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from langgraph.graph import END

from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["rejections_for", "validation_router"]


def validation_router(
    *,
    next: str,
    authors: Mapping[str, str] | Callable[[str], str | None] | None = None,
    review: str | None = None,
    stop: str = END,
    max_attempts: int = 3,
    state_key: str = "validation",
) -> Callable[[Any], str]:
    """A function for ``add_conditional_edges`` after a validation node.

    * a rejection -> the node of the rejected fact's author (``authors`` maps agent ->
      node, or is a function; by default the node is named like the agent; an author with
      no node goes to ``next``). The author finds the reasons with `rejections_for`.
    * a failed validator with ``on_error="stop"`` -> ``stop`` (END by default);
    * claims a human must decide and the node has no reviewer -> ``review`` if given;
    * otherwise -> ``next`` (verified facts flow on, the rest stays in quarantine).
    """
    for what, name in (("next", next), ("stop", stop), ("state_key", state_key)):
        if not isinstance(name, str) or not name:
            raise InvalidConfigError(f"{what} must be a node name, got {name!r}")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise InvalidConfigError(f"max_attempts must be an int >= 1, got {max_attempts!r}")
    if review is not None and (not isinstance(review, str) or not review):
        raise InvalidConfigError(f"review must be a node name or None, got {review!r}")
    if authors is not None and not (isinstance(authors, Mapping) or callable(authors)):
        raise InvalidConfigError(f"authors must be a dict or a function, got {authors!r}")

    def node_of(author: str) -> str | None:
        if authors is None:
            return author
        if isinstance(authors, Mapping):
            return authors.get(author)
        return authors(author)

    def route(state: Any) -> str:
        report = _report(state, state_key)
        if report is None:
            return next
        for entry in report.get("rejected", []):
            if not entry.get("edited"):
                if entry.get("attempt", 1) >= max_attempts:
                    return stop
                return node_of(entry["author"]) or next
        if report.get("stop"):
            return stop
        if report.get("needs_review") and review is not None:
            return review
        return next

    return route


def rejections_for(
    state: Any, agent: str, *, state_key: str = "validation"
) -> list[dict[str, Any]]:
    """The facts of ``agent`` the last validation rejected, each with its ``reason``."""
    report = _report(state, state_key)
    if report is None:
        return []
    return [
        e for e in report.get("rejected", []) if e.get("author") == agent and not e.get("edited")
    ]


def _report(state: Any, state_key: str) -> Mapping[str, Any] | None:
    report = state.get(state_key) if isinstance(state, Mapping) else getattr(state, state_key, None)
    return report if isinstance(report, Mapping) else None
