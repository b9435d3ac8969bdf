"""What the registry returns, and the checks that turn arguments into a stored profile.

Pure functions, no I/O. Every check raises `InvalidConfigError` naming the field, before a
transaction starts, so a refused registration writes nothing.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from langgraph_sharedmem.core.values import Scope, as_scope, canonical_json, check_id, check_name
from langgraph_sharedmem.errors import InvalidConfigError

__all__ = ["AgentMatch", "AgentProfile", "Expert", "Route", "check_profile"]

MAX_DESCRIPTION: Final = 8_000
MAX_LABEL: Final = 256
MAX_ITEMS: Final = 256
MAX_ENDPOINT: Final = 2_048
MAX_VERSION: Final = 128
MAX_METADATA: Final = 64 * 1024


@dataclass(frozen=True)
class AgentProfile:
    """A registered agent. Times are Unix seconds; ``stale`` is judged when it was read
    (not retired, last heartbeat older than its timeout)."""

    name: str
    description: str
    capabilities: tuple[str, ...]
    tools: tuple[str, ...]
    endpoint: str | None
    graph_id: str | None
    owner: str | None
    allowed_scopes: tuple[str, ...]
    trust: float
    version: str
    metadata: dict[str, Any]
    heartbeat_timeout: float | None
    registered_at: float
    updated_at: float
    last_seen: float
    retired_at: float | None
    stale: bool

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    @property
    def available(self) -> bool:
        """Neither retired nor stale: lookups and routing return it."""
        return self.retired_at is None and not self.stale


@dataclass(frozen=True)
class AgentMatch:
    """One agent found by `Registry.search`: ``score`` is the cosine similarity of the query
    to its description (``method="semantic"``) or the share of the query's words found in it
    (``method="keyword"``, when the store has no index)."""

    agent: AgentProfile
    score: float
    method: Literal["semantic", "keyword"]


@dataclass(frozen=True)
class Route:
    """One candidate for a task (`Registry.route`): ``score`` is the key the routes were
    ordered by (the weighted parts, see ``docs/registry.md``); ``semantic_score`` and
    ``capability_score`` are two of its parts, each in [0, 1], ``outcome_score`` the vote
    of the nearest past tasks (`Registry.record_outcome`), in [-1, 1]; ``reasons`` say in
    words where it came from."""

    agent: AgentProfile
    score: float
    capability_score: float
    semantic_score: float
    trust: float
    reasons: tuple[str, ...]
    outcome_score: float = 0.0

    @property
    def name(self) -> str:
        return self.agent.name


@dataclass(frozen=True)
class Expert:
    """An author of verified facts about a subject (`Registry.who_knows`): how many facts,
    which attributes, when it last backed one (ISO time), and its profile if registered."""

    agent: str
    facts: int
    attributes: tuple[str, ...]
    last_at: str
    profile: AgentProfile | None


# -- checks ----------------------------------------------------------------------------------


def check_text(what: str, value: Any, *, limit: int, empty: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidConfigError(f"{what} must be a string, got {type(value).__name__} {value!r}")
    if not empty and not value.strip():
        raise InvalidConfigError(f"{what} must not be empty")
    if value:  # length and Unicode as for every name; check_name refuses "", allowed here
        check_name(what, value, limit=limit)
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t\r" for c in value):
        raise InvalidConfigError(f"{what} {value!r} contains a control character")
    return value


def _optional_label(what: str, value: Any) -> str | None:
    if value is None:
        return None
    text = check_text(what, value, limit=MAX_LABEL, empty=False)
    if "\n" in text or "\r" in text or "\t" in text:
        raise InvalidConfigError(f"{what} {value!r} contains a control character")
    return text


def _labels(what: str, values: Any, *, lower: bool) -> list[str]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise InvalidConfigError(
            f"{what} must be a list of strings, got {type(values).__name__} {values!r}"
        )
    out: list[str] = []
    for i, value in enumerate(values):
        if not isinstance(value, str) and what == "tools":
            value = getattr(value, "name", value)  # a LangChain tool: keep its name
        label = _optional_label(f"{what}[{i}]", value)
        assert label is not None
        label = label.strip().lower() if lower else label.strip()
        if label not in out:
            out.append(label)
    if len(out) > MAX_ITEMS:
        raise InvalidConfigError(f"{what} has {len(out)} entries; the limit is {MAX_ITEMS}")
    return out


def _endpoint(value: Any) -> str | None:
    if value is None:
        return None
    text = check_text("endpoint", value, limit=MAX_ENDPOINT, empty=False)
    parts = urlsplit(text)
    if not parts.scheme or not parts.netloc or any(c.isspace() for c in text):
        raise InvalidConfigError(
            f"endpoint must be a URL with a scheme and a host (e.g. 'http://host:8123'), "
            f"got {value!r}"
        )
    return text


def _scope_label(i: int, value: Any) -> str:
    what = f"allowed_scopes[{i}]"
    kind, ident = None, None
    if isinstance(value, str) and value.endswith(":*"):
        kind, ident = value[:-2], "*"
    elif isinstance(value, (tuple, list)) and len(value) == 2 and value[1] == "*":
        kind, ident = value[0], "*"
    if ident == "*":
        if kind not in ("user", "agent", "run"):
            raise InvalidConfigError(
                f"{what} {value!r}: the wildcard '*' needs a kind 'user', 'agent' or 'run'"
            )
        return f"{kind}:*"
    try:
        return str(as_scope(value))
    except InvalidConfigError as exc:
        raise InvalidConfigError(f"{what}: {exc}") from exc


def _trust(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidConfigError(f"trust must be a number in [0, 1], got {value!r}")
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InvalidConfigError(f"trust must be in [0, 1], got {value!r}")
    return float(value)


def check_seconds(what: str, value: Any) -> float | None:
    """None, or a number of seconds > 0 (``math.inf``: never)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidConfigError(
            f"{what} must be a number of seconds > 0 (math.inf: never), or None; got {value!r}"
        )
    return float(value)


