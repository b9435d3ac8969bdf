"""Workers for the tool-cache attacks (I3), importable by child processes under spawn."""

from __future__ import annotations

import os
import time
import traceback
import uuid
from typing import Any

from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool

from langgraph_sharedmem import ToolCache

SLICE = 0.05  # every process asks for the same new key in the same 50 ms slice


def _account_tool(log: str, name: str) -> Any:
    """A tool that answers from the account its injected config names, and logs each real
    execution as ``user<TAB>run<TAB>q<TAB>exec id<TAB>pid`` (one short O_APPEND write:
    atomic)."""

    @tool(name)
    def account(q: str, config: RunnableConfig) -> dict[str, Any]:
        """Look ``q`` up in the caller's account."""
        conf = config.get("configurable") or {}
        user, run = conf.get("user_id"), conf.get("thread_id")
        execution = uuid.uuid4().hex
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, f"{user}\t{run}\t{q}\t{execution}\t{os.getpid()}\n".encode())
        finally:
            os.close(fd)
        time.sleep(0.01)  # long enough for the other processes to arrive while it runs
        return {"user": user, "run": run, "q": q, "exec": execution, "pid": os.getpid()}

    return account


def racer(
    path: str, log_dir: str, user: str, run: str, seconds: float, barrier: Any, results: Any
) -> None:
    """Call a user-scoped and a run-scoped tool on the key of the current time slice until
    ``seconds`` have passed; report ``(user, run, pid, got, error)`` where ``got`` maps
    ``(scope, q)`` to every (user, run, exec id, pid that ran it) this process received."""
    try:
        got: dict[tuple[str, str], set[tuple[Any, Any, str, int]]] = {}
        with ToolCache(path, lease=10.0, default_ttl=None) as cache:
            cache.setup()
            tools = {
                "user": cache.wrap_tool(
                    _account_tool(f"{log_dir}/user.log", "by_user"), scope="user"
                ),
                "run": cache.wrap_tool(_account_tool(f"{log_dir}/run.log", "by_run"), scope="run"),
            }
            config: RunnableConfig = {"configurable": {"user_id": user, "thread_id": run}}
            barrier.wait(timeout=120)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                q = f"k{int(time.time() / SLICE)}"
                for scope, wrapped in tools.items():
                    out = wrapped.invoke({"q": q}, config)
                    got.setdefault((scope, q), set()).add(
                        (out["user"], out["run"], out["exec"], out["pid"])
                    )
        results.put((user, run, os.getpid(), got, None))
    except BaseException:
        results.put((user, run, os.getpid(), None, traceback.format_exc()))
