"""Each admin operation, written once: a function with the public method's parameters
and docstring that describes one request to dashboard-api (method, path, JSON body,
timeout, how its answer is read), and what turns the answer into a value or an
exception. No I/O here: `LookoutAdmin` sends the same calls with httpx.Client,
`AsyncLookoutAdmin` with httpx.AsyncClient, each through an `Operation` that makes one
of these functions a method of `health` or `backups`."""

from __future__ import annotations

import functools
import inspect
import json
import logging
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar
from urllib.parse import quote, urlencode

import httpx
from pydantic import TypeAdapter, ValidationError
from typing_extensions import ParamSpec, Unpack

from lookout_client.admin.errors import (
    LookoutAdminError,
    LookoutUnavailableError,
    LookoutValidationError,
    Reason,
    error_for,
)
from lookout_client.admin.models import (
    Accepted,
    CheckLocation,
    CheckResult,
    CheckSummary,
    Incident,
    Run,
    RunDetail,
    Schedule,
    SystemStatus,
)
from lookout_client.admin.schedule import BackupConfiguration, schedule_request
from lookout_client.version import __version__

log = logging.getLogger("lookout_client.admin")

T = TypeVar("T")
P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., object])

DEFAULT_TIMEOUT = 30.0
# dashboard-api gives the monitor 60 s to run every check, then answers 504 itself: the
# client waits a little longer so that the caller hears that answer, not its own timeout.
RUN_CHECKS_TIMEOUT = 65.0

HEALTH = "/api/v1/health"
BACKUPS = "/api/v1/backups"

RestoreMode = Literal["replace", "merge"]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how its successful answer's JSON is read (None: no body). `read`
    raises pydantic's ValidationError when the answer is not the documented shape."""

    method: str
    path: str
    read: Callable[[object], T] | None
    body: object = None
    min_timeout: float | None = None


class Operation(Generic[P, T]):
    """Makes a call-building function a method (of `Health`, `Backups` and their async
    twins) under the attribute's name, with the function's parameters and docstring.
    `LookoutAdmin` and `AsyncLookoutAdmin` each say how the method sends the call."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        self.name = build.__name__
        # What the method returns is what the call's answer reads as, not the Call.
        (answer,) = typing.get_args(typing.get_type_hints(build)["return"])
        self.signature = inspect.signature(build).replace(
            return_annotation=None if answer is type(None) else answer
        )
        # help() on the class shows the operation like a method.
        self.__doc__ = build.__doc__
        self.__signature__ = self.signature

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.__name__ = name
        self.__qualname__ = f"{owner.__name__}.{name}"

    def method(self, function: F, owner: type) -> F:
        """`function` dressed as this operation's method of `owner`."""
        functools.update_wrapper(function, self.build)
        function.__signature__ = self.signature  # type: ignore[attr-defined]
        function.__name__ = self.name
        function.__qualname__ = f"{owner.__name__}.{self.name}"
        return function


_CHECK_RESULTS = TypeAdapter(list[CheckResult])
_SYSTEM_STATUS = TypeAdapter(SystemStatus)
_INCIDENTS = TypeAdapter(list[Incident])
_CHECKS = TypeAdapter(list[CheckSummary])
_LOCATIONS = TypeAdapter(dict[str, list[CheckLocation]])
_ACCEPTED = TypeAdapter(Accepted)
_RUNS = TypeAdapter(list[Run])
_RUN = TypeAdapter(RunDetail)
_SCHEDULE = TypeAdapter(Schedule)
_SCHEDULES = TypeAdapter(list[Schedule])


def _created_id(body: object) -> int:
    return _SCHEDULE.validate_python(body).id


def perform_health_check(check: str | None = None) -> Call[list[CheckResult]]:
    """Runs every check now (or the one named; admin key) and returns the results."""
    return Call(
        "POST",
        f"{HEALTH}/checks/run",
        _CHECK_RESULTS.validate_python,
        body=None if check is None else {"check": check},
        min_timeout=RUN_CHECKS_TIMEOUT,
    )


def get_system_status() -> Call[SystemStatus]:
    """`status`, `uptime`, `last_check`, `critical_issues`, `active_incidents`."""
    return Call("GET", f"{HEALTH}/status", _SYSTEM_STATUS.validate_python)


def get_incidents() -> Call[list[Incident]]:
    """Incidents, open or resolved."""
    return Call("GET", f"{HEALTH}/incidents", _INCIDENTS.validate_python)


def get_checks() -> Call[list[CheckSummary]]:
    """Each configured check with its latest result and uptime."""
    return Call("GET", f"{HEALTH}/checks", _CHECKS.validate_python)


def get_locations(checks: Sequence[str] | None = None) -> Call[dict[str, list[CheckLocation]]]:
    """What each monitor location last saw of every check (or of each of `checks`, at most
    100), by check name, in one request; a check not run yet has an empty list."""
    query = "" if checks is None else "?" + urlencode([("check", name) for name in checks])
    return Call("GET", f"{HEALTH}/locations{query}", _LOCATIONS.validate_python)


def perform_backup(
    collections: Sequence[str] | None = None,
    incremental: bool = False,
    trial_restore: bool | None = None,
) -> Call[Accepted]:
    """Asks the worker for a backup (admin key; every collection when None). Returns
    when the worker has the command, not when the backup is done: the run appears in
    `list()` and its progress on the live stream."""
    body: dict[str, object] = {"operation": "backup"}
    if collections is not None:
        body["collections"] = _names(collections)
    body["backupType"] = "incremental" if incremental else "full"
    if trial_restore is not None:
        body["trialRestore"] = trial_restore
    return Call("POST", f"{BACKUPS}/actions", _ACCEPTED.validate_python, body=body)


