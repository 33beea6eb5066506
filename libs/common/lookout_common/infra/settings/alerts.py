"""The alert consumer's settings (`python -m lookout_health.alerts`, part of
health-monitor): its receivers, retries and escalation receivers."""

from typing import Any

from pydantic import Field

from lookout_common.infra.settings.base import LookoutSettings


class AlertSettings(LookoutSettings):
    """The alert consumer (`python -m lookout_health.alerts`)."""

    http_port: int = 8005
    alert_receivers: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"name": "log", "kind": "log"}],
        description="JSON list of receivers: webhook, slack, alertmanager, log",
    )
    alert_group_id: str = Field("lookout-alerts", description="Kafka consumer group")
    alert_poll_s: float = Field(0.5, gt=0, description="How often each receiver looks for work")
    alert_retry_base_s: float = Field(1.0, gt=0, description="First retry delay (doubles)")
    alert_retry_max_s: float = Field(300.0, gt=0, description="Longest delay between retries")
    alert_max_age_s: float = Field(
        86_400.0, gt=0, description="An alert still undelivered after this is given up"
    )
    alert_escalation_receivers: list[str] = Field(
        default_factory=list,
        description="JSON list of receiver names (from LOOKOUT_ALERT_RECEIVERS) that get"
        " escalations, and only escalations",
    )
