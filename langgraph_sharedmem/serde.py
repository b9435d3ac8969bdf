"""A strict serializer: stored blobs rebuild only types on an allowlist, or fail loudly.

LangGraph's `JsonPlusSerializer` (langgraph-checkpoint 4.3) revives any type a msgpack blob
names unless ``LANGGRAPH_STRICT_MSGPACK=true`` is set, and even in strict mode a blocked type
silently comes back as its raw payload. Anyone who can write one row of the database can then
run code in every process that loads it. `StrictSerializer` rebuilds only:

* LangGraph's safe set (messages, documents, LangGraph's own types, datetimes, ...);
* the types the caller allows (``allowlist=``, or LangGraph's ``with_allowlist``);
* the application's own state types: a dataclass, Pydantic model, Enum or NamedTuple defined
  in a module of the application (not the standard library, not an installed distribution,
  not LangGraph/LangChain/Pydantic or this package) that is *already imported*. LangGraph
  hands a saver the types a graph declares only when ``LANGGRAPH_STRICT_MSGPACK`` is set, so
  without this rule every graph with its own types in state would fail on its second step.

Anything else raises `UnsafeDeserializationError` naming the type. Loading never imports a
module for the application rule: a class is looked up in ``sys.modules`` and the module's own
namespace only (never a module ``__getattr__``, which may import).

Two more refusals keep values from changing silently or from reaching other decoders:
``json`` rows (LangChain's reviver builds ~150 LangChain classes outside any allowlist) and
``pickle`` rows are refused on load, and a string holding a lone surrogate is refused on
dump (msgpack carries only valid UTF-8; LangGraph would store ``'a?b'`` for ``'a\\ud800b'``).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import site
import sys
import sysconfig
import threading
import types
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any
from zoneinfo import ZoneInfo

import ormsgpack
from langgraph.checkpoint.serde.event_hooks import SerdeEvent, register_serde_event_listener
from langgraph.checkpoint.serde.jsonplus import (
    JsonPlusSerializer,
    _create_msgpack_ext_hook,
    _msgpack_default,
)
from langgraph.checkpoint.serde.jsonplus import _option as _msgpack_option
from langgraph.checkpoint.serde.types import SendProtocol, _DeltaSnapshot
from pydantic import BaseModel

from langgraph_sharedmem.errors import InvalidConfigError, UnsafeDeserializationError

__all__ = ["StrictSerializer"]

_BLOCKED_KINDS = frozenset({"msgpack_blocked", "msgpack_method_blocked"})
_LOADABLE_TYPES = frozenset({"null", "bytes", "bytearray", "msgpack"})
_capture = threading.local()


def _on_serde_event(event: SerdeEvent) -> None:
    blocked: list[str] | None = getattr(_capture, "blocked", None)
    if blocked is not None and event["kind"] in _BLOCKED_KINDS:
        name = f"{event['module']}.{event['name']}"
        if "method" in event:
            name += f".{event['method']}"
        blocked.append(name)


register_serde_event_listener(_on_serde_event)


@contextmanager
def _capture_blocked() -> Iterator[list[str]]:
    outer = getattr(_capture, "blocked", None)
    blocked: list[str] = []
    _capture.blocked = blocked
    try:
        yield blocked
    finally:
        _capture.blocked = outer


def _as_key(item: tuple[str, ...] | type) -> tuple[str, ...]:
    if isinstance(item, type):
        return (item.__module__, item.__name__)
    if isinstance(item, tuple) and len(item) >= 2 and all(isinstance(p, str) for p in item):
        return item
    raise TypeError(
        f"allowlist entries must be classes or (module, name) tuples of strings, got {item!r}"
    )


# -- the application's own types ------------------------------------------------------------

# Never "the application", even when installed editable (outside site-packages): their
# Pydantic models include prompt templates and runnables a crafted row must not build.
_FRAMEWORK_ROOTS = frozenset(
    {"langgraph_sharedmem", "langgraph", "langchain", "langchain_core", "langsmith", "pydantic"}
)


@functools.cache
def _library_dirs() -> tuple[str, ...]:
    dirs = {
        path
        for key, path in sysconfig.get_paths().items()
        if key in ("stdlib", "platstdlib", "purelib", "platlib")
    }
    dirs.update(getattr(site, "getsitepackages", list)())
    user_site = getattr(site, "getusersitepackages", lambda: None)()
    if user_site:
        dirs.add(user_site)
    return tuple(os.path.join(os.path.realpath(d), "") for d in dirs)


@functools.cache
def _is_app_file(path: str) -> bool:
    real = os.path.realpath(path)
    parts = real.split(os.sep)
    if "site-packages" in parts or "dist-packages" in parts:
        return False
    return not real.startswith(_library_dirs())


def _is_app_module(module: types.ModuleType) -> bool:
    name = module.__name__
    path = getattr(module, "__file__", None)
    if name == "__main__" and path is None:
        return True  # a REPL or a notebook
    root = name.partition(".")[0]
    if root in _FRAMEWORK_ROOTS or root in sys.stdlib_module_names:
        return False
    # ``python -m some_library`` makes a library file __main__: the path decides.
    return isinstance(path, str) and _is_app_file(path)


def _is_state_class(cls: type) -> bool:
    if issubclass(cls, BaseException):
        return False
    if dataclasses.is_dataclass(cls) or issubclass(cls, (Enum, BaseModel)):
        return True
    v1 = sys.modules.get("pydantic.v1")
    if v1 is not None and issubclass(cls, v1.BaseModel):
        return True
    return issubclass(cls, tuple) and isinstance(getattr(cls, "_fields", None), tuple)


def app_state_class(module: Any, name: Any) -> type | None:
    """The application's dataclass/Pydantic/Enum/NamedTuple ``module.name``, if already imported.

    Returns None for anything else: a module not imported yet (nothing is imported here), a
    library or standard-library module, a function, a re-exported or nested name.
    """
    if not isinstance(module, str) or not isinstance(name, str):
        return None
    mod = sys.modules.get(module)
    if not isinstance(mod, types.ModuleType) or not _is_app_module(mod):
        return None
    cls = vars(mod).get(name)  # never the module's __getattr__: it may import
    if (
        isinstance(cls, type)
        and cls.__module__ == module
        and cls.__name__ == name
        and _is_state_class(cls)
    ):
        return cls
    return None


# The application's state classes this process has itself written into checkpoints, by the
# (module, name) a blob names them with: the application rule above, for classes it cannot
# find by name, i.e. classes defined inside a function (LangGraph then hands back their
# fields, as it does itself, and a Pydantic state validates them again). Library classes
# never qualify: a stored LangChain prompt template, say, is code waiting to be formatted.
_WRITTEN: dict[tuple[str, str], type] = {}


# Per class encoded: whether it is an application state class. Asked for every object of
# every checkpoint write, the ABC checks behind the answer would double the cost of a step.
_APP_STATE_CLASS: dict[type, bool] = {}


def _recording_default(obj: Any) -> Any:
    cls = type(obj)
    known = _APP_STATE_CLASS.get(cls)
    if known is None:
        module = sys.modules.get(cls.__module__)
        known = _APP_STATE_CLASS[cls] = (
            _is_state_class(cls) and isinstance(module, types.ModuleType) and _is_app_module(module)
        )
        if known:
            _WRITTEN.setdefault((cls.__module__, cls.__name__), cls)
    return _msgpack_default(obj)


class _Allowed:
    """The allowlist LangGraph's msgpack hook consults: explicit entries, then app types."""

    def __init__(self, explicit: frozenset[tuple[str, ...]], app_types: bool) -> None:
        self.explicit = explicit
        self.app_types = app_types

    def __contains__(self, key: object) -> bool:
        if key in self.explicit:
            return True
        return (
            self.app_types
            and isinstance(key, tuple)
            and len(key) == 2
            and (key in _WRITTEN or app_state_class(*key) is not None)
        )


