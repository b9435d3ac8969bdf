"""Value types and checks every part shares: `Scope`, names, ids, canonical JSON, and the one
mapping from scopes to store namespaces.

Pure functions, no I/O; everything raises `InvalidConfigError` naming the problem before
anything is written.

Scopes and namespaces. Every memory an agent view writes lives under::

    ("sharedmem", "app",   "default", [collection])   app-wide defaults (one app per file)
    ("sharedmem", "user",  <user_id>, [collection])   one user's memory, shared by the agents
                                                      that user granted
    ("sharedmem", "agent", <agent_id>, [collection])  one agent's private memory
    ("sharedmem", "run",   <run_id>,  [collection])   one conversation or job

The shape is always (root, kind, id[, collection]), so a namespace names its scope without a
lookup and a scope is one namespace prefix: the store's prefix match is label by label, so
("sharedmem", "user", "u1") never matches ("sharedmem", "user", "u10").

Ids are labels of LangGraph namespaces: non-empty strings without "." (LangGraph forbids it),
at most `MAX_ID` characters, no control characters, and not "*" (the wildcard of scope grants).

Values are stored as canonical JSON (sorted keys, no spaces), which is both what comes back on
read and what decides whether two values are the same: ``{"a": 1, "b": 2}`` and
``{"b": 2, "a": 1}`` are one value, ``1`` and ``1.0`` are two (JSON keeps them apart).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from langgraph_sharedmem.errors import InvalidConfigError

__all__ = [
    "APP_ID",
    "KINDS",
    "ROOT",
    "SCOPE_KINDS",
    "Scope",
    "ScopeKind",
    "as_scope",
    "canonical_json",
    "check_id",
    "check_name",
    "check_row_id",
    "namespace",
    "scope_of",
    "raise_if_unstorable",
]

# Scope kinds and whether they take an id. A new kind is one entry here, and a stored scope
# never changes form (it is a JSON array).
SCOPE_KINDS: Final[Mapping[str, bool]] = {"app": False, "user": True, "agent": True, "run": True}
MAX_NAME = 1024
MAX_DEPTH = 200
MAX_VALUE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Scope:
    """Where a memory lives: ``("app",)``, ``("user", "u1")``, ``("agent", "billing")``,
    ``("run", "r7")``.

    Every part files what it keeps under a scope (facts, items through their namespace,
    messages through their run, grants); `Scope.of` accepts a `Scope`, a tuple/list of labels
    or the text form ``"user:u1"``.

    >>> Scope.of(("user", "u1")) == Scope.of("user:u1") == Scope.user("u1")
    True
    """

    kind: str
    id: str | None = None

    def __post_init__(self) -> None:
        check_name("scope kind", self.kind)
        if self.kind not in SCOPE_KINDS:
            raise InvalidConfigError(
                f"unknown scope kind {self.kind!r}; expected one of {sorted(SCOPE_KINDS)}"
            )
        if SCOPE_KINDS[self.kind]:
            if self.id is None:
                raise InvalidConfigError(
                    f"a {self.kind!r} scope needs an id, e.g. ({self.kind!r}, 'x1')"
                )
            check_name(f"{self.kind} scope id", self.id)
        elif self.id is not None:
            raise InvalidConfigError(f"the {self.kind!r} scope takes no id, got {self.id!r}")

    @classmethod
    def of(cls, scope: Scope | Sequence[str] | str) -> Scope:
        if isinstance(scope, Scope):
            return scope
        if isinstance(scope, str):
            kind, colon, ident = scope.partition(":")
            return cls(kind, ident if colon else None)
        if isinstance(scope, Sequence) and 1 <= len(scope) <= 2:
            return cls(scope[0], scope[1] if len(scope) == 2 else None)
        raise InvalidConfigError(
            f"a scope is a Scope, a tuple like ('user', 'u1') or text like 'user:u1'; got {scope!r}"
        )

    @classmethod
    def app(cls) -> Scope:
        return cls("app")

    @classmethod
    def user(cls, user_id: str) -> Scope:
        return cls("user", user_id)

    @classmethod
    def agent(cls, agent_id: str) -> Scope:
        return cls("agent", agent_id)

    @classmethod
    def run(cls, run_id: str) -> Scope:
        return cls("run", run_id)

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.kind,) if self.id is None else (self.kind, self.id)

    @property
    def key(self) -> str:
        """The stored form: a JSON array, unambiguous whatever characters the id holds."""
        return json.dumps(list(self.labels), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_key(cls, key: str) -> Scope:
        return cls.of(json.loads(key))

    def __str__(self) -> str:
        return self.kind if self.id is None else f"{self.kind}:{self.id}"


def check_name(what: str, text: Any, *, limit: int = MAX_NAME) -> str:
    """A subject, attribute, author or scope label: non-empty valid Unicode, at most ``limit``."""
    if not isinstance(text, str) or not text:
        raise InvalidConfigError(f"{what} must be a non-empty string, got {text!r}")
    if len(text) > limit:
        raise InvalidConfigError(f"{what} is {len(text)} characters long; the limit is {limit}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidConfigError(f"{what} {text!r} is not valid Unicode ({exc.reason})") from exc
    return text


def check_row_id(what: str, value: Any) -> int:
    """A row id or version (claim, disagreement, fact version): a positive int, not a bool."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidConfigError(f"{what} must be a positive int, got {value!r}")
    return value


