"""Each admin operation as a description of one request to dashboard-api (method, path,
JSON body, timeout, the answer's type) and what turns its answer into a value or an
exception. No I/O here: `LookoutAdmin` and `AsyncLookoutAdmin` send the same calls, one
with httpx.Client, the other with httpx.AsyncClient."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter, ValidationError

from lookout_client.admin.errors import (
    LookoutAdminError,
    LookoutUnavailableError,
    LookoutValidationError,
    Reason,
    error_for,
)
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
from lookout_client.version import __version__

log = logging.getLogger("lookout_client.admin")

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
# dashboard-api gives the monitor 60 s to run every check, then answers 504 itself: the
# client waits a little longer so that the caller hears that answer, not its own timeout.
RUN_CHECKS_TIMEOUT = 65.0

HEALTH = "/api/v1/health"
BACKUPS = "/api/v1/backups"

RestoreMode = Literal["replace", "merge"]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the type its successful answer is read as (None: no body)."""

    method: str
    path: str
    answer: TypeAdapter[T] | None
    body: object = None
    min_timeout: float | None = None


_CHECK_RESULTS = TypeAdapter(list[CheckResult])
_SYSTEM_STATUS = TypeAdapter(SystemStatus)
_INCIDENTS = TypeAdapter(list[Incident])
_CHECKS = TypeAdapter(list[CheckSummary])
_ACCEPTED = TypeAdapter(Accepted)
_RUNS = TypeAdapter(list[Run])
_RUN = TypeAdapter(RunDetail)
_SCHEDULE = TypeAdapter(Schedule)
_SCHEDULES = TypeAdapter(list[Schedule])


def perform_health_check(check: str | None) -> Call[list[CheckResult]]:
    return Call(
        "POST",
        f"{HEALTH}/checks/run",
        _CHECK_RESULTS,
        body=None if check is None else {"check": check},
        min_timeout=RUN_CHECKS_TIMEOUT,
    )


def get_system_status() -> Call[SystemStatus]:
    return Call("GET", f"{HEALTH}/status", _SYSTEM_STATUS)


def get_incidents() -> Call[list[Incident]]:
    return Call("GET", f"{HEALTH}/incidents", _INCIDENTS)


def get_checks() -> Call[list[CheckSummary]]:
    return Call("GET", f"{HEALTH}/checks", _CHECKS)


def perform_backup(
    collections: Sequence[str] | None, incremental: bool, trial_restore: bool | None
) -> Call[Accepted]:
    body: dict[str, object] = {"operation": "backup"}
    if collections is not None:
        body["collections"] = _names(collections)
    body["backupType"] = "incremental" if incremental else "full"
    if trial_restore is not None:
        body["trialRestore"] = trial_restore
    return Call("POST", f"{BACKUPS}/actions", _ACCEPTED, body=body)


def create_schedule(body: dict[str, object]) -> Call[Schedule]:
    return Call("POST", f"{BACKUPS}/schedules", _SCHEDULE, body=body)


def restore_from_backup(
    run_id: str,
    collections: Sequence[str] | None,
    mode: RestoreMode | None,
    target_schema: str | None,
) -> Call[Accepted]:
    # confirm: true is the confirmation the API asks for: calling restore is that.
    body: dict[str, object] = {"operation": "restore", "runId": run_id}
    if collections is not None:
        body["collections"] = _names(collections)
    if mode is not None:
        body["restoreMode"] = mode
    if target_schema is not None:
        body["targetSchema"] = target_schema
    body["confirm"] = True
    return Call("POST", f"{BACKUPS}/actions", _ACCEPTED, body=body)


def list_runs() -> Call[list[Run]]:
    return Call("GET", f"{BACKUPS}/runs", _RUNS)


def get_run(run_id: str) -> Call[RunDetail]:
    return Call("GET", f"{BACKUPS}/runs/{quote(run_id, safe='')}", _RUN)


def list_schedules() -> Call[list[Schedule]]:
    return Call("GET", f"{BACKUPS}/schedules", _SCHEDULES)


def delete_schedule(schedule_id: int) -> Call[None]:
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
    if call.answer is None:
        return None  # type: ignore[return-value]  # Call[None]: a 204 carries nothing
    try:
        return call.answer.validate_python(body)
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
