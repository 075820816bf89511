"""Wait for a condition with a timeout — the tests' one alternative to sleeping."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], timeout: float = 30.0, every: float = 0.02
) -> None:
    """Return once ``check()`` (plain or async) is true; TimeoutError after ``timeout`` s."""
    async with asyncio.timeout(timeout):
        while True:
            result = check()
            if await result if inspect.isawaitable(result) else result:
                return
            await asyncio.sleep(every)
