"""Settings: one pydantic-settings class per service, all read from `LOOKOUT_*`.

Defaults point at the embedded stack (`lookout up`). Secrets are `SecretStr`, so
they never appear in logs or reprs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# An exact browser origin, as in its Origin header: https://admin.example.com or http://127.0.0.1:8080.
CORS_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?"
)


class LookoutSettings(BaseSettings):
    """What every Lookout process needs: broker, database, time zone, HTTP, logging."""

    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", env_file=".env", extra="ignore")

    kafka_bootstrap: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma separated"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How every Kafka client connects (SASL_SSL in production)"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism (with a SASL_* protocol)"
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user of this service")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (secret)")
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA bundle that signs the brokers' certificates (SSL, SASL_SSL)"
    )
    kafka_ssl_certfile: Path | None = Field(
        None, description="Client certificate (PEM) for brokers that require mutual TLS"
    )
    kafka_ssl_keyfile: Path | None = Field(None, description="Private key of the certificate")
    database_url: SecretStr = Field(
        SecretStr("postgresql://postgres@127.0.0.1:5432/lookout"),
        description="PostgreSQL URL of Lookout's own database",
    )
    topic_prefix: str = Field(
        "", description="Prefix for every topic name (isolates tenants or test runs)"
    )
    topic_partitions: int = Field(4, ge=1, description="Partitions for topics Lookout creates")
    topic_replication: int = Field(1, ge=1, description="Replication factor for created topics")
    timezone: str = Field("UTC", description="IANA zone that defines 'today' in metrics")
    log_level: str = Field("INFO", description="Root log level")
    http_host: str = Field("127.0.0.1", description="Interface the HTTP server binds")
    http_port: int = Field(8000, ge=0, le=65535, description="Port the HTTP server binds")
    db_pool_max: int = Field(10, ge=1, description="Largest asyncpg pool size")
    io_timeout_s: float = Field(10.0, gt=0, description="Timeout for one network call")
    api_docs: bool = Field(
        False, description="Serve /docs, /redoc and /openapi.json (off: they answer 404)"
    )
    loop_backoff_s: float = Field(
        1.0, gt=0, description="First restart delay of a failed background loop (doubles)"
    )
    loop_backoff_max_s: float = Field(
        60.0, gt=0, description="Longest restart delay of a failed background loop"
    )
    loop_unhealthy_failures: int = Field(
        5, ge=1, description="Failures in a row after which a loop makes /healthz answer 503"
    )
    loop_stable_s: float = Field(
        30.0, gt=0, description="A loop run this long without failing ends its failure streak"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def dsn(self) -> str:
        return self.database_url.get_secret_value()


class IngestSettings(LookoutSettings):
    http_port: int = 8001
    publish_timeout_s: float = Field(
        5.0, gt=0, description="How long ingest waits for Kafka's ack before answering 503"
    )
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with a 503")
    max_event_bytes: int = Field(32 * 1024, description="Largest single event (Segment: 32 KB)")
    max_request_bytes: int = Field(
        500 * 1024, description="Largest request body after gunzip (Segment: 500 KB)"
    )
    write_key_cache_s: float = Field(30.0, ge=0, description="How long a checked key is cached")
    events_retention_days: int | None = Field(
        None, ge=1, description="The aggregator's raw-event retention: older events are refused"
    )
    events_max_age_days: int | None = Field(
        None,
        ge=1,
        le=36_500,
        description="Events older than this (or than the retention, if nearer) are refused; "
        "unset = the retention, else 1095 days (the aggregator reads the same setting)",
    )
    default_currency: str = Field(
        "IDR",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 currency of a booking that names none (the marketplace's own)",
    )
    trust_forwarded_for: bool = Field(
        False,
        description="Take the client IP from X-Forwarded-For (its last entry); only behind a "
        "proxy that appends the address it saw",
    )
    pii_deny_keys: Annotated[list[str], NoDecode] = Field(
        # Secrets and identifiers that have no place in analytics.
        default_factory=lambda: [
            "password",
            "passwd",
            "secret",
            "token",
            "access_token",
            "refresh_token",
            "api_key",
            "ssn",
            "card_number",
            "cvv",
            "cvc",
            "iban",
            "email",
        ],
        description="Keys whose value is always replaced by [redacted] (comma separated or a "
        "JSON list; case, _ and - are ignored when matching)",
    )
    dedupe_cache_size: int = Field(
        100_000, ge=0, description="Recent (write key, messageId) pairs remembered; 0 disables"
    )
    key_rate_per_s: float = Field(
        1000.0, ge=0, description="Events per second each write key may send; 0 disables"
    )
    key_burst: int = Field(
        2500, ge=1, description="Events a write key may send at once (a larger batch is a 400)"
    )
    ip_rate_per_s: float = Field(
        200.0, ge=0, description="Requests per second each client IP may send; 0 disables"
    )
    ip_burst: int = Field(400, ge=1, description="Requests a client IP may send at once")
    bot_extra_patterns: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More user agent regexes (case-insensitive) whose events are dropped as bots "
        "(comma separated or a JSON list)",
    )
    geoip_database: Path | None = Field(
        None,
        description="GeoLite2-City or -Country format MMDB that locates client IPs of events with "
        "geo consent; unset = no IP lookup",
    )

    @field_validator("pii_deny_keys", "bot_extra_patterns", mode="before")
    @classmethod
    def _list_or_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("bot_extra_patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"bot pattern {pattern!r} is not a regex: {error}") from error
        return value

    @field_validator("geoip_database", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `LOOKOUT_GEOIP_DATABASE=` (as a Makefile writes it when there is no file) is unset.
        return None if isinstance(value, str) and not value.strip() else value


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


class BackupWorkerSettings(LookoutSettings):
    http_port: int = 8004
    backup_dir: Path = Field(
        Path(".lookout/backups"), description="Local backup target when no S3 bucket is set"
    )
    backup_source_url: SecretStr | None = Field(
        None, description="Database whose collections are backed up (default: database_url)"
    )
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint (MinIO, moto, AWS)")
    s3_bucket: str | None = Field(None, description="Bucket for backups; unset = local dir")
    s3_region: str = Field("us-east-1", description="S3 region")
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None
    backup_key: SecretStr | None = Field(
        None, description="Master key (base64, 32 bytes) that wraps each run's data key"
    )
    backup_old_keys: SecretStr | None = Field(
        None, description="Earlier master keys, comma separated: old backups stay readable"
    )
    backup_collections: list[str] = Field(
        default_factory=list, description="Tables to back up (JSON list); empty = every table"
    )
    backup_format: Literal["csv", "json", "both"] = "csv"
    backup_compression: Literal["zstd", "gzip", "none"] = "zstd"
    s3_prefix: str = Field("lookout", description="Key prefix of every backup in the bucket")
    backup_retention_days: int | None = Field(None, ge=1, description="Prune: keep younger")
    backup_keep_last: int = Field(0, ge=0, description="Prune: keep the N newest backups")
    backup_keep_daily: int = Field(7, ge=0, description="Prune: newest of each of N days")
    backup_keep_weekly: int = Field(4, ge=0, description="Prune: newest of each of N weeks")
    backup_keep_monthly: int = Field(6, ge=0, description="Prune: newest of each of N months")
    backup_scratch_url: SecretStr | None = Field(
        None, description="Database for trial restores (default: the source, in a scratch schema)"
    )
    backup_schedule_poll_s: float = Field(30.0, gt=0, description="How often schedules are due")
    backup_default_schedule: bool = Field(
        True,
        description="Create the default nightly schedule once, on a fresh installation"
        " (false: schedules are managed by hand)",
    )
    backup_allow_unauthenticated: bool = Field(
        False,
        description="Allow backups without LOOKOUT_BACKUP_KEY (unencrypted, unauthenticated"
        " manifests) and trust such manifests on restore",
    )
    backup_restore_role: str | None = Field(
        None, description="Non-superuser role restores run as (SET ROLE); unset: the login role"
    )
    backup_command_key: SecretStr | None = Field(
        None, description="Key that signs backup commands (shared with dashboard-api)"
    )
    backup_command_max_age_s: float = Field(
        86_400.0,
        gt=0,
        le=7 * 86_400,
        description="A backup command older (or newer) than this is refused; longer than"
        " the longest run, since commands wait in the topic behind a running one",
    )
    s3_storage_class: str | None = Field(None, description="e.g. STANDARD_IA, GLACIER_IR")
    s3_server_side_encryption: str | None = Field(None, description="AES256 or aws:kms")


class DashboardSettings(LookoutSettings):
    http_port: int = 8000
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port], exact, comma separated or a JSON list) whose"
        " pages may call the API and the live stream from a browser, e.g. a host admin page"
        " embedding <lookout-dashboard>; none by default",
    )
    active_window_s: int = Field(300, ge=60, description="'Active users' look-back window")
    health_monitor_url: str = Field(
        "http://127.0.0.1:8003", description="health-monitor's API (the health tab reads it)"
    )
    backup_worker_url: str = Field(
        "http://127.0.0.1:8004", description="backup-worker's API (the backups tab reads it)"
    )
    backup_command_key: SecretStr | None = Field(
        None, description="Key that signs backup commands (shared with the backup worker)"
    )
    stream_tick_s: float = Field(
        5.0, gt=0, le=60, description="How often the live stream sends fresh overview metrics"
    )
    stream_key_check_s: float = Field(
        5.0, gt=0, le=300, description="How often a live stream re-checks its API key"
    )
    stream_max_per_key: int = Field(
        5, ge=1, le=1000, description="Live streams one API key may hold open at once"
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins_list_or_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not CORS_ORIGIN.fullmatch(origin):
                raise ValueError(
                    f"{origin!r} is not an origin: write scheme://host[:port], exactly as the"
                    " browser sends it (no path, no trailing slash, no wildcard)"
                )
        return value


class StackSettings(BaseSettings):
    """`lookout up`, the one-machine stack (flags of `lookout up` override these)."""

    model_config = SettingsConfigDict(env_prefix="LOOKOUT_", env_file=".env", extra="ignore")

    drain_timeout_s: float = Field(
        60.0,
        ge=0,
        description="On stop, how long to wait for the aggregator to store what the broker holds",
    )
    embedded_broker: Literal["s3", "memory"] = Field(
        "s3", description="Embedded broker's storage: s3 (durable, on SeaweedFS) or memory"
    )
    watchdog_interval_s: float = Field(
        5.0,
        gt=0,
        description="How often `lookout up` probes each service's /healthz (and how long a "
        "probe waits for an answer)",
    )
    watchdog_failures: int = Field(
        3,
        ge=1,
        description="Probes in a row answered 503 or not at all after which `lookout up` "
        "restarts the service",
    )
    watchdog_start_grace_s: float = Field(
        120.0,
        gt=0,
        description="A service that has never answered /healthz 200 is left to start this long",
    )
