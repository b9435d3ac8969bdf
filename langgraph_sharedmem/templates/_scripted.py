"""`ScriptedChatModel`: an offline chat model that plays back a script, tool calls included.

    model = ScriptedChatModel([
        tool_call("lookup_order", {"order_id": "42"}),      # first reply: call a tool
        "Your order 42 is being processed.",               # second reply: plain text
        lambda messages: AIMessage(f"you said {messages[-1].content}"),   # computed reply
    ])
    model.bind_tools(tools).invoke(messages)

The templates and the demo run unchanged on a real model; this stands in for one in tests and
in the offline demo. Unlike `GenericFakeChatModel` it accepts ``bind_tools`` and returns
`AIMessage`s carrying ``tool_calls``, and it records every prompt it got (``.calls``) so a test
can check what an agent was shown.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import ConfigDict, Field, PrivateAttr

from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["Reply", "ScriptedChatModel", "tool_call"]

Reply = AIMessage | str | Callable[[list[BaseMessage]], AIMessage | str]


def tool_call(name: str, args: dict[str, Any] | None = None, *, content: str = "") -> AIMessage:
    """An `AIMessage` asking for one tool call (a fresh call id each time)."""
    return AIMessage(
        content=content,
        tool_calls=[
            {"name": name, "args": dict(args or {}), "id": f"call_{uuid.uuid4().hex[:12]}"}
        ],
    )


class ScriptedChatModel(BaseChatModel):
    """Returns ``responses`` one after another; raises when the script runs out.

    A response is an `AIMessage` (copied, with fresh tool-call ids if they are missing), a
    string (a plain answer), or a function of the prompt returning either.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    responses: list[Any] = Field(default_factory=list)
    name: str | None = "scripted"
    _next: int = PrivateAttr(default=0)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)
    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _tools: list[list[str]] = PrivateAttr(default_factory=list)

    def __init__(self, responses: Sequence[Reply] = (), **kwargs: Any) -> None:
        super().__init__(responses=list(responses), **kwargs)  # type: ignore[call-arg]
        for i, reply in enumerate(self.responses):
            if not (isinstance(reply, AIMessage | str) or callable(reply)):
                raise InvalidConfigError(
                    f"response {i} of the script is a {type(reply).__name__}; expected an "
                    "AIMessage, a string or a function of the prompt"
                )

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """Every prompt the model was given, in order."""
        return list(self._calls)

    @property
    def tools_seen(self) -> list[list[str]]:
        """The names of the tools bound at each call (empty list: none)."""
        return list(self._tools)

    @property
    def remaining(self) -> int:
        """How many scripted responses have not been played yet."""
        return len(self.responses) - self._next

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Record the tools (as OpenAI schemas, like a real provider) and return the model."""
        if tool_choice is not None:
            kwargs["tool_choice"] = tool_choice
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            if self._next >= len(self.responses):
                raise InvalidConfigError(
                    f"scripted model {self.name!r} ran out of responses after "
                    f"{len(self.responses)} calls; the last prompt ended with "
                    f"{messages[-1].content!r:.200}"
                )
            reply = self.responses[self._next]
            self._next += 1
            self._calls.append(list(messages))
            self._tools.append([t["function"]["name"] for t in kwargs.get("tools") or []])
        if callable(reply) and not isinstance(reply, AIMessage):
            reply = reply(list(messages))
        message = AIMessage(content=reply) if isinstance(reply, str) else _fresh(reply)
        return ChatResult(generations=[ChatGeneration(message=message)])


def _fresh(message: AIMessage) -> AIMessage:
    calls = [
        {**call, "id": call.get("id") or f"call_{uuid.uuid4().hex[:12]}"}
        for call in message.tool_calls
    ]
    return AIMessage(content=message.content, tool_calls=calls, name=message.name)
