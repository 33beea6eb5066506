"""`AsyncLookoutAdmin`: the asyncio admin client (httpx.AsyncClient)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar, overload

import httpx
from typing_extensions import ParamSpec, Self

from lookout_client.admin import calls
from lookout_client.admin.calls import Call, Operation
from lookout_client.admin.errors import LookoutAdminError
from lookout_client.admin.stream import Backoff, LiveEvent, follow_async

T = TypeVar("T")
P = ParamSpec("P")


class _AsyncPart:
    """What `health` and `backups` share: the client's connections and timeout."""

    def __init__(self, http: httpx.AsyncClient, timeout: float) -> None:
        self._http = http
        self._timeout = timeout

    async def _send(self, call: Call[T]) -> T:
        if self._http.is_closed:
            raise calls.closed(call)
        timeout = calls.sending(call, self._timeout)
        try:
            response = await self._http.request(
                call.method, call.path, json=call.body, timeout=timeout
            )
        except httpx.TransportError as error:
            raise calls.unreachable(call, error, self._timeout) from error
        return calls.answer(call, response)


class _Awaited(Operation[P, T]):
    """A coroutine method that sends its call and returns the answer."""

    @overload
    def __get__(self, part: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(
        self, part: _AsyncPart, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(
        self, part: _AsyncPart | None, owner: type[Any]
    ) -> Self | Callable[P, Coroutine[Any, Any, T]]:
        if part is None:
            return self
        build = self.build

        async def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return await part._send(build(*args, **kwargs))

        return self.method(method, owner)


class AsyncHealth(_AsyncPart):
    """The brief's healthMonitoringService: `admin.health`."""

    perform_health_check = _Awaited(calls.perform_health_check)
    get_system_status = _Awaited(calls.get_system_status)
    get_incidents = _Awaited(calls.get_incidents)
    get_checks = _Awaited(calls.get_checks)
    get_locations = _Awaited(calls.get_locations)


class AsyncBackups(_AsyncPart):
    """The brief's automatedBackupService: `admin.backups`."""

    perform_backup = _Awaited(calls.perform_backup)
    schedule_backup = _Awaited(calls.schedule_backup)
    restore_from_backup = _Awaited(calls.restore_from_backup)
    list = _Awaited(calls.list_runs)
    get_run = _Awaited(calls.get_run)
    list_schedules = _Awaited(calls.list_schedules)
    delete_schedule = _Awaited(calls.delete_schedule)


class AsyncLookoutAdmin:
    """The asyncio twin of LookoutAdmin, with the same calls awaited: an admin client for
    dashboard-api at `url` with an admin or viewer `key`; viewers read, admins also act.
    Every failed call raises a LookoutAdminError subclass. `timeout` is per request, in
    seconds (running every health check waits at least 65 s). Use it with `async with`,
    or await `close()`, to release its connections.
    """

    def __init__(
        self,
        url: str,
        key: str,
        timeout: float = calls.DEFAULT_TIMEOUT,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = calls.base_url(url)
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=calls.headers(key), timeout=timeout, transport=transport
        )
        self._timeout = timeout
        self.health = AsyncHealth(self._http, timeout)
        self.backups = AsyncBackups(self._http, timeout)

    def subscribe(
        self, *, initial_delay: float = 1.0, max_delay: float = 30.0
    ) -> AsyncGenerator[LiveEvent, None]:
        """The live stream's events, for `async for`: see `LookoutAdmin.subscribe`. Leave
        the loop, or `await events.aclose()`, to close the connection."""
        if self._http.is_closed:
            raise LookoutAdminError("GET /api/v1/stream: the admin client is closed")
        return follow_async(self._http, self._timeout, Backoff(initial_delay, max_delay))

    async def close(self) -> None:
        """Closes the connections; later calls raise."""
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()
