"""The backup worker's HTTP contract: runs, artifacts and schedules as its API (and
dashboard-api, which relays it) accepts and answers them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lookout_common.contracts.backup_events import CollectionName, Retention

Frequency = Literal["daily", "weekly", "monthly"]


class ScheduleSpec(BaseModel):
    # Strict: hours and minutes are JSON integers, never "3" or 3.0.
    model_config = ConfigDict(strict=True)

    frequency: Frequency
    hour: int = Field(ge=0, le=23)
    minute: int = Field(0, ge=0, le=59)
    weekday: int | None = Field(None, ge=0, le=6, description="0 = Monday (weekly)")
    day_of_month: int | None = Field(None, ge=1, le=31, description="monthly")
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _complete(self) -> ScheduleSpec:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {self.timezone!r}") from None
        if self.frequency == "weekly" and self.weekday is None:
            raise ValueError("a weekly schedule needs weekday (0 = Monday)")
        if self.frequency == "monthly" and self.day_of_month is None:
            raise ValueError("a monthly schedule needs day_of_month")
        return self


class ScheduleIn(ScheduleSpec):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,62}$")
    collections: list[CollectionName] = Field(
        default_factory=list, description="Empty: every collection"
    )
    retention: Retention = Field(default_factory=Retention)
    trial_restore: bool = Field(
        False, description="After each backup, restore it into a scratch schema and compare"
    )
    enabled: bool = True
    backup_type: Literal["full", "incremental"] = Field(
        "full", description="What each run makes (incremental: see full_weekday)"
    )
    full_weekday: int | None = Field(
        None,
        ge=0,
        le=6,
        description="Incremental schedules: runs due on this weekday (0 = Monday, in the"
        " schedule's zone) are full backups",
    )
    trial_restore_weekday: int | None = Field(
        None,
        ge=0,
        le=6,
        description="With trial_restore: only after runs due on this weekday (0 = Monday);"
        " unset: after every run",
    )

    @model_validator(mode="after")
    def _weekdays_apply(self) -> ScheduleIn:
        if self.full_weekday is not None and self.backup_type != "incremental":
            raise ValueError("full_weekday needs backup_type 'incremental'")
        if self.trial_restore_weekday is not None and not self.trial_restore:
            raise ValueError("trial_restore_weekday needs trial_restore: true")
        return self


class Schedule(ScheduleIn):
    id: int
    next_run_at: datetime | None


class Run(BaseModel):
    run_id: str
    operation: str
    status: str
    backup_type: str | None
    target_run_id: str | None
    requested_by: str
    collections: list[str]
    rows: int
    bytes: int
    errors: list[str]
    target: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    authenticated: bool | None = Field(
        None,
        description="Backups: whether the manifest is authenticated (false: made without a key)",
    )


class StoredArtifact(BaseModel):
    collection: str
    format: str
    object_key: str
    rows: int
    bytes: int
    sha256_plain: str
    sha256_stored: str
    compression: str
    encrypted: bool


class RunDetail(Run):
    artifacts: list[StoredArtifact]
