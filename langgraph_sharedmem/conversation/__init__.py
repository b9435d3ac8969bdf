"""The shared conversation history: messages of the orchestrator and its agents, persisted
per run and thread, handed to each agent as a slice it may see (last N, a token budget, the
most relevant, a summary) instead of the whole transcript. See `ConversationLog` and
``docs/conversation.md``."""

from langgraph_sharedmem.conversation._model import (
    MessagePage,
    StoredMessage,
    TokenCounter,
    Visibility,
    approximate_tokens,
)
from langgraph_sharedmem.conversation._summary import ChatModelSummarizer, Summarizer
from langgraph_sharedmem.conversation.log import ConversationLog

__all__ = [
    "ChatModelSummarizer",
    "ConversationLog",
    "MessagePage",
    "StoredMessage",
    "Summarizer",
    "TokenCounter",
    "Visibility",
    "approximate_tokens",
]
