"""The Python admin client (`lookout_client.admin`) against an in-process dashboard-api
stand-in (httpx.MockTransport): the requests each call sends, the schedule mapping, an
exception class for every failure status, the live stream's parsing, reconnection and
final errors, and that both clients close what they open."""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from lookout_client.admin import (
    AsyncLookoutAdmin,
    CheckResult,
    Incident,
    LiveEvent,
    LookoutAdmin,
    LookoutAdminError,
    LookoutAuthenticationError,
    LookoutConflictError,
    LookoutNotFoundError,
    LookoutPermissionError,
    LookoutRateLimitError,
    LookoutUnavailableError,
    LookoutValidationError,
    Reason,
    schedule_request,
)
from lookout_client.admin.stream import Backoff, SseParser

URL = "http://dashboard.test:8000"
KEY = "lk_admin_test"
NOW = "2026-12-01T03:00:00Z"

CHECK_RESULT = {
    "service": "lookout-db",
    "status": "healthy",
    "responseTime": 3.5,
    "message": "SELECT 1 answered",
    "timestamp": NOW,
    "kind": "postgres",
    "critical": True,
    "details": {"server_version": "16.4"},
    "location": "jakarta",
}
SYSTEM_STATUS = {
    "status": "degraded",
    "uptime": 99.5,
    "lastCheck": NOW,
    "criticalIssues": [{"service": "kafka", "status": "degraded", "message": "slow", "since": NOW}],
    "activeIncidents": 1,
}
INCIDENT = {
    "id": 4,
    "check": "kafka",
    "critical": True,
    "status": "degraded",
    "message": "slow",
    "openedAt": NOW,
    "updatedAt": NOW,
    "resolvedAt": None,
    "durationS": None,
    "updates": [],
    "state": "identified",
    "acknowledgedAt": "2026-12-01T03:05:00Z",
    "acknowledgedBy": "ops-key",
    "reminders": 2,
    "escalatedAt": None,
    # Not (yet) in dashboard-api's answer: stands for a field a newer API adds.
    "severity": "minor",
}
CHECK_SUMMARY = {
    "name": "lookout-db",
    "kind": "postgres",
    "critical": True,
    "intervalS": 30,
    "latest": CHECK_RESULT,
    "uptime": {"24h": 100.0, "7d": 99.0, "30d": None},
}
RUN = {
    "run_id": "20261201T030000Z-full",
    "operation": "backup",
    "status": "succeeded",
    "backup_type": "full",
    "target_run_id": None,
    "requested_by": "schedule",
    "collections": ["users", "places"],
    "rows": 40,
    "bytes": 2048,
    "errors": [],
    "target": "local",
    "queued_at": NOW,
    "started_at": NOW,
    "finished_at": NOW,
    "authenticated": True,
}
ARTIFACT = {
    "collection": "users",
    "format": "json",
    "object_key": "runs/x/users.json.zst",
    "rows": 20,
    "bytes": 1024,
    "sha256_plain": "a" * 64,
    "sha256_stored": "b" * 64,
    "compression": "zstd",
    "encrypted": True,
}
SCHEDULE = {
    "id": 7,
    "name": "nightly",
    "frequency": "daily",
    "hour": 3,
    "minute": 0,
    "weekday": None,
    "day_of_month": None,
    "timezone": "UTC",
    "collections": [],
    "retention": {
        "retention_days": 30,
        "keep_last": 0,
        "keep_daily": 0,
        "keep_weekly": 0,
        "keep_monthly": 0,
    },
    "trial_restore": False,
    "enabled": True,
    "next_run_at": NOW,
    "backup_type": "full",
    "full_weekday": None,
    "trial_restore_weekday": None,
}
ACCEPTED = {"commandId": "dashboard-1", "operation": "backup"}
LOCATIONS = {
    "lookout-db": [
        {
            "location": "jakarta",
            "failing": False,
            "since": NOW,
            "stale": True,
            "latest": CHECK_RESULT,
        },
        {
            "location": "oslo",
            "failing": None,
            "since": None,
            "stale": False,
            "latest": CHECK_RESULT,
        },
    ],
    "kafka": [],
}

