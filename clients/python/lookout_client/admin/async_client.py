"""`AsyncLookoutAdmin`: the asyncio admin client (httpx.AsyncClient)."""

from __future__ import annotations

import builtins
from collections.abc import AsyncGenerator, Sequence
from types import TracebackType
from typing import TypeVar

import httpx
from typing_extensions import Self, Unpack

from lookout_client.admin import calls
from lookout_client.admin.calls import Call, RestoreMode
from lookout_client.admin.errors import LookoutAdminError
from lookout_client.admin.models import (
    Accepted,
    CheckResult,
    CheckSummary,
    Incident,
    Run,
    RunDetail,
    Schedule,
    SystemStatus,
)
from lookout_client.admin.schedule import BackupConfiguration, schedule_request
from lookout_client.admin.stream import Backoff, LiveEvent, follow_async

T = TypeVar("T")


class _AsyncSender:
    def __init__(self, http: httpx.AsyncClient, timeout: float) -> None:
        self._http = http
        self._timeout = timeout

    async def send(self, call: Call[T]) -> T:
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


class AsyncHealth:
    """The brief's healthMonitoringService: `admin.health`."""

    def __init__(self, sender: _AsyncSender) -> None:
        self._send = sender.send

    async def perform_health_check(self, check: str | None = None) -> list[CheckResult]:
        """Runs every check now (or the one named; admin key) and returns the results."""
        return await self._send(calls.perform_health_check(check))

    async def get_system_status(self) -> SystemStatus:
        """`status`, `uptime`, `last_check`, `critical_issues`, `active_incidents`."""
        return await self._send(calls.get_system_status())

    async def get_incidents(self) -> list[Incident]:
        """Incidents, open or resolved."""
        return await self._send(calls.get_incidents())

    async def get_checks(self) -> list[CheckSummary]:
        """Each configured check with its latest result and uptime."""
        return await self._send(calls.get_checks())


class AsyncBackups:
    """The brief's automatedBackupService: `admin.backups`."""

    def __init__(self, sender: _AsyncSender) -> None:
        self._send = sender.send

    async def perform_backup(
        self,
        collections: Sequence[str] | None = None,
        incremental: bool = False,
        trial_restore: bool | None = None,
    ) -> Accepted:
        """Asks the worker for a backup (admin key; every collection when None). Returns
        when the worker has the command, not when the backup is done: the run appears in
        `list()` and its progress on the live stream."""
        return await self._send(calls.perform_backup(collections, incremental, trial_restore))

    async def schedule_backup(self, **config: Unpack[BackupConfiguration]) -> int:
        """Creates a schedule from the brief's BackupConfiguration (see
        `schedule_request`; admin key) and returns its id."""
        created = await self._send(calls.create_schedule(schedule_request(**config)))
        return created.id

    async def restore_from_backup(
        self,
        run_id: str,
        collections: Sequence[str] | None = None,
        mode: RestoreMode | None = None,
        target_schema: str | None = None,
    ) -> Accepted:
        """Restores `collections` (every one of the run's when None) from backup `run_id`
        (admin key). Calling it is the confirmation the API asks for. `mode="merge"` adds
        missing rows instead of replacing tables; `target_schema` restores beside them."""
        return await self._send(calls.restore_from_backup(run_id, collections, mode, target_schema))

    async def list(self) -> builtins.list[Run]:
        """Runs of every kind, newest first."""
        return await self._send(calls.list_runs())

    async def get_run(self, run_id: str) -> RunDetail:
        """The run with its artifacts; LookoutNotFoundError when there is none."""
        return await self._send(calls.get_run(run_id))

    async def list_schedules(self) -> builtins.list[Schedule]:
        return await self._send(calls.list_schedules())

    async def delete_schedule(self, schedule_id: int) -> None:
        """Deletes the schedule; LookoutNotFoundError when there is none."""
        await self._send(calls.delete_schedule(schedule_id))


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
        sender = _AsyncSender(self._http, timeout)
        self.health = AsyncHealth(sender)
        self.backups = AsyncBackups(sender)

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
