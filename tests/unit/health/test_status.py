"""System status and the IETF health response from the latest results."""

from __future__ import annotations

from datetime import UTC, datetime

from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_health.checks.network import failed_conditions
from lookout_health.config import JsonCondition
from lookout_health.status import critical_issues, ietf_response, system_state

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def result(name: str, status: CheckStatus, critical: bool = True) -> CheckResult:
    return CheckResult(
        service=name,
        status=status,
        response_time_ms=12.5,
        message="fine" if status is CheckStatus.HEALTHY else "broken",
        timestamp=NOW,
        kind="postgres",
        critical=critical,
    )


def test_all_healthy_is_operational_and_ietf_pass() -> None:
    latest = [result("postgres", CheckStatus.HEALTHY), result("kafka", CheckStatus.HEALTHY)]
    assert system_state(latest, in_maintenance=False) == "operational"
    body, code = ietf_response(latest, "operational", service_id="lookout", version="1.2.3")
    assert (body["status"], code) == ("pass", 200)
    entry = body["checks"]["postgres:responseTime"][0]
    assert entry == {
        "componentId": "postgres",
        "componentType": "datastore",
        "observedValue": 12.5,
        "observedUnit": "ms",
        "status": "pass",
        "affectedEndpoints": [],
        "time": NOW.isoformat(),
        "output": "",
    }
    assert (body["version"], body["releaseId"], body["serviceId"]) == ("1", "1.2.3", "lookout")


def test_critical_unhealthy_is_an_outage_and_ietf_fail_503() -> None:
    latest = [result("postgres", CheckStatus.UNHEALTHY), result("kafka", CheckStatus.HEALTHY)]
    assert system_state(latest, in_maintenance=False) == "outage"
    assert [issue.service for issue in critical_issues(latest)] == ["postgres"]
    body, code = ietf_response(latest, "outage", service_id="lookout", version="1.0.0")
    assert (body["status"], code) == ("fail", 503)
    assert body["checks"]["postgres:responseTime"][0]["output"] == "broken"


def test_non_critical_unhealthy_is_degraded_and_warn_200() -> None:
    latest = [result("search", CheckStatus.UNHEALTHY, critical=False)]
    assert system_state(latest, in_maintenance=False) == "degraded"
    assert critical_issues(latest) == []
    assert ietf_response(latest, "degraded", service_id="l", version="1")[1] == 200


def test_maintenance_overrides_an_outage() -> None:
    latest = [result("postgres", CheckStatus.UNHEALTHY)]
    assert system_state(latest, in_maintenance=True) == "maintenance"


def test_json_body_conditions_report_each_broken_one() -> None:
    body = {"status": "degraded", "checks": [{"name": "db", "ok": True}]}
    conditions = [
        JsonCondition(path="status", equals="ok"),
        JsonCondition(path="checks.0.ok", equals=True),
        JsonCondition(path="version"),
    ]
    assert failed_conditions(body, conditions) == [
        "status is 'degraded', expected 'ok'",
        "version is missing",
    ]
