"""health-monitor's settings: where its checks come from, what the default checks watch,
incident reminders and escalation, and the locations that vote on an incident."""

from pathlib import Path

from pydantic import Field, SecretStr

from lookout_common.infra.settings.base import LookoutSettings


class HealthMonitorSettings(LookoutSettings):
    http_port: int = 8003
    health_config: Path | None = Field(
        None, description="YAML file with the checks; unset = watch Lookout's own stack"
    )
    health_service_urls: dict[str, str] = Field(
        default_factory=dict,
        description="JSON {name: base URL} of services the default config checks via /readyz",
    )
    health_config_poll_s: float = Field(1.0, gt=0, description="How often the file is re-read")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint of the backup target")
    s3_bucket: str | None = Field(None, description="Backup bucket the default config checks")
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    backup_dir: Path = Field(
        Path(".lookout/backups"), description="Local backup directory the default config checks"
    )
    health_status_cache_s: float = Field(
        5.0, ge=0, le=300, description="How long /api/health reuses its last answer"
    )
    health_reminder_s: float = Field(
        1800.0,
        ge=0,
        description="Remind every this often while an incident is open and"
        " unacknowledged (0 = no reminders)",
    )
    health_escalate_after_s: float = Field(
        900.0,
        ge=0,
        description="Escalate an incident still unacknowledged this long after it"
        " opened (0 = never)",
    )
    health_incident_poll_s: float = Field(
        5.0, gt=0, description="How often due reminders and escalations are looked for"
    )
    health_location: str = Field(
        "default",
        pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$",
        description="Where this monitor probes from; each location runs every check once"
        " (one leader per location)",
    )
    health_quorum: int = Field(
        1,
        ge=1,
        le=32,
        description="Locations that must see a check failing before its incident opens"
        " (every location sets the same value)",
    )
    health_quorum_window_s: float = Field(
        300.0,
        gt=0,
        description="A location's verdict counts towards the quorum for this long after"
        " its last run",
    )
