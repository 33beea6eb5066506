"""Incident and backup events into alerts, and what each receiver is sent."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from lookout_common.contracts.backup_events import BackupResult, RunStatus
from lookout_common.contracts.health_events import CheckStatus, IncidentEvent
from lookout_health.alerts.delivery import retry_delay
from lookout_health.alerts.model import backup_alert, incident_alert
from lookout_health.alerts.receivers import alertmanager_payload, slack_text

OPENED = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def incident(action: str, **changes) -> IncidentEvent:
    resolved = action == "resolved"
    values = {
        "incident_id": 7,
        "check": "postgres",
        "action": action,
        "status": CheckStatus.HEALTHY if resolved else CheckStatus.UNHEALTHY,
        "critical": True,
        "message": "connection refused",
        "opened_at": OPENED,
        "resolved_at": OPENED + timedelta(minutes=5) if resolved else None,
        "duration_s": 300.0 if resolved else None,
        "at": OPENED + timedelta(minutes=5 if resolved else 0),
    }
    return IncidentEvent(**{**values, **changes})


def backup(status: RunStatus, operation: str = "backup") -> BackupResult:
    return BackupResult(
        run_id="run-1",
        operation=operation,
        status=status,
        errors=["bookings: permission denied"],
        at=OPENED,
    )


def test_opened_incident_fires_and_resolved_one_resolves_the_same_fingerprint() -> None:
    firing = incident_alert(incident("opened"))
    resolved = incident_alert(incident("resolved"))
    assert (firing.status, firing.severity, firing.summary) == (
        "firing",
        "critical",
        "postgres is unhealthy",
    )
    assert resolved.status == "resolved"
    assert resolved.summary == "postgres recovered after 300 s"
    assert resolved.ends_at == OPENED + timedelta(minutes=5)
    assert firing.fingerprint == resolved.fingerprint
    assert firing.event_key != resolved.event_key


def test_non_critical_check_is_a_warning() -> None:
    assert incident_alert(incident("opened", critical=False)).severity == "warning"


def test_incident_inside_a_maintenance_window_is_not_alerted() -> None:
    assert incident_alert(incident("opened", in_maintenance=True)) is None


@pytest.mark.parametrize(
    ("status", "operation", "severity"),
    [
        (RunStatus.FAILED, "backup", "critical"),
        (RunStatus.PARTIAL, "backup", "warning"),
        (RunStatus.FAILED, "restore", "critical"),
        (RunStatus.SUCCEEDED, "backup", None),
        (RunStatus.RUNNING, "backup", None),
        (RunStatus.FAILED, "prune", None),
    ],
)
def test_only_failed_or_partial_runs_alert(status, operation, severity) -> None:
    alert = backup_alert(backup(status, operation))
    assert (alert.severity if alert else None) == severity
    if alert:
        assert alert.description == "bookings: permission denied"


def test_alertmanager_payload_carries_labels_annotations_and_end_time() -> None:
    [item] = alertmanager_payload(incident_alert(incident("resolved")), "http://lookout/health")
    assert item["labels"]["alertname"] == "LookoutCheckUnhealthy"
    assert item["labels"]["check"] == "postgres"
    assert item["labels"]["severity"] == "critical"
    assert item["annotations"]["description"] == "connection refused"
    assert item["endsAt"] == (OPENED + timedelta(minutes=5)).isoformat()
    assert item["generatorURL"] == "http://lookout/health"
    [firing] = alertmanager_payload(incident_alert(incident("opened")), None)
    assert "endsAt" not in firing


def test_slack_text_says_firing_or_resolved() -> None:
    assert "FIRING" in slack_text(incident_alert(incident("opened")))
    assert "RESOLVED" in slack_text(incident_alert(incident("resolved")))


def test_retry_delay_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [retry_delay(attempt, 1.0, 60.0, rng) for attempt in range(10)]
    for attempt, delay in enumerate(delays):
        expected = min(2**attempt, 60.0)
        assert 0.8 * expected <= delay <= 1.2 * expected