def schedule_backup(**config: Unpack[BackupConfiguration]) -> Call[int]:
    """Creates a schedule from the brief's BackupConfiguration (see
    `schedule_request`; admin key) and returns its id."""
    body = schedule_request(**config)
    return Call("POST", f"{BACKUPS}/schedules", _created_id, body=body)


def restore_from_backup(
    run_id: str,
    collections: Sequence[str] | None = None,
    mode: RestoreMode | None = None,
    target_schema: str | None = None,
) -> Call[Accepted]:
    """Restores `collections` (every one of the run's when None) from backup `run_id`
    (admin key). Calling it is the confirmation the API asks for. `mode="merge"` adds
    missing rows instead of replacing tables; `target_schema` restores beside them."""
    # confirm: true is the confirmation the API asks for: calling restore is that.
    body: dict[str, object] = {"operation": "restore", "runId": run_id}
    if collections is not None:
        body["collections"] = _names(collections)
    if mode is not None:
        body["restoreMode"] = mode
    if target_schema is not None:
        body["targetSchema"] = target_schema
    body["confirm"] = True
    return Call("POST", f"{BACKUPS}/actions", _ACCEPTED.validate_python, body=body)


def list_runs() -> Call[list[Run]]:
    """Runs of every kind, newest first."""
    return Call("GET", f"{BACKUPS}/runs", _RUNS.validate_python)


def get_run(run_id: str) -> Call[RunDetail]:
    """The run with its artifacts; LookoutNotFoundError when there is none."""
    return Call("GET", f"{BACKUPS}/runs/{quote(run_id, safe='')}", _RUN.validate_python)


def list_schedules() -> Call[list[Schedule]]:
    """Every backup schedule."""
    return Call("GET", f"{BACKUPS}/schedules", _SCHEDULES.validate_python)


def delete_schedule(schedule_id: int) -> Call[None]:
    """Deletes the schedule; LookoutNotFoundError when there is none."""
    return Call("DELETE", f"{BACKUPS}/schedules/{int(schedule_id)}", None)


def _names(collections: Sequence[str]) -> list[str]:
    if isinstance(collections, str | bytes):
        raise LookoutValidationError(
            "collections: a list of collection names, not one string",
            reasons=[Reason("collections", "a list of collection names")],
        )
    return list(collections)


def base_url(url: str) -> str:
    """dashboard-api's base URL without trailing slashes; refuses what is not http(s)."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise LookoutValidationError(
            "LookoutAdmin needs url: dashboard-api's http(s) base URL",
            reasons=[Reason("url", "an http:// or https:// URL")],
        )
    return url.rstrip("/")


def headers(key: str) -> dict[str, str]:
    """The request headers; the key travels only as the bearer token."""
    if not isinstance(key, str) or key == "":
        raise LookoutValidationError(
            "LookoutAdmin needs key: an admin or viewer API key",
            reasons=[Reason("key", "a non-empty API key")],
        )
    return {
        "Accept": "application/json",
        "Authorization": f"Bearer {key}",
        "User-Agent": f"lookout-client-admin/{__version__}",
    }


def timeout_for(call: Call[T], timeout: float) -> float:
    return max(timeout, call.min_timeout) if call.min_timeout is not None else timeout


def sending(call: Call[T], timeout: float) -> float:
    """Logs the request at debug level (never the key) and gives its timeout."""
    log.debug("-> %s %s %s", call.method, call.path, "" if call.body is None else call.body)
    return timeout_for(call, timeout)


def closed(call: Call[T]) -> LookoutAdminError:
    """The exception for a call made after `close()` (status None: nothing was sent)."""
    return LookoutAdminError(f"{call.method} {call.path}: the admin client is closed")


def unreachable(call: Call[T], error: httpx.TransportError, timeout: float) -> LookoutAdminError:
    """The exception for a request that got no answer (status 0)."""
    if isinstance(error, httpx.TimeoutException):
        why = f"no answer within {timeout_for(call, timeout):g} s"
    else:
        why = str(error) or type(error).__name__
    log.debug("x %s %s: %s", call.method, call.path, why)
    return LookoutUnavailableError(
        f"{call.method} {call.path} failed: {why}", status=0, reasons=[Reason(None, why)]
    )


def _body_of(response: httpx.Response) -> object:
    text = response.text
    if text == "":
        return None
    try:
        parsed: object = json.loads(text)
    except ValueError:
        return text
    return parsed


def answer(call: Call[T], response: httpx.Response) -> T:
    """The call's value from a read response; raises the exception its status maps to,
    or a LookoutAdminError when a success does not have the documented shape."""
    body = _body_of(response)
    log.debug("<- %d %s %s", response.status_code, call.method, call.path)
    if not response.is_success:
        raise error_for(
            response.status_code,
            body,
            method=call.method,
            path=call.path,
            retry_after=response.headers.get("Retry-After"),
        )
    if call.read is None:
        return None  # type: ignore[return-value]  # Call[None]: a 204 carries nothing
    try:
        return call.read(body)
    except ValidationError as invalid:
        raise LookoutAdminError(
            f"{call.method} {call.path} answered HTTP {response.status_code} with a body"
            " that is not the documented shape (is dashboard-api older than this client?)",
            status=response.status_code,
            reasons=[
                Reason(".".join(str(part) for part in item["loc"]) or None, item["msg"])
                for item in invalid.errors()
            ],
            body=body,
        ) from invalid
