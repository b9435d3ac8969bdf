"""Helpers for the tool-cache tests, importable by child processes under spawn."""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Any

from langgraph_sharedmem import ToolCache


def slow_api(counter: str, query: str, seconds: float) -> dict[str, Any]:
    """The expensive API: appends one line per execution to ``counter``, then answers."""
    with open(counter, "a") as f:
        f.write("ran\n")
    time.sleep(seconds)
    return {"query": query, "answer": 42}


def runs(counter: str | Path) -> int:
    path = Path(counter)
    return path.read_text().count("ran\n") if path.exists() else 0


def call_from_three_threads(api: Any, counter: str, seconds: float) -> list[Any]:
    """Three threads make the same weather call at once; their results, in thread order."""
    outs: list[Any] = [None] * 3

    def one(i: int) -> None:
        outs[i] = api(counter, "weather in Paris", seconds)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outs


def agent_process(path: str, counter: str, agent: str, barrier: Any, results: Any) -> None:
    """One agent process: three threads call the API at once; report (agent, results, error)."""
    try:
        with ToolCache(path, lease=2.0) as cache:
            cache.setup()
            api = cache.cached(name="weather_api", scope="app")(slow_api)
            barrier.wait(timeout=120)
            outs = call_from_three_threads(api, counter, 1.0)
            results.put((agent, outs, cache.stats(), None))
    except BaseException:
        results.put((agent, None, None, traceback.format_exc()))


def hold_and_hang(path: str, counter: str, started: Any) -> None:
    """Take the lease on the call and hang inside it until killed."""
    with ToolCache(path, lease=0.5) as cache:

        @cache.cached(name="hanging_api", scope="app")
        def api(query: str) -> str:
            with open(counter, "a") as f:
                f.write("ran\n")
            started.set()
            time.sleep(600)
            return "never"

        api("q")


def many_keys_process(
    url: str, counter: str, name: str, keys: int, ttl: float, barrier: Any, results: Any
) -> None:
    """Two threads call ``keys`` keys (in an order of their own), twice: before and after
    the results expire; one line per real execution goes to ``counter``."""
    import random

    try:
        with ToolCache(url, lease=2.0) as cache:
            cache.setup()

            @cache.cached(name="lookup", scope="app", ttl=ttl)
            def lookup(k: int) -> dict[str, Any]:
                with open(counter, "a") as f:
                    f.write(f"{k}\n")
                time.sleep(0.01)
                return {"k": k}

            def sweep(seed: str, out: list[Any]) -> None:
                order = list(range(keys))
                random.Random(seed).shuffle(order)
                out.extend(lookup(k) == {"k": k} for k in order)

            oks: list[Any] = []
            barrier.wait(timeout=120)
            started = time.monotonic()
            for round_ in range(2):
                threads = [
                    threading.Thread(target=sweep, args=(f"{name}{t}{round_}", oks))
                    for t in range(2)
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                # The second round starts once every result of the first has expired.
                time.sleep(max(0.0, started + ttl + 0.5 - time.monotonic()))
            results.put((name, all(oks) and len(oks) == 4 * keys, cache.stats(), None))
    except BaseException:
        results.put((name, None, None, traceback.format_exc()))