# -- refusing lone surrogates ----------------------------------------------------------------


# What `jsonplus._msgpack_default` encodes for each kind of object, as plain data, so that a
# strict (no surrogate replacement) msgpack pass reaches every string LangGraph would write.
def _plain(obj: Any) -> Any:
    if isinstance(obj, _DeltaSnapshot):
        return obj.value
    if callable(getattr(obj, "model_dump", None)):
        return obj.model_dump()
    if callable(getattr(obj, "get_secret_value", None)):
        return obj.get_secret_value()
    if callable(getattr(obj, "dict", None)) and not isinstance(obj, dict):
        return obj.dict()
    if callable(getattr(obj, "_asdict", None)):
        return obj._asdict()
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, re.Pattern):
        return obj.pattern
    if isinstance(obj, (set, frozenset, deque)):
        return list(obj)
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, SendProtocol):
        return [obj.node, obj.arg]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, ZoneInfo):
        return obj.key
    slots = getattr(type(obj), "__slots__", None)
    if isinstance(slots, tuple):
        return {k: getattr(obj, k, None) for k in slots if isinstance(k, str)}
    return None


def _surrogate_error() -> InvalidConfigError:
    return InvalidConfigError(
        "cannot store a string containing a lone surrogate (such as '\\ud800', e.g. from "
        "bytes decoded with errors='surrogateescape'): it would come back changed. Store "
        "such data as bytes, or clean the text first."
    )


