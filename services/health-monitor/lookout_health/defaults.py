"""The checks Lookout runs on itself when no LOOKOUT_HEALTH_CONFIG is given: its own
Postgres and tables, the broker (with a canary), the backup storage and every other
service's readiness."""

from __future__ import annotations

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.kafka import kafka_auth
from lookout_common.infra.settings import HealthMonitorSettings
from lookout_health.config import (
    CheckConfig,
    DirectoryCheck,
    HealthConfig,
    HttpCheck,
    KafkaCheck,
    PostgresCheck,
    S3Check,
    TableCheck,
)

LOOKOUT_TABLES = ["user_analytics", "event_ids", "rollup_event_counts", "api_keys"]


def default_config(settings: HealthMonitorSettings) -> HealthConfig:
    checks: list[CheckConfig] = [
        PostgresCheck(name="postgres", kind="postgres", dsn=settings.dsn(), interval_s=30),
        TableCheck(
            name="lookout-tables",
            kind="table",
            dsn=settings.dsn(),
            tables=LOOKOUT_TABLES,
            interval_s=60,
        ),
        KafkaCheck(
            name="kafka",
            kind="kafka",
            bootstrap=settings.kafka_bootstrap,
            auth=kafka_auth(settings),
            canary_topic=topic_name(Topic.HEALTH_CANARY, settings.topic_prefix),
            interval_s=30,
        ),
    ]
    if settings.s3_bucket:
        secret = settings.s3_secret_access_key
        checks.append(
            S3Check(
                name="backup-storage",
                kind="s3",
                bucket=settings.s3_bucket,
                endpoint_url=settings.s3_endpoint_url,
                region=settings.s3_region,
                access_key_id=settings.s3_access_key_id.get_secret_value()
                if settings.s3_access_key_id
                else None,
                secret_access_key=secret.get_secret_value() if secret else None,
                interval_s=60,
            )
        )
    else:
        checks.append(
            DirectoryCheck(
                name="backup-storage", kind="directory", path=settings.backup_dir, interval_s=60
            )
        )
    for name, url in sorted(settings.health_service_urls.items()):
        checks.append(
            HttpCheck(
                name=name,
                kind="http",
                url=f"{url.rstrip('/')}/readyz",
                json=[{"path": "ready", "equals": True}],
                degraded_after_ms=1000,
                interval_s=30,
                timeout_s=5,
            )
        )
    return HealthConfig(checks=checks)
