"""Waiting for something to become true in tests that talk to real processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    predicate: Callable[[], Awaitable[T]], timeout: float = 60.0, interval: float = 0.1
) -> T:
    """The first truthy value `predicate()` gives, asked every `interval` seconds; an
    AssertionError once `timeout` seconds pass without one."""
    deadline = time.monotonic() + timeout
    while not (value := await predicate()):
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true within {timeout} s")
        await asyncio.sleep(interval)
    return value