def _check_no_surrogates(obj: Any) -> None:
    try:
        ormsgpack.packb(obj, default=_plain, option=ormsgpack.OPT_NON_STR_KEYS)
    except Exception as exc:
        if isinstance(exc, TypeError) and "surrogates" in str(exc):
            raise _surrogate_error() from None
        # Otherwise it is something only LangGraph's encoder knows, and it encoded it.


class StrictSerializer(JsonPlusSerializer):
    """LangGraph's serializer with deserialization limited to an allowlist.

    Args:
        allowlist: Extra types that stored blobs may rebuild, as classes or
            ``(module, name)`` tuples. LangGraph's safe types are always allowed.
        app_types: Also rebuild the application's own dataclasses, Pydantic models, Enums
            and NamedTuples (see the module docstring) without listing them. ``False``
            leaves only LangGraph's safe set and ``allowlist``.

    Example:
        >>> from datetime import date
        >>> serde = StrictSerializer()
        >>> serde.loads_typed(serde.dumps_typed({"when": date(2026, 1, 2)}))
        {'when': datetime.date(2026, 1, 2)}
    """

    def __init__(
        self, allowlist: Iterable[tuple[str, ...] | type] = (), *, app_types: bool = True
    ) -> None:
        keys = frozenset(_as_key(item) for item in allowlist)
        super().__init__(allowed_msgpack_modules=tuple(keys) or None, pickle_fallback=False)
        self.app_types = app_types
        self._allowed = _Allowed(keys, app_types)
        self._unpack_ext_hook = _create_msgpack_ext_hook(self._allowed)  # type: ignore[arg-type]
        self._custom_unpack_ext_hook = True

    def with_msgpack_allowlist(
        self, extra_allowlist: Iterable[tuple[str, ...] | type]
    ) -> StrictSerializer:
        """A copy that also allows ``extra_allowlist`` (LangGraph's ``with_allowlist`` uses it)."""
        extra = frozenset(_as_key(item) for item in extra_allowlist)
        if extra <= self._allowed.explicit:
            return self
        return StrictSerializer(self._allowed.explicit | extra, app_types=self.app_types)

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        """Serialize like LangGraph, but refuse strings LangGraph would silently change."""
        try:
            if obj is None or isinstance(obj, (bytes, bytearray)):
                type_, data = super().dumps_typed(obj)
            else:  # LangGraph's encoding, noting the state classes it meets (`_WRITTEN`)
                type_ = "msgpack"
                data = ormsgpack.packb(obj, default=_recording_default, option=_msgpack_option)
        except TypeError as exc:  # LangGraph does not replace surrogates in dict keys
            if "surrogates" in str(exc):
                raise _surrogate_error() from None
            raise
        # LangGraph's encoder replaces a lone surrogate with "?": only a blob holding that
        # byte can have lost one, so only those pay for the strict second pass.
        if type_ == "msgpack" and b"?" in data:
            _check_no_surrogates(obj)
        return type_, data

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        """Deserialize ``(type, bytes)``; raise instead of rebuilding a type not allowed."""
        type_ = data[0]
        if type_ == "pickle":
            raise UnsafeDeserializationError(
                "refusing to load a pickle blob: pickle can run arbitrary code on load"
            )
        if type_ == "json":
            raise UnsafeDeserializationError(
                "refusing to load a 'json' blob: LangChain's JSON reviver can build LangChain "
                "classes (prompt templates, runnables, ...) outside the allowlist, and this "
                "serializer never writes 'json'"
            )
        if type_ not in _LOADABLE_TYPES:
            raise UnsafeDeserializationError(
                f"refusing to load a blob of unknown serializer type {type_!r}"
            )
        with _capture_blocked() as blocked:
            value = super().loads_typed(data)
        if blocked:
            names = ", ".join(sorted(set(blocked)))
            raise UnsafeDeserializationError(
                f"stored data names {names}, which is not on the deserialization allowlist. "
                "If you trust it, allow it with SharedMemorySaver(..., allowlist=[YourType]) or "
                "saver.with_allowlist([(module, name)])."
            )
        return value