ANSWERS: dict[tuple[str, str], tuple[int, object]] = {
    ("POST", "/api/v1/health/checks/run"): (200, [CHECK_RESULT]),
    ("GET", "/api/v1/health/status"): (200, SYSTEM_STATUS),
    ("GET", "/api/v1/health/incidents"): (200, [INCIDENT]),
    ("GET", "/api/v1/health/checks"): (200, [CHECK_SUMMARY]),
    ("GET", "/api/v1/health/locations"): (200, LOCATIONS),
    ("GET", "/api/v1/health/locations?check=lookout-db&check=a+b%2F"): (200, LOCATIONS),
    ("POST", "/api/v1/backups/actions"): (202, ACCEPTED),
    ("POST", "/api/v1/backups/schedules"): (201, SCHEDULE),
    ("GET", "/api/v1/backups/runs"): (200, [RUN]),
    ("GET", "/api/v1/backups/runs/a%2Fb"): (200, {**RUN, "artifacts": [ARTIFACT]}),
    ("GET", "/api/v1/backups/schedules"): (200, [SCHEDULE]),
    ("DELETE", "/api/v1/backups/schedules/7"): (204, None),
}


class Recorder:
    """A dashboard-api stand-in: answers from ANSWERS (or `reply`) and keeps every
    request as (method, raw path, JSON body or None, headers, timeout)."""

    def __init__(self, reply: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.reply = reply

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.reply is not None:
            return self.reply(request)
        status, body = ANSWERS[(request.method, request.url.raw_path.decode())]
        if body is None:
            return httpx.Response(status)
        return httpx.Response(status, json=body)

    def shapes(self) -> list[tuple[str, str, object]]:
        return [
            (
                request.method,
                request.url.raw_path.decode(),
                json.loads(request.content) if request.content else None,
            )
            for request in self.requests
        ]


def sync_admin(recorder: Recorder, url: str = URL, timeout: float = 30.0) -> LookoutAdmin:
    return LookoutAdmin(url, KEY, timeout, transport=httpx.MockTransport(recorder))


def async_admin(recorder: Recorder) -> AsyncLookoutAdmin:
    return AsyncLookoutAdmin(URL, KEY, transport=httpx.MockTransport(recorder))


def answering(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> Callable[[httpx.Request], httpx.Response]:
    def reply(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body, headers=headers)
        return httpx.Response(status, json=body, headers=headers)

    return reply


EXPECTED_REQUESTS = [
    ("POST", "/api/v1/health/checks/run", None),
    ("POST", "/api/v1/health/checks/run", {"check": "lookout-db"}),
    ("GET", "/api/v1/health/status", None),
    ("GET", "/api/v1/health/incidents", None),
    ("GET", "/api/v1/health/checks", None),
    ("GET", "/api/v1/health/locations", None),
    ("GET", "/api/v1/health/locations?check=lookout-db&check=a+b%2F", None),
    ("POST", "/api/v1/backups/actions", {"operation": "backup", "backupType": "full"}),
    (
        "POST",
        "/api/v1/backups/actions",
        {
            "operation": "backup",
            "collections": ["users"],
            "backupType": "incremental",
            "trialRestore": True,
        },
    ),
    (
        "POST",
        "/api/v1/backups/schedules",
        {
            "name": "nightly",
            "frequency": "daily",
            "hour": 3,
            "minute": 0,
            "timezone": "UTC",
            "collections": [],
            "retention": {"retention_days": 30},
        },
    ),
    (
        "POST",
        "/api/v1/backups/actions",
        {"operation": "restore", "runId": "run-1", "confirm": True},
    ),
    (
        "POST",
        "/api/v1/backups/actions",
        {
            "operation": "restore",
            "runId": "run-1",
            "collections": ["places"],
            "restoreMode": "merge",
            "targetSchema": "restored",
            "confirm": True,
        },
    ),
    ("GET", "/api/v1/backups/runs", None),
    ("GET", "/api/v1/backups/runs/a%2Fb", None),
    ("GET", "/api/v1/backups/schedules", None),
    ("DELETE", "/api/v1/backups/schedules/7", None),
]


def test_each_call_sends_the_documented_request_and_reads_the_answer() -> None:
    recorder = Recorder()
    with sync_admin(recorder) as admin:
        results = admin.health.perform_health_check()
        admin.health.perform_health_check("lookout-db")
        status = admin.health.get_system_status()
        (incident,) = admin.health.get_incidents()
        (check,) = admin.health.get_checks()
        located = admin.health.get_locations()
        admin.health.get_locations(["lookout-db", "a b/"])
        accepted = admin.backups.perform_backup()
        admin.backups.perform_backup(["users"], incremental=True, trial_restore=True)
        schedule_id = admin.backups.schedule_backup(name="nightly", retention=30)
        admin.backups.restore_from_backup("run-1")
        admin.backups.restore_from_backup(
            "run-1", ["places"], mode="merge", target_schema="restored"
        )
        (run,) = admin.backups.list()
        detail = admin.backups.get_run("a/b")
        (schedule,) = admin.backups.list_schedules()
        deleted = admin.backups.delete_schedule(7)

    assert recorder.shapes() == EXPECTED_REQUESTS
    assert all(
        request.headers["authorization"] == f"Bearer {KEY}"
        and request.headers["accept"] == "application/json"
        for request in recorder.requests
    )
    assert (results[0].service, results[0].response_time) == ("lookout-db", 3.5)
    assert results[0].timestamp == datetime(2026, 12, 1, 3, tzinfo=UTC)
    assert (status.status, status.uptime, status.active_incidents) == ("degraded", 99.5, 1)
    assert status.critical_issues[0].service == "kafka"
    assert status.model_dump(by_alias=True, mode="json") == {
        **SYSTEM_STATUS,
        "lastCheck": "2026-12-01T03:00:00Z",
        "criticalIssues": [{**SYSTEM_STATUS["criticalIssues"][0], "since": "2026-12-01T03:00:00Z"}],
    }
    assert results[0].location == "jakarta"
    assert (incident.state, incident.acknowledged_by, incident.reminders) == (
        "identified",
        "ops-key",
        2,
    )
    assert incident.acknowledged_at == datetime(2026, 12, 1, 3, 5, tzinfo=UTC)
    assert incident.escalated_at is None
    # A field a newer API added is kept, not refused.
    assert incident.model_extra == {"severity": "minor"}
    assert (check.interval_s, check.uptime.last_24h, check.uptime.last_30d) == (30, 100.0, None)
    assert list(located) == ["lookout-db", "kafka"]
    assert [
        (seen.location, seen.failing, seen.since, seen.stale) for seen in located["lookout-db"]
    ] == [
        ("jakarta", False, datetime(2026, 12, 1, 3, tzinfo=UTC), True),
        ("oslo", None, None, False),
    ]
    assert located["lookout-db"][0].latest.service == "lookout-db"
    assert located["kafka"] == []
    assert (accepted.command_id, accepted.operation) == ("dashboard-1", "backup")
    assert schedule_id == 7
    assert (run.run_id, run.collections) == ("20261201T030000Z-full", ["users", "places"])
    assert detail.artifacts[0].object_key == "runs/x/users.json.zst"
    assert (schedule.retention.retention_days, schedule.next_run_at) == (30, results[0].timestamp)
    assert deleted is None


def test_an_answer_of_an_older_api_reads_with_the_documented_defaults() -> None:
    # dashboard-api before incident acknowledgement and locations sent none of these.
    older = {
        key: value
        for key, value in INCIDENT.items()
        if key
        not in {"state", "acknowledgedAt", "acknowledgedBy", "reminders", "escalatedAt", "severity"}
    }
    incident = Incident.model_validate(older)
    assert (
        incident.state,
        incident.acknowledged_at,
        incident.acknowledged_by,
        incident.reminders,
        incident.escalated_at,
    ) == ("investigating", None, None, 0, None)
    result = CheckResult.model_validate({k: v for k, v in CHECK_RESULT.items() if k != "location"})
    assert result.location == "default"


async def test_async_client_sends_the_same_requests_as_the_sync_one() -> None:
    recorder = Recorder()
    async with async_admin(recorder) as admin:
        results = await admin.health.perform_health_check()
        await admin.health.perform_health_check("lookout-db")
        status = await admin.health.get_system_status()
        await admin.health.get_incidents()
        await admin.health.get_checks()
        await admin.health.get_locations()
        await admin.health.get_locations(["lookout-db", "a b/"])
        await admin.backups.perform_backup()
        await admin.backups.perform_backup(["users"], incremental=True, trial_restore=True)
        schedule_id = await admin.backups.schedule_backup(name="nightly", retention=30)
        await admin.backups.restore_from_backup("run-1")
        await admin.backups.restore_from_backup(
            "run-1", ["places"], mode="merge", target_schema="restored"
        )
        runs = await admin.backups.list()
        detail = await admin.backups.get_run("a/b")
        schedules = await admin.backups.list_schedules()
        deleted = await admin.backups.delete_schedule(7)

    assert recorder.shapes() == EXPECTED_REQUESTS
    assert results[0].status == "healthy"
    assert status.last_check == datetime(2026, 12, 1, 3, tzinfo=UTC)
    assert schedule_id == 7
    assert [run.run_id for run in runs] == [detail.run_id]
    assert [schedule.id for schedule in schedules] == [7]
    assert deleted is None


async def test_both_clients_offer_the_same_methods_with_the_same_signatures_and_docs() -> None:
    recorder = Recorder()
    with sync_admin(recorder) as sync_client:
        async with async_admin(recorder) as async_client:
            _same_methods(sync_client, async_client)
    assert recorder.requests == []


def _same_methods(sync_client: LookoutAdmin, async_client: AsyncLookoutAdmin) -> None:
    for part in ("health", "backups"):
        sync_part, async_part = getattr(sync_client, part), getattr(async_client, part)
        names = [name for name in dir(sync_part) if not name.startswith("_")]
        assert names
        assert names == [name for name in dir(async_part) if not name.startswith("_")]
        for name in names:
            sync_method, async_method = getattr(sync_part, name), getattr(async_part, name)
            assert inspect.signature(sync_method) == inspect.signature(async_method)
            assert sync_method.__doc__ == async_method.__doc__
            assert sync_method.__doc__
            assert not inspect.iscoroutinefunction(sync_method)
            assert inspect.iscoroutinefunction(async_method)
    # What a method is documented to return is its answer, not the request it builds.
    assert inspect.signature(sync_client.backups.schedule_backup).return_annotation is int
    assert inspect.signature(async_client.backups.delete_schedule).return_annotation is None
    assert sync_client.backups.list.__qualname__ == "Backups.list"
    assert list(inspect.signature(sync_client.backups.restore_from_backup).parameters) == [
        "run_id",
        "collections",
        "mode",
        "target_schema",
    ]


def test_base_url_keeps_its_path_and_loses_trailing_slashes() -> None:
    recorder = Recorder(answering(200, SYSTEM_STATUS))
    with sync_admin(recorder, url="https://ops.example.com/lookout//") as admin:
        assert admin.url == "https://ops.example.com/lookout"
        admin.health.get_system_status()
    assert str(recorder.requests[0].url) == "https://ops.example.com/lookout/api/v1/health/status"


def test_running_every_check_waits_longer_than_dashboard_api_gives_the_monitor() -> None:
    recorder = Recorder()
    with sync_admin(recorder, timeout=5.0) as admin:
        admin.health.perform_health_check()
        admin.health.get_system_status()
    run_checks, status = (request.extensions["timeout"]["read"] for request in recorder.requests)
    assert (run_checks, status) == (65.0, 5.0)


# The schedule mapping: the brief's BackupConfiguration -> the worker's ScheduleIn.


def test_daily_schedule_runs_at_three_in_utc_on_every_collection() -> None:
    body = schedule_request()
    name = body.pop("name")
    assert isinstance(name, str)
    assert name.startswith("daily-backup-")
    assert len(name) == len("daily-backup-") + 8
    assert body == {
        "frequency": "daily",
        "hour": 3,
        "minute": 0,
        "timezone": "UTC",
        "collections": [],
    }


def test_generated_names_differ() -> None:
    assert schedule_request()["name"] != schedule_request()["name"]


def test_weekly_means_sundays_and_monthly_the_first_in_the_given_zone() -> None:
    weekly = schedule_request(name="w", schedule="weekly", timezone="Asia/Jakarta")
    monthly = schedule_request(name="m", schedule="monthly")
    assert (weekly["weekday"], weekly["hour"], weekly["timezone"]) == (6, 3, "Asia/Jakarta")
    assert "day_of_month" not in weekly
    assert (monthly["day_of_month"], monthly["hour"], monthly["timezone"]) == (1, 3, "UTC")
    assert "weekday" not in monthly


def test_a_timetable_sets_each_field_and_its_zone_wins() -> None:
    body = schedule_request(
        name="tuesdays",
        schedule={
            "frequency": "weekly",
            "hour": 22,
            "minute": 30,
            "weekday": 1,
            "timezone": "Europe/Berlin",
        },
        timezone="UTC",
        collections=("users", "places"),
    )
    assert body == {
        "name": "tuesdays",
        "frequency": "weekly",
        "hour": 22,
        "minute": 30,
        "timezone": "Europe/Berlin",
        "weekday": 1,
        "collections": ["users", "places"],
    }


def test_retention_in_days_or_as_a_keep_policy() -> None:
    assert schedule_request(name="a", retention=30)["retention"] == {"retention_days": 30}
    assert schedule_request(name="b", retention={"keep_daily": 7, "keep_weekly": 4})[
        "retention"
    ] == {"keep_daily": 7, "keep_weekly": 4}


def test_worker_settings_are_accepted_and_not_sent() -> None:
    plain = schedule_request(name="x")
    briefed = schedule_request(name="x", format="json", compression=True, encryption=True)
    assert briefed == plain


def test_incremental_schedule_with_full_backups_on_sundays_and_weekly_trial_restore() -> None:
    body = schedule_request(
        name="nightly",
        incremental=True,
        full_weekday=6,
        trial_restore=True,
        trial_restore_weekday=6,
        enabled=False,
    )
    assert {key: body[key] for key in body if key not in {"frequency", "hour", "minute"}} == {
        "name": "nightly",
        "timezone": "UTC",
        "collections": [],
        "backup_type": "incremental",
        "full_weekday": 6,
        "trial_restore": True,
        "trial_restore_weekday": 6,
        "enabled": False,
    }


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"schedule": "hourly"}, "schedule"),
        ({"schedule": {"hour": 3}}, "schedule"),
        ({"name": "Nightly Backup"}, "name"),
        ({"name": ""}, "name"),
        ({"collections": "users"}, "collections"),
        ({"retention": "30 days"}, "retention"),
        ({"retention": True}, "retention"),
        ({"retention": {"keep_forever": 1}}, "retention"),
    ],
)
def test_what_cannot_be_mapped_is_refused_before_anything_is_sent(
    config: dict[str, object], field: str
) -> None:
    recorder = Recorder()
    with sync_admin(recorder) as admin, pytest.raises(LookoutValidationError) as refused:
        admin.backups.schedule_backup(**config)
    assert refused.value.status is None
    assert refused.value.reasons[0].field == field
    assert recorder.requests == []


