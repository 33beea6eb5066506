"""Which runs prune keeps, the pure core: runs and a policy in, what to keep and why out.

Like restic's `forget`: keep the N most recent runs, and the newest run of each of
the last N days, weeks and months that have one; and everything younger than
`retention_days`. Then never remove the base (or any ancestor) of a kept incremental.
Failed runs and runs without a manifest are never kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field


class RetentionPolicy(BaseModel):
    retention_days: int | None = Field(None, ge=1, description="Keep everything younger")
    keep_last: int = Field(0, ge=0)
    keep_daily: int = Field(0, ge=0)
    keep_weekly: int = Field(0, ge=0)
    keep_monthly: int = Field(0, ge=0)

    @property
    def keeps_everything(self) -> bool:
        return self.retention_days is None and not any(
            (self.keep_last, self.keep_daily, self.keep_weekly, self.keep_monthly)
        )


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    finished_at: datetime
    usable: bool  # succeeded or partial, with a manifest
    base_run_id: str | None = None


@dataclass(frozen=True)
class Decision:
    keep: dict[str, list[str]]  # run id -> reasons
    remove: dict[str, str]  # run id -> reason


def _periods(
    runs: list[RunInfo],
    count: int,
    period: Callable[[datetime], object],
    reason: str,
    keep: dict[str, list[str]],
) -> None:
    seen: list[object] = []
    for run in runs:  # newest first
        key = period(run.finished_at)
        if key in seen:
            continue
        if len(seen) == count:
            break
        seen.append(key)
        keep.setdefault(run.run_id, []).append(reason)


def decide(runs: list[RunInfo], policy: RetentionPolicy, now: datetime, zone: ZoneInfo) -> Decision:
    usable = sorted((r for r in runs if r.usable), key=lambda r: r.finished_at, reverse=True)
    keep: dict[str, list[str]] = {}
    if policy.keeps_everything:
        keep = {r.run_id: ["no retention configured"] for r in usable}
    else:
        if policy.retention_days is not None:
            horizon = now - timedelta(days=policy.retention_days)
            for run in usable:
                if run.finished_at >= horizon:
                    keep.setdefault(run.run_id, []).append(f"within {policy.retention_days} days")
        for run in usable[: policy.keep_last]:
            keep.setdefault(run.run_id, []).append("last")
        periods = {
            "daily": (policy.keep_daily, lambda m: m.astimezone(zone).date()),
            "weekly": (policy.keep_weekly, lambda m: m.astimezone(zone).isocalendar()[:2]),
            "monthly": (policy.keep_monthly, lambda m: m.astimezone(zone).strftime("%Y-%m")),
        }
        for reason, (count, period) in periods.items():
            _periods(usable, count, period, reason, keep)
    by_id = {r.run_id: r for r in runs}
    for run_id in list(keep):
        child, base = run_id, by_id[run_id].base_run_id
        while base is not None and base in by_id:
            reasons = keep.setdefault(base, [])
            if f"base of {child}" not in reasons:
                reasons.append(f"base of {child}")
            child, base = base, by_id[base].base_run_id
    remove: dict[str, str] = {}
    for run in runs:
        if run.run_id not in keep:
            remove[run.run_id] = "failed or without manifest" if not run.usable else "expired"
    return Decision(keep, remove)
