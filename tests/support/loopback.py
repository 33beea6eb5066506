"""A TCP server on a free loopback port for the duration of a `with` block."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def listening(handle: Handler, context: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """Serve each connection with `handle` (over TLS with `context`); yields the port."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