# Errors: one class per status, with the API's reasons.


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, LookoutValidationError),
        (401, LookoutAuthenticationError),
        (403, LookoutPermissionError),
        (404, LookoutNotFoundError),
        (409, LookoutConflictError),
        (422, LookoutValidationError),
        (429, LookoutRateLimitError),
        (500, LookoutUnavailableError),
        (502, LookoutUnavailableError),
        (503, LookoutUnavailableError),
        (504, LookoutUnavailableError),
    ],
)
def test_each_failure_status_raises_its_class_with_the_reason(
    status: int, kind: type[LookoutAdminError]
) -> None:
    recorder = Recorder(answering(status, {"detail": f"refused with {status}"}))
    with sync_admin(recorder) as admin, pytest.raises(kind) as raised:
        admin.backups.perform_backup()
    error = raised.value
    assert type(error) is kind
    assert error.status == status
    assert error.reasons == [Reason(None, f"refused with {status}")]
    assert error.body == {"detail": f"refused with {status}"}
    assert str(error) == (
        f"POST /api/v1/backups/actions answered HTTP {status}: refused with {status}"
    )


def test_an_unmapped_status_raises_the_base_class() -> None:
    with (
        sync_admin(Recorder(answering(418, "short and stout"))) as admin,
        pytest.raises(LookoutAdminError) as raised,
    ):
        admin.health.get_incidents()
    assert type(raised.value) is LookoutAdminError
    assert (raised.value.status, raised.value.reasons) == (418, [Reason(None, "short and stout")])


