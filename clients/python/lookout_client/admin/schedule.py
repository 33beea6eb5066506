"""The brief's BackupConfiguration as the backup worker's schedule (`ScheduleIn` in
dashboard-api's OpenAPI document): a pure mapping, so what the client sends is tested
alone. The same mapping as `@lookout/admin`'s schedule.js, in Python's names."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Literal

from typing_extensions import Required, TypedDict

from lookout_client.admin.errors import LookoutValidationError, Reason

Frequency = Literal["daily", "weekly", "monthly"]
BackupFormat = Literal["json", "csv", "both"]

DEFAULT_HOUR = 3  # the brief: "scheduled during low-traffic hours"
SUNDAY = 6  # weekdays count from 0 = Monday, as the worker's do
_FREQUENCIES = ("daily", "weekly", "monthly")
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,62}")
_KEEP_FIELDS = ("retention_days", "keep_last", "keep_daily", "keep_weekly", "keep_monthly")


class Timetable(TypedDict, total=False):
    """When a schedule runs: `hour` 0-23 (default 3), `minute` (0), `weekday` for weekly
    (0 = Monday; default Sunday), `day_of_month` for monthly (default 1), `timezone` an
    IANA zone (default the call's `timezone`, else UTC)."""

    frequency: Required[Frequency]
    hour: int
    minute: int
    weekday: int
    day_of_month: int
    timezone: str


class KeepPolicy(TypedDict, total=False):
    """What a prune keeps (the worker's restic-style retention)."""

    retention_days: int
    keep_last: int
    keep_daily: int
    keep_weekly: int
    keep_monthly: int


class BackupConfiguration(TypedDict, total=False):
    """The brief's BackupConfiguration plus what a Lookout schedule also has: the keywords
    of `schedule_request` and `backups.schedule_backup`."""

    collections: Sequence[str] | None
    format: BackupFormat | None
    schedule: Frequency | Timetable
    retention: int | KeepPolicy | None
    compression: bool | None
    encryption: bool | None
    incremental: bool
    full_weekday: int | None
    timezone: str | None
    name: str | None
    trial_restore: bool | None
    trial_restore_weekday: int | None
    enabled: bool | None


def _refuse(field: str, reason: str) -> LookoutValidationError:
    return LookoutValidationError(
        f"schedule_backup: {field}: {reason}", reasons=[Reason(field, reason)]
    )


def _timetable(schedule: Frequency | Timetable, timezone: str | None) -> dict[str, object]:
    spec: Mapping[str, object] = {"frequency": schedule} if isinstance(schedule, str) else schedule
    if not isinstance(spec, Mapping) or spec.get("frequency") not in _FREQUENCIES:
        raise _refuse(
            "schedule",
            "'daily', 'weekly', 'monthly' or a Timetable"
            " {frequency, hour, minute, weekday, day_of_month, timezone}",
        )
    frequency = spec["frequency"]
    timetable: dict[str, object] = {
        "frequency": frequency,
        "hour": spec.get("hour", DEFAULT_HOUR),
        "minute": spec.get("minute", 0),
        "timezone": spec.get("timezone", timezone or "UTC"),
    }
    if frequency == "weekly":
        timetable["weekday"] = spec.get("weekday", SUNDAY)
    if frequency == "monthly":
        timetable["day_of_month"] = spec.get("day_of_month", 1)
    return timetable


def _retention(retention: int | KeepPolicy) -> dict[str, object]:
    if isinstance(retention, bool) or not isinstance(retention, int | Mapping):
        raise _refuse("retention", "a number of days or a KeepPolicy")
    if isinstance(retention, int):
        return {"retention_days": retention}
    unknown = sorted(set(retention) - set(_KEEP_FIELDS))
    if unknown:
        raise _refuse("retention", f"unknown field(s) {', '.join(unknown)}")
    return {field: retention[field] for field in _KEEP_FIELDS if field in retention}  # type: ignore[literal-required]


def schedule_request(
    *,
    collections: Sequence[str] | None = None,
    format: BackupFormat | None = None,
    schedule: Frequency | Timetable = "daily",
    retention: int | KeepPolicy | None = None,
    compression: bool | None = None,
    encryption: bool | None = None,
    incremental: bool = False,
    full_weekday: int | None = None,
    timezone: str | None = None,
    name: str | None = None,
    trial_restore: bool | None = None,
    trial_restore_weekday: int | None = None,
    enabled: bool | None = None,
) -> dict[str, object]:
    """The schedule body `schedule_backup` sends for this configuration.

    `format`, `compression` and `encryption` are the backup worker's settings for every
    run (LOOKOUT_BACKUP_FORMAT, LOOKOUT_BACKUP_COMPRESSION, a key in LOOKOUT_BACKUP_KEY),
    not a schedule's: they are accepted for the brief's shape and not sent.
    `incremental=True` makes an incremental schedule (`backup_type: incremental`), whose
    runs due on `full_weekday` (0 = Monday), if given, are full. Raises
    LookoutValidationError (status None) for what cannot be mapped; nothing was sent.
    """
    del format, compression, encryption  # the worker's settings, not the schedule's
    timetable = _timetable(schedule, timezone)
    chosen = name if name is not None else f"{timetable['frequency']}-backup-{secrets.token_hex(4)}"
    if not isinstance(chosen, str) or _NAME.fullmatch(chosen) is None:
        raise _refuse(
            "name",
            "lower-case letters, digits, _ . - (at most 63, starting with a letter or digit)",
        )
    if isinstance(collections, str | bytes) or not (
        collections is None or isinstance(collections, Sequence)
    ):
        raise _refuse("collections", "a list of collection names (empty: every collection)")
    body: dict[str, object] = {
        "name": chosen,
        **timetable,
        "collections": list(collections or []),
    }
    if retention is not None:
        body["retention"] = _retention(retention)
    if incremental:
        body["backup_type"] = "incremental"
    if full_weekday is not None:
        body["full_weekday"] = full_weekday
    if trial_restore is not None:
        body["trial_restore"] = trial_restore
    if trial_restore_weekday is not None:
        body["trial_restore_weekday"] = trial_restore_weekday
    if enabled is not None:
        body["enabled"] = enabled
    return body
