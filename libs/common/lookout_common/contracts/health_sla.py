"""The health monitor's SLA report (`GET /api/v1/health/sla`), also relayed by
dashboard-api: uptime per component per calendar month and over the last 90 and 365
days, declared maintenance left out of the uptime and shown apart."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from lookout_common.contracts.models import Camel


class SlaPeriod(Camel):
    label: str = Field(description='"2026-11" for a calendar month, "90d" or "365d"')
    start: datetime
    end: datetime = Field(description="Exclusive; now for the current month and the windows")
    uptime_pct: float | None = Field(
        description="(up + degraded) / (up + degraded + down); maintenance left out; "
        "null when nothing was measured"
    )
    up_s: float
    degraded_s: float
    down_s: float
    maintenance_s: float = Field(description="Time inside declared maintenance windows")


class ComponentSla(Camel):
    component: str
    checks: list[str] = Field(description="The checks the component groups")
    months: list[SlaPeriod] = Field(description="Calendar months, oldest first")
    last_90d: SlaPeriod = Field(alias="last90d")
    last_365d: SlaPeriod = Field(alias="last365d")


class SlaMaintenance(Camel):
    starts_at: datetime
    ends_at: datetime
    reason: str


class SlaReport(Camel):
    generated_at: datetime
    components: list[ComponentSla]
    maintenance: list[SlaMaintenance] = Field(
        description="Declared windows the report's periods overlap (excluded from uptime)"
    )