def test_validation_errors_name_each_field_without_its_location() -> None:
    detail = [
        {"loc": ["body", "hour"], "msg": "Input should be less than or equal to 23"},
        {"loc": ["body", "collections", 0], "msg": "String should match pattern"},
        {"loc": ["body"], "msg": "Value error, a weekly schedule needs weekday"},
    ]
    recorder = Recorder(answering(422, {"detail": detail}))
    with sync_admin(recorder) as admin, pytest.raises(LookoutValidationError) as raised:
        admin.backups.schedule_backup(name="late", schedule={"frequency": "daily", "hour": 25})
    assert raised.value.reasons == [
        Reason("hour", "Input should be less than or equal to 23"),
        Reason("collections.0", "String should match pattern"),
        Reason(None, "Value error, a weekly schedule needs weekday"),
    ]


@pytest.mark.parametrize(
    ("body", "reasons"),
    [
        ({"detail": {"field": "name", "reason": "taken"}}, [Reason("name", "taken")]),
        (
            {"errors": [{"field": "a", "reason": "bad"}, {"message": "worse"}]},
            [Reason("a", "bad"), Reason(None, "worse")],
        ),
        ("upstream said no", [Reason(None, "upstream said no")]),
        ({"something": "else"}, []),
    ],
)
def test_reasons_are_read_from_every_error_shape(body: object, reasons: list[Reason]) -> None:
    with (
        sync_admin(Recorder(answering(409, body))) as admin,
        pytest.raises(LookoutConflictError) as raised,
    ):
        admin.backups.schedule_backup(name="taken")
    assert raised.value.reasons == reasons


