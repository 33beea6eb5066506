"""`LookoutAdmin`: the synchronous admin client (httpx.Client)."""

from __future__ import annotations

from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any, TypeVar, overload

import httpx
from typing_extensions import ParamSpec, Self

from lookout_client.admin import calls
from lookout_client.admin.calls import Call, Operation
from lookout_client.admin.errors import LookoutAdminError
from lookout_client.admin.stream import Backoff, LiveEvent, follow

T = TypeVar("T")
P = ParamSpec("P")


class _Part:
    """What `health` and `backups` share: the client's connections and timeout."""

    def __init__(self, http: httpx.Client, timeout: float) -> None:
        self._http = http
        self._timeout = timeout

    def _send(self, call: Call[T]) -> T:
        if self._http.is_closed:
            raise calls.closed(call)
        timeout = calls.sending(call, self._timeout)
        try:
            response = self._http.request(call.method, call.path, json=call.body, timeout=timeout)
        except httpx.TransportError as error:
            raise calls.unreachable(call, error, self._timeout) from error
        return calls.answer(call, response)


class _Sent(Operation[P, T]):
    """A method that sends its call and returns the answer."""

    @overload
    def __get__(self, part: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, part: _Part, owner: type[Any]) -> Callable[P, T]: ...

    def __get__(self, part: _Part | None, owner: type[Any]) -> Self | Callable[P, T]:
        if part is None:
            return self
        build = self.build

        def method(*args: P.args, **kwargs: P.kwargs) -> T:
            return part._send(build(*args, **kwargs))

        return self.method(method, owner)


class Health(_Part):
    """The brief's healthMonitoringService: `admin.health`."""

    perform_health_check = _Sent(calls.perform_health_check)
    get_system_status = _Sent(calls.get_system_status)
    get_incidents = _Sent(calls.get_incidents)
    get_checks = _Sent(calls.get_checks)
    get_locations = _Sent(calls.get_locations)


class Backups(_Part):
    """The brief's automatedBackupService: `admin.backups`."""

    perform_backup = _Sent(calls.perform_backup)
    schedule_backup = _Sent(calls.schedule_backup)
    restore_from_backup = _Sent(calls.restore_from_backup)
    list = _Sent(calls.list_runs)
    get_run = _Sent(calls.get_run)
    list_schedules = _Sent(calls.list_schedules)
    delete_schedule = _Sent(calls.delete_schedule)


class LookoutAdmin:
    """An admin client for dashboard-api at `url` with an admin or viewer `key`: viewers
    read, admins also act. Every failed call raises a LookoutAdminError subclass.
    `timeout` is per request, in seconds (running every health check waits at least
    65 s). Use it as a context manager, or call `close()`, to release its connections.
    """

    def __init__(
        self,
        url: str,
        key: str,
        timeout: float = calls.DEFAULT_TIMEOUT,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = calls.base_url(url)
        self._http = httpx.Client(
            base_url=self.url, headers=calls.headers(key), timeout=timeout, transport=transport
        )
        self._timeout = timeout
        self.health = Health(self._http, timeout)
        self.backups = Backups(self._http, timeout)

    def subscribe(
        self, *, initial_delay: float = 1.0, max_delay: float = 30.0
    ) -> Generator[LiveEvent, None, None]:
        """The live stream's events (`GET /api/v1/stream`) as they come, for as long as
        the caller iterates; stopping (`break`, or closing the iterator) closes the
        connection. A dropped connection is reopened after `initial_delay` seconds,
        doubling up to `max_delay` (each between half and all of that), never sooner
        than a 429's `Retry-After`; events sent while it was down are not replayed.
        Raises LookoutAuthenticationError (401, or the key revoked: a `revoked` event)
        and LookoutPermissionError (403), which end it for good."""
        if self._http.is_closed:
            raise LookoutAdminError("GET /api/v1/stream: the admin client is closed")
        return follow(self._http, self._timeout, Backoff(initial_delay, max_delay))

    def close(self) -> None:
        """Closes the connections; later calls raise."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
