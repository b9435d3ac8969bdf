"""`ToolCache`: one tool call, made once, shared by every branch, thread and process.

    from langgraph_sharedmem import SharedMemory

    with SharedMemory.open("agents.db") as mem:
        cache = mem.tool_cache

        @cache.cached(ttl=600)
        def search_flights(origin: str, dest: str) -> list[dict]:
            ...                                   # the expensive API

        cached_tool = cache.wrap_tool(some_langchain_tool)   # same name and schema

Same tool name, same canonical arguments, same boundary → one execution. The boundary is
the call's ``scope``: ``"run"`` (default: the same user and run, read from the LangGraph
config), ``"user"`` or ``"app"`` (everyone; only when the call says so). A call already running
elsewhere is awaited, not repeated; the runner holds a lease in SQLite that it renews while
running and that expires if it dies. Rules and protocol: ``docs/tool_cache.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import itertools
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Generator, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.serde.base import SerializerProtocol

from langgraph_sharedmem.core.backend import Backend
from langgraph_sharedmem.core.part import DatabasePart
from langgraph_sharedmem.core.sqlite import Database
from langgraph_sharedmem.errors import InvalidConfigError
from langgraph_sharedmem.serde import StrictSerializer
from langgraph_sharedmem.toolcache import _keys, _protocol, _schema, _scope
from langgraph_sharedmem.toolcache._model import CacheStats, Counters, SharedCacheStats

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

__all__ = ["ToolCache"]

F = TypeVar("F", bound=Callable[..., Any])
ScopeArg = _scope.Scope | Callable[[Mapping[str, Any]], _scope.Scope]
_DEFAULT: Final = object()
_HOST: Final = socket.gethostname()
_TOKEN: Final = uuid.uuid4().hex[:8]  # told apart from a reused pid on another start
_CALLS = itertools.count()


def _check_seconds(what: str, value: Any, *, allow_none: bool) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise InvalidConfigError(f"{what} must be a number of seconds > 0, got {value!r}")
    return float(value)


class ToolCache(DatabasePart):
    """A cache of tool results in SQLite, shared by every caller of the database file.

    Args:
        conn: A path, ``sqlite:///`` URL, ``":memory:"`` (one process), a ``postgresql://``
            URL, or an open backend (shared with a `SharedMemory`; then it is not closed here).
        default_ttl: Seconds a result stays fresh (``None``: until `clear`).
        lease: Seconds a running call's lease lasts without renewal: how long waiters wait
            for a caller that died. The runner renews it every ``lease / 3`` seconds.
        serde: Serializer for results that are not plain JSON (default: the strict serializer,
            which rebuilds LangChain messages, documents and LangGraph types).
        wait_timeout: Seconds a caller waits for the same call running elsewhere before
            `ToolCallWaitTimeout` (``None``: as long as its holder keeps the lease alive).

    Results are shared within the call's ``scope``: ``"run"`` (default: one user's run, from
    the LangGraph config the call is made in), ``"user"`` or ``"app"`` (everyone).

    Example:
        >>> cache = ToolCache(":memory:")
        >>> @cache.cached(ttl=60, scope="app")  # the same answer for every user and run
        ... def add(a: int, b: int) -> int:
        ...     return a + b
        >>> add(1, 2), add(b=2, a=1), cache.stats().hits
        (3, 3, 1)
    """

    migrations = _schema.MIGRATIONS
    copy_tables = _schema.COPY_TABLES
    pg_schemas = ("langgraph_sharedmem.toolcache._schema_pg",)
    db: Any  # SQLite's `Database`, or PostgreSQL outside pipeline mode (`_on_postgres`)

    def __init__(
        self,
        conn: str | os.PathLike[str] | Database | Backend,
        *,
        default_ttl: float | None = 3600.0,
        lease: float = 30.0,
        serde: SerializerProtocol | None = None,
        wait_timeout: float | None = None,
    ) -> None:
        self.default_ttl = _check_seconds("default_ttl", default_ttl, allow_none=True)
        self.lease = _check_seconds("lease", lease, allow_none=False)
        self.wait_timeout = _check_seconds("wait_timeout", wait_timeout, allow_none=True)
        self._open_database(conn)
        self.serde = serde if serde is not None else StrictSerializer()
        self._counters = Counters()
        self._hits = _protocol.HitBuffer()

    # -- the core: one call through the protocol, sync or async ---------------------------

    def _on_postgres(self, db: Any) -> Any:
        # Leases are decided on ``rowcount`` and on a key's lock held across the claim's
        # Python: both need each statement's result at once, not pipelined.
        from langgraph_sharedmem.core.postgres import Unpipelined

        return Unpipelined(db)

    def _call(
        self,
        tool: str,
        args: Any,
        scope: Any,
        config: RunnableConfig | None,
        ttl: Any,
        lease: Any,
        cache_errors: bool,
        wait_timeout: Any,
        storable: Callable[[Any], bool] | None,
    ) -> _protocol.Call:
        ttl = self.default_ttl if ttl is _DEFAULT else _check_seconds("ttl", ttl, allow_none=True)
        lease = self.lease if lease is None else _check_seconds("lease", lease, allow_none=False)
        wait = (
            self.wait_timeout
            if wait_timeout is _DEFAULT
            else _check_seconds("wait_timeout", wait_timeout, allow_none=True)
        )
        _keys.check_tool(tool)
        where = _scope.where(tool, scope, config)
        key, args_json = _keys.call_key(tool, args, where)
        # host:pid:id, unique per call; a counter, not uuid4, which costs a tenth of a hit.
        holder = f"{_HOST}:{os.getpid()}:{_TOKEN}{next(_CALLS)}"
        return _protocol.Call(
            tool,
            key,
            args_json,
            _keys.scope_label(where),
            ttl,
            lease,  # type: ignore[arg-type]
            cache_errors,
            holder,
            wait,
            storable,
        )

    def _flow(self, call: _protocol.Call) -> Generator[_protocol.Step, Any, Any]:
        """The cache protocol for one call, to be driven sync or async."""
        return _protocol.protocol(self.db, call, self.serde, self._counters, self._hits)

    def call(
        self,
        tool: str,
        args: Any,
        fn: Callable[[], Any],
        *,
        scope: _scope.Scope = "run",
        config: RunnableConfig | None = None,
        ttl: Any = _DEFAULT,
        lease: float | None = None,
        cache_errors: bool = False,
        wait_timeout: Any = _DEFAULT,
        storable: Callable[[Any], bool] | None = None,
    ) -> Any:
        """The result of ``fn()`` for ``(tool, args)`` within ``scope``: stored, awaited or
        made now.

        ``args`` is what makes calls the same (plain JSON data, see the module docs); ``fn``
        makes the call when nobody has. ``scope`` is who may share the result: ``"run"``
        (the same user and run), ``"user"`` or ``"app"`` (everyone); the user and run are
        read from ``config`` (default: the config of the LangGraph node or tool being run),
        and a call whose user or run is needed but unknown raises `InvalidConfigError`
        before ``fn`` runs. Blocks while another caller runs the same call, for at most
        ``wait_timeout`` seconds (then `ToolCallWaitTimeout`). ``storable(result)`` False
        returns a result without storing it.
        """
        call = self._call(
            tool, args, scope, config, ttl, lease, cache_errors, wait_timeout, storable
        )
        self.setup()
        return _drive_sync(self.db, self._flow(call), fn)

    async def acall(
        self,
        tool: str,
        args: Any,
        fn: Callable[[], Awaitable[Any]],
        *,
        scope: _scope.Scope = "run",
        config: RunnableConfig | None = None,
        ttl: Any = _DEFAULT,
        lease: float | None = None,
        cache_errors: bool = False,
        wait_timeout: Any = _DEFAULT,
        storable: Callable[[Any], bool] | None = None,
    ) -> Any:
        """Async `call`: ``fn()`` returns an awaitable; waiting never blocks the event loop."""
        call = self._call(
            tool, args, scope, config, ttl, lease, cache_errors, wait_timeout, storable
        )
        if not self.is_setup:
            await self.db.run(self.setup)
        return await _drive_async(self.db, self._flow(call), fn)

    # -- front-ends -------------------------------------------------------------------------

    def cached(
        self,
        fn: F | None = None,
        *,
        name: str | None = None,
        ttl: Any = _DEFAULT,
        scope: ScopeArg = "run",
        cache_errors: bool = False,
        key: Callable[..., Any] | None = None,
        lease: float | None = None,
        wait_timeout: Any = _DEFAULT,
    ) -> Any:
        """Decorate a sync or async function so its calls go through the cache.

        The arguments, bound to the signature with defaults applied (so ``f(1)`` and
        ``f(a=1)`` are one call), must be plain JSON data; otherwise pass ``key``, a function
        taking the same arguments and returning the JSON value that identifies the call.
        ``scope`` is who shares a result: ``"run"`` (default), ``"user"`` or ``"app"``, or
        a function of the bound arguments returning one of them (see `call`). A parameter
        annotated ``RunnableConfig`` is left out of the key and is the config that names
        the user and run; without one, the config of the LangGraph node or tool being run.
        ``name`` defaults to the function's qualified name.
        """
        if fn is None:
            return functools.partial(
                self.cached,
                name=name,
                ttl=ttl,
                scope=scope,
                cache_errors=cache_errors,
                key=key,
                lease=lease,
                wait_timeout=wait_timeout,
            )
        tool = name or f"{fn.__module__}.{fn.__qualname__}"
        signature = inspect.signature(fn)
        if not callable(scope):
            _scope.check(tool, scope)  # now, not on the first call
        # LangChain's tool machinery (~0.25 s to import) loads only once a tool is cached.
        from langchain_core.tools.base import _get_runnable_config_param

        config_param = _get_runnable_config_param(fn)

        def identify(
            args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> tuple[Any, Any, RunnableConfig | None]:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            config = arguments.pop(config_param, None) if config_param else None
            for param in signature.parameters.values():
                if param.kind is param.VAR_POSITIONAL and param.name in arguments:
                    arguments[param.name] = list(arguments[param.name])  # always a tuple
            ident = arguments if key is None else key(*args, **kwargs)
            where = scope(arguments) if callable(scope) else scope
            return ident, where, config

        options = {
            "ttl": ttl,
            "lease": lease,
            "cache_errors": cache_errors,
            "wait_timeout": wait_timeout,
        }
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                ident, where, config = identify(args, kwargs)
                return await self.acall(
                    tool, ident, lambda: fn(*args, **kwargs), scope=where, config=config, **options
                )

            async_wrapper.cache_name = tool  # type: ignore[attr-defined]
            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            ident, where, config = identify(args, kwargs)
            return self.call(
                tool, ident, lambda: fn(*args, **kwargs), scope=where, config=config, **options
            )

        wrapper.cache_name = tool  # type: ignore[attr-defined]
        return wrapper

    def wrap_tool(
        self,
        tool: BaseTool,
        *,
        ttl: Any = _DEFAULT,
        scope: ScopeArg = "run",
        cache_errors: bool = False,
        lease: float | None = None,
        wait_timeout: Any = _DEFAULT,
    ) -> BaseTool:
        """A tool with ``tool``'s name, description and argument schema (injected arguments
        included, so ``ToolNode`` injects them as before) whose calls go through the cache.

        The key is the tool name and the validated arguments the model gives; injected ones
        (``InjectedToolCallId``, ``InjectedState``, ``InjectedStore``, ``ToolRuntime``, the
        ``RunnableConfig``) are left out, and ``scope`` (see `call`; the user and run come
        from the config the tool is invoked with) keeps the results of one user's run from
        everyone else by default: a tool whose answer depends on who asks (its injected
        config, state or store) must not get ``scope="app"``. On a
        hit through a tool call the `ToolMessage` carries the current call's id. Results
        that are themselves messages or ``Command`` objects (they name the call that made
        them) are returned but not stored. Tools with
        ``response_format="content_and_artifact"`` are refused: the artifact would be lost.
        """
        from langchain_core.tools import BaseTool

        from langgraph_sharedmem.toolcache import tools

        if not isinstance(tool, BaseTool):
            raise InvalidConfigError(f"wrap_tool takes a LangChain BaseTool, got {tool!r}")
        if getattr(tool, "response_format", "content") != "content":
            raise InvalidConfigError(
                f"tool {tool.name!r} returns content and artifact; caching it would drop the "
                "artifact on hits. Cache the function behind it with cached() instead"
            )
        if not callable(scope):
            _scope.check(tool.name, scope)
        options = {
            "ttl": ttl,
            "lease": lease,
            "cache_errors": cache_errors,
            "wait_timeout": wait_timeout,
            "scope": scope,
        }
        return tools.cached_tool(self, tool, options)

    # -- statistics and housekeeping -------------------------------------------------------

    def stats(self, tool: str | None = None) -> CacheStats:
        """This object's hits, waits, misses, calls saved... (all tools, or one)."""
        return self._counters.snapshot(tool)

    def reset_stats(self) -> None:
        self._counters.reset()

    def shared_stats(self, tool: str | None = None) -> SharedCacheStats:
        """Totals recorded in the database by every process (all tools, or one). This
        object's hits are written first; other processes' hits may lag by up to 1 s."""
        self.setup()
        self._hits.flush(self.db)
        sql = _protocol._sql(self.db)
        with self.db.read() as conn:
            if tool is None:
                row = conn.execute(sql.SHARED_STATS).fetchone()
            else:
                row = conn.execute(sql.SHARED_STATS_OF_TOOL, (tool,)).fetchone()
        return SharedCacheStats(entries=row[0], runs=row[1], calls_saved=row[2])

    def clear(self, tool: str | Callable[..., Any] | BaseTool | None = None) -> int:
        """Forget stored results (of one tool, or all); calls in flight are left alone.

        ``tool`` is the name results are stored under, or what `cached` or `wrap_tool`
        returned (a function `cached` names ``module.qualname`` unless given ``name=``).
        Returns how many results were forgotten."""
        if tool is not None and not isinstance(tool, str):
            from langchain_core.tools import BaseTool  # not at import: start-up time

            named = getattr(tool, "cache_name", None)
            if named is None and isinstance(tool, BaseTool):
                named = tool.name
            if not isinstance(named, str):
                raise InvalidConfigError(
                    f"clear() takes a tool's name, or a function from cached() or a tool from "
                    f"wrap_tool(); got {tool!r}"
                )
            tool = named
        self.setup()
        sql = _protocol._sql(self.db)
        with self.db.write() as conn:
            if tool is None:
                return int(conn.execute(sql.DELETE_ALL).rowcount)
            return int(conn.execute(sql.DELETE_TOOL, (tool,)).rowcount)

    def purge_expired(self) -> int:
        """Delete results past their TTL (they are never served; this only frees space)."""
        self.setup()
        with self.db.write() as conn:
            sql = _protocol._sql(self.db)
            return int(conn.execute(sql.DELETE_EXPIRED, (time.time(),)).rowcount)

    def flush_stats(self) -> None:
        """Write the hits counted in memory to the database now (also done on close)."""
        if self.is_setup:
            self._hits.flush(self.db)

    def _release(self) -> None:
        """Write the buffered hit counts (`close` then closes the database if this cache
        opened it)."""
        with contextlib.suppress(Exception):  # a closed or read-only file: counts are advisory
            self.flush_stats()

    def __repr__(self) -> str:
        return f"ToolCache({self.db.path!r})"


