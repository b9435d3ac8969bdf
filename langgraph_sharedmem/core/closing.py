"""One way to be a sync and async context manager: close on exit."""

from __future__ import annotations

import asyncio
from typing import Any, Self


class Closing:
    """Mixin: ``with x:`` and ``async with x:`` both end by calling ``x.close()``.

    Closing joins a worker thread, so the async exit runs it off the event loop.
    """

    def close(self) -> None:  # overridden by every user of the mixin
        """Release what this object holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(None, self.close)
