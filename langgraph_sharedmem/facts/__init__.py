"""The fact ledger: facts agents assert and read, with compare-and-set versions, sources,
disagreements settled by policy, and full history. See `FactLedger` and ``docs/facts.md``."""

from langgraph_sharedmem.core.values import Scope
from langgraph_sharedmem.facts._core import Matcher
from langgraph_sharedmem.facts._model import (
    Claim,
    ClaimRecord,
    Disagreement,
    Fact,
    FactChange,
    FactVersion,
    Lineage,
    Source,
    ValidationDecision,
    ValidationEntry,
)
from langgraph_sharedmem.facts._policies import (
    CustomResolver,
    FirstWins,
    LatestWins,
    Policy,
    RequireValidation,
    TrustRanking,
)
from langgraph_sharedmem.facts._similar import EmbeddingMatcher
from langgraph_sharedmem.facts.ledger import FactLedger

__all__ = [
    "Claim",
    "CustomResolver",
    "Disagreement",
    "EmbeddingMatcher",
    "Fact",
    "FactChange",
    "FactLedger",
    "FactVersion",
    "FirstWins",
    "LatestWins",
    "Lineage",
    "Matcher",
    "ClaimRecord",
    "Policy",
    "RequireValidation",
    "Scope",
    "Source",
    "TrustRanking",
    "ValidationDecision",
    "ValidationEntry",
]
