"""analytics-aggregator's settings: its consumer group, batching, sessions and raw-event
retention."""

from pydantic import Field

from lookout_common.infra.settings.base import LookoutSettings


class AggregatorSettings(LookoutSettings):
    http_port: int = 8002
    group_id: str = Field("lookout-aggregator", description="Kafka consumer group")
    batch_max_records: int = Field(5000, ge=1, description="Most events in one DB transaction")
    batch_timeout_ms: int = Field(200, ge=1, description="Longest wait to fill a batch")
    retry_backoff_s: float = Field(1.0, gt=0, description="Pause before retrying a failed batch")
    session_timeout_s: int = Field(
        1800, ge=60, description="Inactivity that ends a session (events without a sessionId)"
    )
    events_retention_days: int | None = Field(
        None, ge=1, description="Drop raw-event day partitions older than this; unset = keep"
    )
    retention_interval_s: float = Field(
        3600.0, gt=0, description="How often raw-event retention runs"
    )
    events_max_age_days: int | None = Field(
        None,
        ge=1,
        description="Events older than this (or than the retention, if nearer) are dead-lettered; "
        "unset = the retention, else 1095 days",
    )
    consumers: int = Field(
        1, ge=1, le=16, description="Group members in this process (each with its own fetches)"
    )
