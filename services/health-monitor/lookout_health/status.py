"""The pure core of status: latest results and maintenance in, system status out; and
the IETF health response (draft-inadarei-api-health-check) built from the same."""

from __future__ import annotations

from typing import TypedDict

from lookout_common.contracts.health_api import CriticalIssue, SystemState
from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_health.config import CHECK_CLASSES, kind_of


def system_state(latest: list[CheckResult], in_maintenance: bool) -> SystemState:
    """`outage` when a critical check is unhealthy, `degraded` when any check is not
    healthy, `maintenance` inside a declared window (it overrides the others)."""
    if in_maintenance:
        return "maintenance"
    if any(r.critical and r.status is CheckStatus.UNHEALTHY for r in latest):
        return "outage"
    if any(r.status is not CheckStatus.HEALTHY for r in latest):
        return "degraded"
    return "operational"


def critical_issues(latest: list[CheckResult]) -> list[CriticalIssue]:
    return [
        CriticalIssue(service=r.service, status=r.status, message=r.message, since=r.timestamp)
        for r in latest
        if r.critical and r.status is not CheckStatus.HEALTHY
    ]


IETF_STATUS = {
    CheckStatus.HEALTHY: "pass",
    CheckStatus.DEGRADED: "warn",
    CheckStatus.UNHEALTHY: "fail",
}
COMPONENT_TYPE = {kind_of(check_class): check_class.component_type for check_class in CHECK_CLASSES}


class IetfCheck(TypedDict):
    """One component's entry under `checks` in the IETF health response."""

    componentId: str
    componentType: str
    observedValue: float
    observedUnit: str
    status: str
    affectedEndpoints: list[str]
    time: str
    output: str


class IetfHealth(TypedDict):
    """The IETF health response body (draft-inadarei-api-health-check)."""

    status: str
    version: str
    releaseId: str
    serviceId: str
    description: str
    notes: list[str]
    output: str
    checks: dict[str, list[IetfCheck]]


def ietf_response(
    latest: list[CheckResult], state: SystemState, *, service_id: str, version: str
) -> tuple[IetfHealth, int]:
    """(body, HTTP status): `fail` only on an outage (503); `warn` when degraded (200)."""
    overall = {"operational": "pass", "maintenance": "warn", "degraded": "warn"}.get(state, "fail")
    checks: dict[str, list[IetfCheck]] = {}
    for result in latest:
        checks[f"{result.service}:responseTime"] = [
            {
                "componentId": result.service,
                "componentType": COMPONENT_TYPE.get(result.kind, "component"),
                "observedValue": round(result.response_time_ms, 3),
                "observedUnit": "ms",
                "status": IETF_STATUS[result.status],
                "affectedEndpoints": [],
                "time": result.timestamp.isoformat(),
                "output": "" if result.status is CheckStatus.HEALTHY else result.message,
            }
        ]
    body: IetfHealth = {
        "status": overall,
        "version": version.split(".")[0],
        "releaseId": version,
        "serviceId": service_id,
        "description": "Lookout: health of the product's dependencies",
        "notes": [f"system status: {state}"],
        "output": "" if overall == "pass" else f"system status: {state}",
        "checks": checks,
    }
    return body, 503 if overall == "fail" else 200


class PublicComponent(TypedDict):
    componentId: str


class PublicHealth(TypedDict):
    """The keyless IETF answer: the overall status and the component names only."""

    status: str
    version: str
    releaseId: str
    serviceId: str
    checks: dict[str, list[PublicComponent]]


def public_view(body: IetfHealth) -> PublicHealth:
    """The IETF answer without details: the overall status and the component names (no
    per-component status, timing or message, which name internal hosts)."""
    components = sorted(
        {entry["componentId"] for found in body["checks"].values() for entry in found}
    )
    return {
        "status": body["status"],
        "version": body["version"],
        "releaseId": body["releaseId"],
        "serviceId": body["serviceId"],
        "checks": {name: [{"componentId": name}] for name in components},
    }
