"""Lookout's admin client: the brief's healthMonitoringService and
automatedBackupService over dashboard-api's REST API, for Python.

`LookoutAdmin` (httpx.Client) and `AsyncLookoutAdmin` (httpx.AsyncClient) make the same
calls as `@lookout/admin` (clients/js/admin), in snake_case. Unlike the ingest client,
which never raises, every failed admin call raises a `LookoutAdminError` subclass.
"""

from lookout_client.admin.async_client import AsyncBackups, AsyncHealth, AsyncLookoutAdmin
from lookout_client.admin.client import Backups, Health, LookoutAdmin
from lookout_client.admin.errors import (
    LookoutAdminError,
    LookoutAuthenticationError,
    LookoutConflictError,
    LookoutNotFoundError,
    LookoutPermissionError,
    LookoutRateLimitError,
    LookoutUnavailableError,
    LookoutValidationError,
    Reason,
)
from lookout_client.admin.models import (
    Accepted,
    CheckLocation,
    CheckResult,
    CheckSummary,
    CriticalIssue,
    Incident,
    Retention,
    Run,
    RunDetail,
    Schedule,
    StoredArtifact,
    SystemStatus,
    Uptime,
)
from lookout_client.admin.schedule import (
    BackupConfiguration,
    KeepPolicy,
    Timetable,
    schedule_request,
)
from lookout_client.admin.stream import LiveEvent

__all__ = [
    "Accepted",
    "AsyncBackups",
    "AsyncHealth",
    "AsyncLookoutAdmin",
    "BackupConfiguration",
    "Backups",
    "CheckLocation",
    "CheckResult",
    "CheckSummary",
    "CriticalIssue",
    "Health",
    "Incident",
    "KeepPolicy",
    "LiveEvent",
    "LookoutAdmin",
    "LookoutAdminError",
    "LookoutAuthenticationError",
    "LookoutConflictError",
    "LookoutNotFoundError",
    "LookoutPermissionError",
    "LookoutRateLimitError",
    "LookoutUnavailableError",
    "LookoutValidationError",
    "Reason",
    "Retention",
    "Run",
    "RunDetail",
    "Schedule",
    "StoredArtifact",
    "SystemStatus",
    "Timetable",
    "Uptime",
    "schedule_request",
]