# -- runners ---------------------------------------------------------------------------------


def _drive_sync(
    db: Database, flow: Generator[_protocol.Step, Any, Any], fn: Callable[[], Any]
) -> Any:
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return done.value
        if isinstance(step, _protocol.Db):
            reply = step.fn(*step.args)
        elif isinstance(step, _protocol.Sleep):
            time.sleep(step.seconds)
            reply = None
        else:
            reply = _run_with_heartbeat(db, step.call, fn)


def _run_with_heartbeat(db: Database, call: _protocol.Call, fn: Callable[[], Any]) -> Any:
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(call.lease / 3):
            try:
                if not _protocol.renew(db, call):
                    return  # taken over after a stall; finish() will not store our result
            except Exception:  # e.g. busy past busy_timeout: the next beat retries; if none
                continue  # succeeds the lease lapses and a waiter takes over, as if we died

    thread = threading.Thread(target=beat, name=f"tool-cache-lease-{call.tool}", daemon=True)
    thread.start()
    try:
        return (True, fn())
    except BaseException as exc:
        return (False, exc)
    finally:
        stop.set()
        thread.join()


async def _drive_async(
    db: Database, flow: Generator[_protocol.Step, Any, Any], fn: Callable[[], Awaitable[Any]]
) -> Any:
    reply: Any = None
    while True:
        try:
            step = flow.send(reply)
        except StopIteration as done:
            return done.value
        if isinstance(step, _protocol.Db):
            reply = await db.run(step.fn, *step.args)
        elif isinstance(step, _protocol.Sleep):
            await asyncio.sleep(step.seconds)
            reply = None
        else:
            reply = await _arun_with_heartbeat(db, step.call, fn)


async def _arun_with_heartbeat(
    db: Database, call: _protocol.Call, fn: Callable[[], Awaitable[Any]]
) -> Any:
    async def beat() -> None:
        while True:
            await asyncio.sleep(call.lease / 3)
            try:
                if not await db.run(_protocol.renew, db, call):
                    return
            except Exception:
                continue

    task = asyncio.ensure_future(beat())
    try:
        return (True, await fn())
    except BaseException as exc:
        return (False, exc)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
