"""Validation checkpoints: facts agents write stay in quarantine until a validation node
clears them. See `validation_node`, `validation_router` and ``docs/validation.md``."""

from langgraph_sharedmem.validation._factory import validation_node
from langgraph_sharedmem.validation._human import HumanReview
from langgraph_sharedmem.validation._report import ValidationReport
from langgraph_sharedmem.validation._router import rejections_for, validation_router
from langgraph_sharedmem.validation._validators import (
    Check,
    CrossCheck,
    JudgeVerdict,
    LLMJudge,
    SchemaCheck,
    ValidationContext,
    Validator,
)
from langgraph_sharedmem.validation._verdict import (
    GarbageVerdict,
    Verdict,
    abstain,
    approve,
    reject,
    review,
)

__all__ = [
    "Check",
    "CrossCheck",
    "GarbageVerdict",
    "HumanReview",
    "JudgeVerdict",
    "LLMJudge",
    "SchemaCheck",
    "ValidationContext",
    "ValidationReport",
    "Validator",
    "Verdict",
    "abstain",
    "approve",
    "rejections_for",
    "reject",
    "review",
    "validation_node",
    "validation_router",
]
