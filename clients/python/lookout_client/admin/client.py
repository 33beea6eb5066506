"""`LookoutAdmin`: the synchronous admin client (httpx.Client)."""

from __future__ import annotations

import builtins
from collections.abc import Generator, Sequence
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
from lookout_client.admin.stream import Backoff, LiveEvent, follow

T = TypeVar("T")


class _Sender:
    def __init__(self, http: httpx.Client, timeout: float) -> None:
        self._http = http
        self._timeout = timeout

    def send(self, call: Call[T]) -> T:
        if self._http.is_closed:
            raise calls.closed(call)
        timeout = calls.sending(call, self._timeout)
        try:
            response = self._http.request(call.method, call.path, json=call.body, timeout=timeout)
        except httpx.TransportError as error:
            raise calls.unreachable(call, error, self._timeout) from error
        return calls.answer(call, response)


class Health:
    """The brief's healthMonitoringService: `admin.health`."""

    def __init__(self, sender: _Sender) -> None:
        self._send = sender.send

    def perform_health_check(self, check: str | None = None) -> list[CheckResult]:
        """Runs every check now (or the one named; admin key) and returns the results."""
        return self._send(calls.perform_health_check(check))

    def get_system_status(self) -> SystemStatus:
        """`status`, `uptime`, `last_check`, `critical_issues`, `active_incidents`."""
        return self._send(calls.get_system_status())

    def get_incidents(self) -> list[Incident]:
        """Incidents, open or resolved."""
        return self._send(calls.get_incidents())

    def get_checks(self) -> list[CheckSummary]:
        """Each configured check with its latest result and uptime."""
        return self._send(calls.get_checks())


class Backups:
    """The brief's automatedBackupService: `admin.backups`."""

    def __init__(self, sender: _Sender) -> None:
        self._send = sender.send

    def perform_backup(
        self,
        collections: Sequence[str] | None = None,
        incremental: bool = False,
        trial_restore: bool | None = None,
    ) -> Accepted:
        """Asks the worker for a backup (admin key; every collection when None). Returns
        when the worker has the command, not when the backup is done: the run appears in
        `list()` and its progress on the live stream."""
        return self._send(calls.perform_backup(collections, incremental, trial_restore))

    def schedule_backup(self, **config: Unpack[BackupConfiguration]) -> int:
        """Creates a schedule from the brief's BackupConfiguration (see
        `schedule_request`; admin key) and returns its id."""
        return self._send(calls.create_schedule(schedule_request(**config))).id

    def restore_from_backup(
        self,
        run_id: str,
        collections: Sequence[str] | None = None,
        mode: RestoreMode | None = None,
        target_schema: str | None = None,
    ) -> Accepted:
        """Restores `collections` (every one of the run's when None) from backup `run_id`
        (admin key). Calling it is the confirmation the API asks for. `mode="merge"` adds
        missing rows instead of replacing tables; `target_schema` restores beside them."""
        return self._send(calls.restore_from_backup(run_id, collections, mode, target_schema))

    def list(self) -> builtins.list[Run]:
        """Runs of every kind, newest first."""
        return self._send(calls.list_runs())

    def get_run(self, run_id: str) -> RunDetail:
        """The run with its artifacts; LookoutNotFoundError when there is none."""
        return self._send(calls.get_run(run_id))

    def list_schedules(self) -> builtins.list[Schedule]:
        return self._send(calls.list_schedules())

    def delete_schedule(self, schedule_id: int) -> None:
        """Deletes the schedule; LookoutNotFoundError when there is none."""
        self._send(calls.delete_schedule(schedule_id))


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
        sender = _Sender(self._http, timeout)
        self.health = Health(sender)
        self.backups = Backups(sender)

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
