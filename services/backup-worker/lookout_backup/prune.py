"""Applying retention to the target and the records, and removing orphans (objects of
runs that never wrote a manifest).

Fenced: nothing is touched unless the target carries Lookout's marker object, and only
names that are Lookout run ids are ever deleted, so a shared bucket or directory keeps
everything else that lives beside the backups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from lookout_backup.keep_policy import RetentionPolicy, RunInfo, decide
from lookout_backup.manifest import MANIFEST
from lookout_backup.names import is_run_id
from lookout_backup.targets import MARKER, Target

log = logging.getLogger("lookout.backup")

ORPHAN_GRACE = timedelta(hours=1)  # never touch a directory a live run may be writing


@dataclass
class PruneReport:
    kept: dict[str, list[str]] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)
    objects_deleted: int = 0


class NotLookoutTarget(Exception):
    """The target has no marker object: prune refuses to touch it."""


async def prune(
    pool: asyncpg.Pool, target: Target, policy: RetentionPolicy, zone: ZoneInfo, now: datetime
) -> PruneReport:
    if not await target.has_marker():
        raise NotLookoutTarget(
            f"{target.name} has no {MARKER} marker: it may not be Lookout's, so prune"
            " touches nothing there (a backup writes the marker)"
        )
    rows = await pool.fetch(
        """
        SELECT run_id, status, base_run_id, coalesce(finished_at, queued_at) AS at
        FROM backup_logs
        WHERE operation = 'backup' AND status IN ('succeeded', 'partial', 'failed')
        """
    )
    runs = [
        RunInfo(
            run_id=row["run_id"],
            finished_at=row["at"],
            usable=row["status"] != "failed" and await target.exists(f"{row['run_id']}/{MANIFEST}"),
            base_run_id=row["base_run_id"],
        )
        for row in rows
    ]
    decision = decide(runs, policy, now, zone)
    report = PruneReport(kept=decision.keep, removed=dict(decision.remove))
    for run_id in decision.remove:
        if is_run_id(run_id):  # a record of another shape never names objects to delete
            report.objects_deleted += await target.delete_prefix(run_id)
        await pool.execute("DELETE FROM backup_logs WHERE run_id = $1", run_id)
    known = {row["run_id"]: row for row in rows}
    active = {
        row["run_id"]
        for row in await pool.fetch(
            "SELECT run_id FROM backup_logs WHERE status IN ('queued', 'running')"
        )
    }
    for run_id in await target.list_runs():
        if run_id in known or run_id in active or await target.exists(f"{run_id}/{MANIFEST}"):
            continue
        started = _run_time(run_id)
        if started is not None and now - started < ORPHAN_GRACE:
            continue
        report.objects_deleted += await target.delete_prefix(run_id)
        report.removed[run_id] = "orphan: objects without a manifest or a record"
    log.info("pruned", extra={"removed": report.removed, "objects": report.objects_deleted})
    return report


def _run_time(run_id: str) -> datetime | None:
    """Run ids start with their UTC start time (see runner.new_run_id)."""
    try:
        return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
    except ValueError:
        return None
