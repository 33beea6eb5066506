"""backup-worker's settings: target (S3 or a local directory), keys, what is backed up
and how, retention, trial restores, schedules and signed commands."""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr

from lookout_common.infra.settings.base import LookoutSettings


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
