"""Stored messages, pages, and how a message becomes a row: pure functions, no I/O."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from langchain_core.messages import BaseMessage, message_to_dict, messages_from_dict
from langchain_core.messages.utils import count_tokens_approximately

from langgraph_sharedmem.errors import InvalidConfigError

__all__ = [
    "MessagePage",
    "StoredMessage",
    "TokenCounter",
    "Visibility",
    "approximate_tokens",
]

Visibility = Literal["public", "recipients", "private"]
VISIBILITIES: Final = ("public", "recipients", "private")
TokenCounter = Callable[[BaseMessage], int]
MAX_MESSAGE_BYTES: Final = 16 * 1024 * 1024


def approximate_tokens(message: BaseMessage) -> int:
    """The default token counter: LangChain's ``count_tokens_approximately`` (about four
    characters a token, tool calls included), with no tokenizer to download."""
    return int(count_tokens_approximately([message]))


@dataclass(frozen=True)
class StoredMessage:
    """One message of the history with where it was said: ``seq`` (its place, growing),
    ``run``, ``thread``, ``sender``, ``recipients``, ``visibility``, ``scope`` (a `Scope.key`
    or None), ``created_at`` (epoch seconds), ``tokens``, ``bytes`` and the ``message``."""

    seq: int
    run: str
    thread: str | None
    sender: str
    recipients: tuple[str, ...]
    visibility: Visibility
    scope: str | None
    created_at: float
    tokens: int
    bytes: int
    message: BaseMessage


@dataclass(frozen=True)
class MessagePage:
    """One page of a history: ``items`` in the order asked, and ``next_cursor`` to pass as
    ``after`` (oldest first) or ``before`` (newest first) for the next page; None at the end."""

    items: list[StoredMessage]
    next_cursor: int | None

    @property
    def messages(self) -> list[BaseMessage]:
        return [m.message for m in self.items]


def encode(message: Any) -> tuple[str, str, str]:
    """``(type, json, text)`` of a message; `InvalidConfigError` unless it round-trips."""
    if not isinstance(message, BaseMessage):
        raise InvalidConfigError(
            f"a conversation message must be a LangChain BaseMessage (HumanMessage, AIMessage, "
            f"ToolMessage, ...), got {type(message).__name__}"
        )
    data = message_to_dict(message)
    try:
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidConfigError(
            f"message {message.id or ''!r} holds a value JSON cannot store ({exc}); keep "
            "content, additional_kwargs and response_metadata to plain JSON data"
        ) from exc
    if json.loads(text) != data:  # a tuple or a subclass that JSON would silently change
        raise InvalidConfigError(
            f"message {message.id or ''!r} would not come back as it is (a tuple or another "
            "non-JSON type in its fields); keep its fields to plain JSON data"
        )
    try:  # a lone surrogate (e.g. from a bad decode upstream) survives JSON but not UTF-8
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start : exc.end].encode("unicode_escape").decode()
        raise InvalidConfigError(
            f"{_named(message)} is not valid Unicode: it holds the lone surrogate {bad} "
            f"(character {exc.start} of its JSON); decode its text properly, or with "
            "errors='replace', before storing it"
        ) from exc
    if size > MAX_MESSAGE_BYTES:
        raise InvalidConfigError(
            f"{_named(message)} is {size} bytes as JSON; the limit is {MAX_MESSAGE_BYTES}"
        )
    return message.type, text, text_of(message)


def _named(message: BaseMessage) -> str:
    return f"message {message.id!r}" if message.id else "the message"


def check_text(what: str, text: Any) -> str:
    """A free text argument (a query): a str that is valid Unicode."""
    if not isinstance(text, str):
        raise InvalidConfigError(f"{what} must be a string, got {text!r}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidConfigError(f"{what} {text!r} is not valid Unicode ({exc.reason})") from exc
    return text


def decode(text: str) -> BaseMessage:
    return messages_from_dict([json.loads(text)])[0]


def text_of(message: BaseMessage) -> str:
    """What relevance ranking and summaries read: the text, and the names and arguments of
    tool calls (an AI message that only calls tools has no text)."""
    parts: list[str] = [str(message.text)]
    for call in getattr(message, "tool_calls", None) or ():
        args = json.dumps(call.get("args"), ensure_ascii=False, default=str)
        parts.append(f"{call.get('name')}({args})")
    return "\n".join(p for p in parts if p)


def check_recipients(recipients: Any) -> tuple[str, ...]:
    if isinstance(recipients, str):
        return (recipients,)
    if not isinstance(recipients, Sequence) or not all(
        isinstance(r, str) and r for r in recipients
    ):
        raise InvalidConfigError(
            f"recipients must be a list of agent ids (non-empty strings), got {recipients!r}"
        )
    return tuple(dict.fromkeys(recipients))


def check_visibility(visibility: Any, recipients: tuple[str, ...]) -> Visibility:
    if visibility is None:
        return "recipients" if recipients else "public"
    if visibility not in VISIBILITIES:
        raise InvalidConfigError(
            f"visibility must be one of {list(VISIBILITIES)}, got {visibility!r}"
        )
    if visibility == "recipients" and not recipients:
        raise InvalidConfigError("visibility='recipients' needs at least one recipient")
    return visibility  # type: ignore[no-any-return]


def check_count(what: str, value: Any, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidConfigError(f"{what} must be an integer >= {minimum}, got {value!r}")
    return value


def stored_from_row(row: Sequence[Any]) -> StoredMessage:
    seq, run, thread, sender, recipients, visibility, scope, message, tokens, size, at = row[:11]
    return StoredMessage(
        seq=seq,
        run=run,
        thread=thread,
        sender=sender,
        recipients=tuple(json.loads(recipients)),
        visibility=visibility,
        scope=scope,
        created_at=at,
        tokens=tokens,
        bytes=size,
        message=decode(message),
    )


def drop_orphan_tool_results(messages: list[BaseMessage]) -> list[BaseMessage]:
    """Leave out tool results whose calling AI message is not in the slice: chat APIs refuse
    a tool message that answers no call they were shown."""
    called = {call.get("id") for m in messages for call in (getattr(m, "tool_calls", None) or ())}
    return [m for m in messages if m.type != "tool" or getattr(m, "tool_call_id", None) in called]
