"""Summarizers: a plain callable or a chat model, behind one small interface.

A summarizer takes the messages to fold in and the summary so far (None at first) and returns
the new summary, so a long history is summarized page by page and a cached summary is
extended with only the messages said since. Summaries are cached under the summarizer's
``name``: change the name when you change what it does.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, get_buffer_string

from langgraph_sharedmem.errors import InvalidConfigError

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["ChatModelSummarizer", "Summarizer", "as_summarizer"]

Summarizer = Callable[[list[BaseMessage], str | None], str]

INSTRUCTIONS: Final = (
    "You keep a running summary of a conversation between a user, an orchestrator and "
    "several agents. Fold the new messages into the summary so far. Keep decisions, facts, "
    "open questions and who said what; drop pleasantries. Answer with the summary only."
)


class ChatModelSummarizer:
    """A summarizer that asks a chat model (any LangChain ``BaseChatModel``)."""

    def __init__(
        self, model: BaseChatModel, *, instructions: str = INSTRUCTIONS, name: str | None = None
    ) -> None:
        self.model = model
        self.instructions = instructions
        model_name = getattr(model, "model_name", None) or getattr(model, "model", None)
        self.name = name or f"chat:{model._llm_type}:{model_name or ''}"

    def _prompt(self, messages: list[BaseMessage], previous: str | None) -> list[BaseMessage]:
        body = f"Summary so far:\n{previous or '(none)'}\n\nNew messages:\n"
        return [
            SystemMessage(content=self.instructions),
            HumanMessage(content=body + get_buffer_string(messages)),
        ]

    def __call__(self, messages: list[BaseMessage], previous: str | None) -> str:
        return self.model.invoke(self._prompt(messages, previous)).text

    async def acall(self, messages: list[BaseMessage], previous: str | None) -> str:
        return (await self.model.ainvoke(self._prompt(messages, previous))).text


class Adapted:
    """A summarizer with a cache name and sync and async entry points."""

    def __init__(self, fn: Any, name: str) -> None:
        self.fn, self.name = fn, name

    def __call__(self, messages: list[BaseMessage], previous: str | None) -> str:
        out = self.fn(messages, previous)
        if inspect.isawaitable(out):
            if inspect.iscoroutine(out):
                out.close()  # never awaited: close it rather than leak a warning
            raise InvalidConfigError(
                f"summarizer {self.name!r} is async; call the a-prefixed method (asummary, "
                "acontext)"
            )
        return _text(out, self.name)

    async def acall(self, messages: list[BaseMessage], previous: str | None) -> str:
        if hasattr(self.fn, "acall"):
            return _text(await self.fn.acall(messages, previous), self.name)
        if inspect.iscoroutinefunction(self.fn) or inspect.iscoroutinefunction(
            type(self.fn).__call__
        ):
            return _text(await self.fn(messages, previous), self.name)
        # A sync callable may block (a model call): a plain thread, not the database's worker.
        return _text(await asyncio.to_thread(self.fn, messages, previous), self.name)


def _text(out: Any, name: str) -> str:
    if not isinstance(out, str):
        raise InvalidConfigError(f"summarizer {name!r} returned {type(out).__name__}, not str")
    return out


def as_summarizer(obj: Any, name: str | None = None) -> Adapted | None:
    if obj is None:
        return None
    if isinstance(obj, Adapted):
        return obj
    # A chat model's class is loaded once one exists; not importing LangChain's model stack
    # here keeps ~0.25 s off every `import langgraph_sharedmem`.
    chat_models = sys.modules.get("langchain_core.language_models.chat_models")
    if chat_models is not None and isinstance(obj, chat_models.BaseChatModel):
        obj = ChatModelSummarizer(obj, name=name)
    if not callable(obj):
        raise InvalidConfigError(
            f"summarizer must be a callable (messages, previous_summary) -> str or a chat "
            f"model, got {obj!r}"
        )
    label = (
        name
        or getattr(obj, "name", None)
        or f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', type(obj).__name__)}"
    )
    return Adapted(obj, str(label))