def test_rate_limit_carries_retry_after_in_seconds() -> None:
    recorder = Recorder(answering(429, {"detail": "slow down"}, {"Retry-After": "7"}))
    with sync_admin(recorder) as admin, pytest.raises(LookoutRateLimitError) as raised:
        admin.health.get_system_status()
    assert raised.value.retry_after == 7.0


def test_rate_limit_reads_an_http_date_and_no_header_as_none() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    with (
        sync_admin(Recorder(answering(429, None, {"Retry-After": later}))) as admin,
        pytest.raises(LookoutRateLimitError) as dated,
    ):
        admin.health.get_system_status()
    assert dated.value.retry_after is not None
    assert 100 < dated.value.retry_after <= 120
    with (
        sync_admin(Recorder(answering(429, None))) as admin,
        pytest.raises(LookoutRateLimitError) as undated,
    ):
        admin.health.get_system_status()
    assert undated.value.retry_after is None


def refuse_connection(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def time_out(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("timed out", request=request)


def test_a_network_failure_is_unavailable_with_status_zero() -> None:
    with (
        sync_admin(Recorder(refuse_connection)) as admin,
        pytest.raises(LookoutUnavailableError) as raised,
    ):
        admin.backups.list()
    assert raised.value.status == 0
    assert raised.value.reasons == [Reason(None, "connection refused")]


def test_a_timeout_is_unavailable_and_says_how_long_it_waited() -> None:
    with (
        sync_admin(Recorder(time_out), timeout=2.5) as admin,
        pytest.raises(LookoutUnavailableError) as raised,
    ):
        admin.backups.list()
    assert raised.value.status == 0
    assert raised.value.reasons == [Reason(None, "no answer within 2.5 s")]


async def test_async_failures_raise_the_same_classes() -> None:
    async with async_admin(Recorder(answering(403, {"detail": "viewers read"}))) as admin:
        with pytest.raises(LookoutPermissionError) as refused:
            await admin.backups.perform_backup()
    assert refused.value.reasons == [Reason(None, "viewers read")]
    async with async_admin(Recorder(time_out)) as admin:
        with pytest.raises(LookoutUnavailableError) as unanswered:
            await admin.health.get_checks()
    assert unanswered.value.status == 0


def test_a_success_without_the_documented_shape_raises_with_what_was_wrong() -> None:
    with (
        sync_admin(Recorder(answering(200, {"status": "operational"}))) as admin,
        pytest.raises(LookoutAdminError) as raised,
    ):
        admin.health.get_system_status()
    assert raised.value.status == 200
    assert {field for field, _ in raised.value.reasons} >= {"uptime", "activeIncidents"}


@pytest.mark.parametrize(
    ("url", "key", "field"),
    [("dashboard:8000", KEY, "url"), ("ftp://dashboard", KEY, "url"), (URL, "", "key")],
)
def test_a_client_needs_an_http_url_and_a_key(url: str, key: str, field: str) -> None:
    with pytest.raises(LookoutValidationError) as refused:
        LookoutAdmin(url, key)
    assert refused.value.reasons[0].field == field
    with pytest.raises(LookoutValidationError):
        AsyncLookoutAdmin(url, key)


def test_leaving_the_with_block_closes_the_client_and_later_calls_raise() -> None:
    recorder = Recorder()
    with sync_admin(recorder) as admin:
        admin.health.get_system_status()
    with pytest.raises(LookoutAdminError) as raised:
        admin.health.get_system_status()
    assert raised.value.status is None
    assert "closed" in str(raised.value)
    assert len(recorder.requests) == 1


async def test_leaving_async_with_closes_the_client_and_later_calls_raise() -> None:
    recorder = Recorder()
    async with async_admin(recorder) as admin:
        await admin.health.get_system_status()
    with pytest.raises(LookoutAdminError) as raised:
        await admin.health.get_system_status()
    assert raised.value.status is None
    assert len(recorder.requests) == 1


def test_the_key_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="lookout_client.admin")
    with sync_admin(Recorder()) as admin:
        admin.backups.perform_backup(["users"])
    assert "POST /api/v1/backups/actions" in caplog.text
    assert KEY not in caplog.text


# The live stream.


def parsed(text: str) -> list[LiveEvent]:
    parser = SseParser()
    return [event for line in text.split("\n") if (event := parser.feed(line)) is not None]


def test_sse_events_are_parsed_with_their_type_data_and_id() -> None:
    text = (
        "retry: 3000\n\n"
        ": keep-alive\n\n"
        'event: hello\ndata: {"at": "now", "kafka": true}\n\n'
        'id: 7\nevent: check\ndata: {"service":\ndata: "db"}\n\n'
        "event: note\ndata:plain text\n\n"
        "data: 1\n\n"
        "event: incomplete\ndata: {}"
    )
    assert parsed(text) == [
        LiveEvent("hello", {"at": "now", "kafka": True}, None),
        LiveEvent("check", {"service": "db"}, "7"),
        LiveEvent("note", "plain text", None),
        LiveEvent("message", 1, None),
    ]


def test_backoff_doubles_to_its_cap_and_honours_what_the_api_asked() -> None:
    backoff = Backoff(initial=1.0, maximum=30.0)
    assert [backoff.delay(attempt, draw=lambda: 1.0) for attempt in (1, 2, 3, 6, 7)] == [
        1.0,
        2.0,
        4.0,
        30.0,
        30.0,
    ]
    assert backoff.delay(3, draw=lambda: 0.0) == 2.0
    assert backoff.delay(1, at_least=12.5, draw=lambda: 1.0) == 12.5


class Closable(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that records whether the client closed it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        yield self.body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


def sse(*events: tuple[str, object]) -> bytes:
    return b"".join(
        f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode() for kind, data in events
    )


class StreamServer:
    """Answers each connection to the stream with the next of `answers`."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.at: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.at.append(time.monotonic())
        return self.answers.pop(0)


HELLO = ("hello", {"at": NOW, "kafka": True})
CHECK = ("check", CHECK_RESULT)
BACKUP = ("backup", {"run_id": "r1", "status": "running"})


def streaming(body: bytes) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Closable(body))


def test_subscribe_reconnects_after_a_drop_and_a_502_and_closes_when_the_caller_stops() -> None:
    last = Closable(sse(HELLO, BACKUP, CHECK))
    server = StreamServer(
        streaming(sse(HELLO, CHECK)),
        httpx.Response(502, json={"detail": "health-monitor is down"}),
        httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=last),
    )
    with LookoutAdmin(URL, KEY, transport=httpx.MockTransport(server)) as admin:
        events = admin.subscribe(initial_delay=0.001, max_delay=0.01)
        seen = [next(events) for _ in range(4)]
        events.close()
    assert [event.type for event in seen] == ["hello", "check", "hello", "backup"]
    assert seen[1].data == CHECK_RESULT
    assert [(request.method, request.url.path) for request in server.requests] == [
        ("GET", "/api/v1/stream")
    ] * 3
    assert all(
        request.headers["accept"] == "text/event-stream"
        and request.headers["authorization"] == f"Bearer {KEY}"
        for request in server.requests
    )
    assert last.closed


@pytest.mark.parametrize(
    ("status", "kind"), [(401, LookoutAuthenticationError), (403, LookoutPermissionError)]
)
def test_subscribe_refused_raises_and_never_reconnects(
    status: int, kind: type[LookoutAdminError]
) -> None:
    server = StreamServer(httpx.Response(status, json={"detail": "not this key"}))
    with (
        LookoutAdmin(URL, KEY, transport=httpx.MockTransport(server)) as admin,
        pytest.raises(kind) as raised,
    ):
        list(admin.subscribe(initial_delay=0.001))
    assert raised.value.reasons == [Reason(None, "not this key")]
    assert len(server.requests) == 1


def test_a_revoked_key_ends_the_stream_with_an_authentication_error() -> None:
    server = StreamServer(streaming(sse(HELLO, ("revoked", {"reason": "key revoked"}), CHECK)))
    seen: list[LiveEvent] = []
    with (
        LookoutAdmin(URL, KEY, transport=httpx.MockTransport(server)) as admin,
        pytest.raises(LookoutAuthenticationError) as raised,
    ):
        seen.extend(admin.subscribe(initial_delay=0.001))
    assert [event.type for event in seen] == ["hello"]
    assert (raised.value.status, raised.value.reasons) == (401, [Reason(None, "key revoked")])
    assert len(server.requests) == 1


def test_subscribe_waits_out_a_429s_retry_after() -> None:
    server = StreamServer(
        httpx.Response(429, json={"detail": "5 streams open"}, headers={"Retry-After": "0.3"}),
        streaming(sse(HELLO)),
    )
    with LookoutAdmin(URL, KEY, transport=httpx.MockTransport(server)) as admin:
        events = admin.subscribe(initial_delay=0.001)
        assert next(events).type == "hello"
        events.close()
    assert server.at[1] - server.at[0] >= 0.3


async def test_async_subscribe_reconnects_and_raises_the_same_final_errors() -> None:
    server = StreamServer(
        streaming(sse(HELLO)),
        httpx.Response(503, json={"detail": "starting"}),
        streaming(sse(HELLO, ("revoked", {"reason": "key revoked"}))),
    )
    seen: list[LiveEvent] = []

    async def listen(admin: AsyncLookoutAdmin) -> None:
        async for event in admin.subscribe(initial_delay=0.001):
            seen.append(event)

    async with AsyncLookoutAdmin(URL, KEY, transport=httpx.MockTransport(server)) as admin:
        with pytest.raises(LookoutAuthenticationError):
            await listen(admin)
    assert [event.type for event in seen] == ["hello", "hello"]
    assert len(server.requests) == 3


async def test_async_subscribe_closes_the_connection_when_the_caller_stops() -> None:
    body = Closable(sse(HELLO, CHECK))
    server = StreamServer(
        httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=body)
    )
    async with AsyncLookoutAdmin(URL, KEY, transport=httpx.MockTransport(server)) as admin:
        events = admin.subscribe()
        async for event in events:
            if event.type == "check":
                break
        await events.aclose()
    assert body.closed


def test_subscribe_on_a_closed_client_raises() -> None:
    with LookoutAdmin(URL, KEY, transport=httpx.MockTransport(Recorder())) as admin:
        pass
    with pytest.raises(LookoutAdminError):
        admin.subscribe()