def _metadata(value: Any) -> str:
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise InvalidConfigError(f"metadata must be a dict, got {type(value).__name__} {value!r}")
    text = canonical_json(dict(value), what="metadata")
    if len(text) > MAX_METADATA:
        raise InvalidConfigError(
            f"metadata is {len(text)} bytes as JSON; the limit is {MAX_METADATA}"
        )
    return text


def check_profile(name: Any, fields: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form of a profile (JSON text for lists), every field checked."""
    row: dict[str, Any] = {
        "name": check_id("agent name", name),
        "description": check_text("description", fields["description"], limit=MAX_DESCRIPTION),
        "capabilities": _labels("capabilities", fields["capabilities"], lower=True),
        "tools": _labels("tools", fields["tools"], lower=False),
        "endpoint": _endpoint(fields["endpoint"]),
        "graph_id": _optional_label("graph_id", fields["graph_id"]),
        "owner": _optional_label("owner", fields["owner"]),
        "allowed_scopes": [_scope_label(i, s) for i, s in enumerate(_items(fields))],
        "trust": _trust(fields["trust"]),
        "version": check_text("version", fields["version"], limit=MAX_VERSION),
        "metadata": _metadata(fields["metadata"]),
        "heartbeat_timeout": check_seconds("heartbeat_timeout", fields["heartbeat_timeout"]),
    }
    row["allowed_scopes"] = list(dict.fromkeys(row["allowed_scopes"]))
    row["text"] = describe(row)
    for key in ("capabilities", "tools", "allowed_scopes"):
        row[key] = json.dumps(row[key], ensure_ascii=False)
    return row


def _items(fields: Mapping[str, Any]) -> list[Any]:
    value = fields["allowed_scopes"]
    if isinstance(value, (str, Scope)) or not isinstance(value, Iterable):
        raise InvalidConfigError(
            f"allowed_scopes must be a list of scopes (e.g. ['app', 'user:*']), got {value!r}"
        )
    return list(value)


def describe(row: Mapping[str, Any]) -> str:
    """The text that stands for an agent in the semantic index and in keyword matching."""
    parts = [row["name"].replace("_", " ").replace("-", " ") + "."]
    if row["description"]:
        parts.append(row["description"].strip())
    if row["capabilities"]:
        caps = (c.replace("_", " ").replace("-", " ") for c in row["capabilities"])
        parts.append("Capabilities: " + ", ".join(caps) + ".")
    if row["tools"]:
        parts.append("Tools: " + ", ".join(row["tools"]) + ".")
    return " ".join(parts)


def profile_from_row(row: Any) -> AgentProfile:
    """An `AgentProfile` from a `_schema.SELECT_AGENTS` row."""
    return AgentProfile(
        name=row[0],
        description=row[1],
        capabilities=tuple(json.loads(row[2])),
        tools=tuple(json.loads(row[3])),
        endpoint=row[4],
        graph_id=row[5],
        owner=row[6],
        allowed_scopes=tuple(json.loads(row[7])),
        trust=row[8],
        version=row[9],
        metadata=json.loads(row[10]),
        heartbeat_timeout=row[11],
        registered_at=row[13],
        updated_at=row[14],
        last_seen=row[15],
        retired_at=row[16],
        stale=bool(row[17]),
    )


def change_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored profile as the JSON-able ``data`` of its change-log row."""
    data = {k: row[k] for k in row if k not in ("text", "name")}
    for key in ("capabilities", "tools", "allowed_scopes", "metadata"):
        data[key] = json.loads(row[key])
    if data["heartbeat_timeout"] == math.inf:
        data["heartbeat_timeout"] = "never"  # JSON has no infinity
    return data