def canonical_json(value: Any, *, what: str) -> str:
    """Canonical JSON text of ``value``, or `InvalidConfigError` naming the first part JSON
    cannot carry exactly (NaN, infinities, non-string keys, tuples, sets, other objects)."""
    stack: list[tuple[Any, str, int]] = [(value, what, 0)]
    while stack:  # iterative: deep values must be refused, not hit the recursion limit
        obj, path, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidConfigError(f"{path} is nested more than {MAX_DEPTH} levels deep")
        if obj is None or isinstance(obj, (str, bool, int)):
            continue
        if isinstance(obj, float):
            if not math.isfinite(obj):
                raise InvalidConfigError(
                    f"{path} is {obj!r}; JSON has no NaN or infinity. Store None or a string"
                )
        elif isinstance(obj, dict):
            for k, v in obj.items():
                if not isinstance(k, str):
                    raise InvalidConfigError(
                        f"{path} has a key of type {type(k).__name__} ({k!r}); JSON object "
                        "keys must be strings"
                    )
                stack.append((v, f"{path}[{k!r}]", depth + 1))
        elif isinstance(obj, list):
            stack.extend((v, f"{path}[{i}]", depth + 1) for i, v in enumerate(obj))
        else:
            raise InvalidConfigError(
                f"{path} is a {type(obj).__name__}, which is not JSON-serializable; use "
                "dicts, lists, strings, numbers, booleans and None"
            )
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        # A lone surrogate would be stored, then break every reader that encodes the value.
        raise InvalidConfigError(
            f"{_surrogate_path(value, what)} holds a lone surrogate, which is not valid "
            f"Unicode ({exc.reason}); decode the text it came from with errors='replace'"
        ) from exc
    if size > MAX_VALUE_BYTES:  # the limit is on what is stored: UTF-8 bytes, not characters
        raise InvalidConfigError(
            f"{what} is {size} bytes as UTF-8 JSON; the limit is {MAX_VALUE_BYTES} (4 MiB)"
        )
    return text


def _surrogate_path(value: Any, what: str) -> str:
    """The path of the first string (or key) in ``value`` that UTF-8 cannot encode."""
    stack: list[tuple[Any, str]] = [(value, what)]
    while stack:
        obj, path = stack.pop()
        if isinstance(obj, str):
            if not obj.isascii() and not _encodes(obj):
                return path
        elif isinstance(obj, dict):
            for k, v in obj.items():
                if not _encodes(k):
                    return f"a key of {path} ({k!r})"
                stack.append((v, f"{path}[{k!r}]"))
        elif isinstance(obj, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(obj))
    return what


def raise_if_unstorable(exc: BaseException) -> None:
    """Raise `InvalidConfigError` from ``exc`` when it is a driver failing to encode a
    parameter with a lone surrogate (a name, an id or a filter no check caught first)."""
    if not (isinstance(exc, UnicodeEncodeError) and exc.reason == "surrogates not allowed"):
        return
    text = exc.object if isinstance(exc.object, str) else ""
    raise InvalidConfigError(
        f"text {text[:80]!r} holds a lone surrogate, which is not valid Unicode and cannot be "
        "stored or looked up; decode the text it came from with errors='replace'"
    ) from exc


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


ROOT: Final = "sharedmem"
APP_ID: Final = "default"
MAX_ID: Final = 256
ScopeKind = Literal["app", "user", "agent", "run"]
# Most specific first: the order recall() tries and search() breaks score ties in.
KINDS: Final[tuple[ScopeKind, ...]] = ("run", "agent", "user", "app")


def check_id(what: str, value: Any) -> str:
    """An agent, user, run or collection id, or `InvalidConfigError` naming what is wrong."""
    check_name(what, value, limit=MAX_ID)
    if "." in value:
        raise InvalidConfigError(
            f"{what} {value!r} contains '.', which LangGraph namespaces do not allow"
        )
    if value == "*":
        raise InvalidConfigError(f"{what} may not be '*' (the wildcard of scope grants)")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidConfigError(f"{what} {value!r} contains a control character")
    return value


def scope(kind: Any, ident: Any = None) -> Scope:
    """A checked `Scope`: the kind is known, the id (none for app) passes `check_id`."""
    if kind == "app":
        if ident not in (None, APP_ID):
            raise InvalidConfigError(f"the app scope takes no id, got {ident!r}")
        return Scope.app()
    if kind not in ("user", "agent", "run"):
        raise InvalidConfigError(
            f"unknown scope kind {kind!r}; expected one of 'app', 'user', 'agent', 'run'"
        )
    return Scope(kind, check_id(f"{kind} id", ident))


def as_scope(value: Any) -> Scope:
    """A `Scope`, a tuple like ("agent", "billing") or text like "agent:billing", checked."""
    if isinstance(value, Scope):
        return scope(value.kind, value.id)
    if isinstance(value, str):
        kind, colon, ident = value.partition(":")
        return scope(kind, ident if colon else None)
    if isinstance(value, Sequence) and 1 <= len(value) <= 2:
        return scope(*value)
    raise InvalidConfigError(
        f"a scope is 'app', 'user', 'agent', 'run', a tuple like ('agent', 'billing') or a "
        f"Scope; got {value!r}"
    )


def namespace(where: Scope, collection: str | None = None) -> tuple[str, ...]:
    """The store namespace of ``where`` (and of one ``collection`` inside it)."""
    base = (ROOT, where.kind, where.id if where.id is not None else APP_ID)
    return base if collection is None else (*base, check_id("collection", collection))


def scope_of(ns: Sequence[str]) -> Scope | None:
    """The scope a store namespace belongs to, or None if it is not a view's namespace."""
    if len(ns) < 3 or ns[0] != ROOT:
        return None
    try:
        return scope(ns[1], ns[2])
    except InvalidConfigError:
        return None
