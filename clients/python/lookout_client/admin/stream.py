"""The live stream (`GET /api/v1/stream`, Server-Sent Events) as an iterator of
`LiveEvent`s: `LookoutAdmin.subscribe()` and `AsyncLookoutAdmin.subscribe()`. A dropped
connection is reopened with backoff, never sooner than a 429's `Retry-After`; a 401, a
403 or a `revoked` event end it for good by raising. The parser and the backoff are
pure; the two readers do the I/O. The same rules as `@lookout/admin`'s stream.js."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass
from typing import NamedTuple

import httpx

from lookout_client.admin.errors import (
    LookoutAdminError,
    LookoutAuthenticationError,
    LookoutRateLimitError,
    LookoutUnavailableError,
    Reason,
    error_for,
)

log = logging.getLogger("lookout_client.admin")

STREAM_PATH = "/api/v1/stream"
_HEADERS = {"Accept": "text/event-stream"}


class LiveEvent(NamedTuple):
    """One event of the live stream: `type` (hello, metrics, check, incident, backup,
    missed, revoked), `data` (parsed JSON, or the text when it is not JSON) and the
    event's `id` (None when it had none)."""

    type: str
    data: object
    id: str | None


class SseParser:
    """Feeds SSE lines (without their line ends); returns the event a blank line
    completes. Comments, unknown fields and events without data are skipped."""

    def __init__(self) -> None:
        self._type = "message"
        self._id: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> LiveEvent | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._type = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            self._id = value
        return None

    def _dispatch(self) -> LiveEvent | None:
        kind, event_id, data = self._type, self._id, self._data
        self._type, self._id, self._data = "message", None, []
        if not data:
            return None
        text = "\n".join(data)
        try:
            parsed: object = json.loads(text)
        except ValueError:
            parsed = text
        return LiveEvent(kind, parsed, event_id)


@dataclass(frozen=True)
class Backoff:
    """Reconnection delays in seconds: exponential from `initial`, capped at `maximum`,
    each between half and all of that (so many clients do not reconnect in step), never
    below what the API asked for."""

    initial: float = 1.0
    maximum: float = 30.0

    def delay(
        self, attempt: int, at_least: float = 0.0, draw: Callable[[], float] = random.random
    ) -> float:
        ceiling = min(self.maximum, self.initial * 2.0 ** max(0, attempt - 1))
        return max(at_least, ceiling / 2 + draw() * ceiling / 2)


def _revoked(event: LiveEvent) -> LookoutAuthenticationError:
    said = event.data.get("reason") if isinstance(event.data, dict) else None
    reason = said if isinstance(said, str) else "the API key was revoked"
    return LookoutAuthenticationError(
        f"the live stream ended: {reason}",
        status=401,
        reasons=[Reason(None, reason)],
        body=event.data,
    )


def _refused(response: httpx.Response) -> LookoutAdminError:
    try:
        body: object = response.json()
    except ValueError:
        body = response.text or None
    return error_for(
        response.status_code,
        body,
        method="GET",
        path=STREAM_PATH,
        retry_after=response.headers.get("Retry-After"),
    )


def _lost(error: httpx.TransportError) -> LookoutUnavailableError:
    why = str(error) or type(error).__name__
    return LookoutUnavailableError(
        f"the live stream failed: {why}", status=0, reasons=[Reason(None, why)]
    )


def _ended() -> LookoutUnavailableError:
    return LookoutUnavailableError("the live stream ended", status=0)


def _next_delay(backoff: Backoff, failures: int, error: LookoutAdminError) -> float:
    """Raises `error` when it is final (401, 403); otherwise how long to wait."""
    if error.status in (401, 403):
        raise error
    at_least = 0.0
    if isinstance(error, LookoutRateLimitError) and error.retry_after is not None:
        at_least = error.retry_after
    delay = backoff.delay(failures, at_least)
    log.debug("%s; reconnecting in %.2f s", error, delay)
    return delay


def follow(
    http: httpx.Client, timeout: float, backoff: Backoff
) -> Generator[LiveEvent, None, None]:
    """The live stream's events, reconnecting until the caller stops iterating (which
    closes the connection) or a final error is raised."""
    failures = 0
    while True:
        error: LookoutAdminError
        try:
            with http.stream("GET", STREAM_PATH, headers=_HEADERS, timeout=timeout) as response:
                if not response.is_success:
                    response.read()
                    raise _refused(response)
                parser = SseParser()
                for line in response.iter_lines():
                    event = parser.feed(line)
                    if event is None:
                        continue
                    if event.type == "hello":
                        failures = 0
                    if event.type == "revoked":
                        raise _revoked(event)
                    yield event
            error = _ended()
        except httpx.TransportError as lost:
            error = _lost(lost)
        except LookoutAdminError as refused:
            error = refused
        failures += 1
        time.sleep(_next_delay(backoff, failures, error))


async def follow_async(
    http: httpx.AsyncClient, timeout: float, backoff: Backoff
) -> AsyncGenerator[LiveEvent, None]:
    """`follow` for httpx.AsyncClient."""
    failures = 0
    while True:
        error: LookoutAdminError
        try:
            async with http.stream(
                "GET", STREAM_PATH, headers=_HEADERS, timeout=timeout
            ) as response:
                if not response.is_success:
                    await response.aread()
                    raise _refused(response)
                parser = SseParser()
                async for line in response.aiter_lines():
                    event = parser.feed(line)
                    if event is None:
                        continue
                    if event.type == "hello":
                        failures = 0
                    if event.type == "revoked":
                        raise _revoked(event)
                    yield event
            error = _ended()
        except httpx.TransportError as lost:
            error = _lost(lost)
        except LookoutAdminError as refused:
            error = refused
        failures += 1
        await asyncio.sleep(_next_delay(backoff, failures, error))
