"""Heartbeat (push) checks: a cron job or worker pings Lookout, and silence is the failure.

A ping records its time, its status (`ok` or `fail`) and a message in `health_heartbeats`.
The check's probe runs on the check's interval like any other and decides from that row
alone (`verdict`), so incidents open and resolve through the same state machine, alerts
and status page as every pulled check: the last ping said `fail` → failed with its
message; no ping for longer than `period_s + grace_s` → failed ("silent for …"); else
passed. Until the first ping the silence counts from when the check was first watched."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import asyncpg
from pydantic import BaseModel, Field

from lookout_health.checks.base import ProbeFailed, ProbeOutcome
from lookout_health.config import HeartbeatCheck

PingStatus = Literal["ok", "fail"]


class Ping(BaseModel):
    """What a ping may say: its status and a message (one line, no control characters)."""

    status: PingStatus = "ok"
    message: str = Field("", max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")


@dataclass(frozen=True)
class Beat:
    """The stored state of one heartbeat check."""

    watched_since: datetime
    last_ping_at: datetime | None
    last_status: PingStatus | None
    last_message: str


def _ago(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def verdict(check: HeartbeatCheck, beat: Beat, now: datetime) -> ProbeOutcome:
    """Passed or `ProbeFailed`, from the stored state alone."""
    allowed = check.period_s + check.grace_s
    if beat.last_ping_at is None:
        waited = (now - beat.watched_since).total_seconds()
        if waited > allowed:
            raise ProbeFailed(
                f"no ping received in {_ago(waited)} (period {_ago(check.period_s)}"
                f" + grace {_ago(check.grace_s)})"
            )
        return ProbeOutcome(f"waiting for the first ping (watched for {_ago(waited)})")
    silent = max((now - beat.last_ping_at).total_seconds(), 0.0)
    if beat.last_status == "fail":
        said = f": {beat.last_message}" if beat.last_message else ""
        raise ProbeFailed(f"the last ping, {_ago(silent)} ago, reported a failure{said}")
    if silent > allowed:
        raise ProbeFailed(
            f"silent for {_ago(silent)} (period {_ago(check.period_s)}"
            f" + grace {_ago(check.grace_s)})"
        )
    said = f": {beat.last_message}" if beat.last_message else ""
    return ProbeOutcome(f"last ping {_ago(silent)} ago{said}")


async def record_ping(pool: asyncpg.Pool, name: str, ping: Ping, at: datetime) -> None:
    await pool.execute(
        """
        INSERT INTO health_heartbeats AS h
            (check_name, watched_since, last_ping_at, last_status, last_message, pings)
        VALUES ($1, $2, $2, $3, $4, 1)
        ON CONFLICT (check_name) DO UPDATE SET
            last_ping_at = EXCLUDED.last_ping_at, last_status = EXCLUDED.last_status,
            last_message = EXCLUDED.last_message, pings = h.pings + 1
        """,
        name,
        at,
        ping.status,
        ping.message,
    )


async def watched(pool: asyncpg.Pool, name: str) -> Beat:
    """The check's stored state; the first call starts watching it (now)."""
    row = await pool.fetchrow(
        """
        WITH watch AS (
            INSERT INTO health_heartbeats (check_name) VALUES ($1)
            ON CONFLICT (check_name) DO NOTHING
            RETURNING watched_since, last_ping_at, last_status, last_message
        )
        SELECT watched_since, last_ping_at, last_status, last_message FROM watch
        UNION ALL
        SELECT watched_since, last_ping_at, last_status, last_message
        FROM health_heartbeats WHERE check_name = $1
        LIMIT 1
        """,
        name,
    )
    return Beat(row["watched_since"], row["last_ping_at"], row["last_status"], row["last_message"])


async def run_heartbeat(check: HeartbeatCheck, pool: asyncpg.Pool | None) -> ProbeOutcome:
    """The probe of a heartbeat check: its stored state judged now."""
    if pool is None:
        raise ProbeFailed("a heartbeat check needs the monitor's database")
    return verdict(check, await watched(pool, check.name), datetime.now(UTC))
