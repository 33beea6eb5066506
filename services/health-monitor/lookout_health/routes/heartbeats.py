"""Heartbeat pings: `POST` (or `GET`, for curl one-liners and cron) to
`/api/v1/health/heartbeats/{name}`, authenticated by the check's own token, not an API
key, so a cron job holds nothing that can read or change anything else."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Query

from lookout_common.contracts.models import Camel
from lookout_health.bootstrap import MonitorDep, PoolDep
from lookout_health.checks.heartbeat import Ping, PingStatus, record_ping
from lookout_health.config import HeartbeatCheck

log = logging.getLogger("lookout.health")
router = APIRouter(tags=["health"])


class PingAnswer(Camel):
    check: str
    status: PingStatus
    received_at: datetime


ERRORS = {
    401: {"description": "No token, or not this check's token"},
    404: {"description": "No heartbeat check of that name"},
}


def _token(authorization: str | None, token: str | None) -> str | None:
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return token


async def _ping(
    name: str, ping: Ping, supplied: str | None, pool: PoolDep, monitor: MonitorDep
) -> PingAnswer:
    check = monitor.checks.get(name)
    if not isinstance(check, HeartbeatCheck):
        raise HTTPException(404, f"no heartbeat check {name!r}")
    expected = check.token.get_secret_value().encode()
    if supplied is None or not hmac.compare_digest(supplied.encode(), expected):
        raise HTTPException(
            401,
            "send the check's token as `Authorization: Bearer <token>` or `?token=`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    at = datetime.now(UTC)
    await record_ping(pool, name, ping, at)
    if monitor.is_leader():
        # Judged at once rather than at the next scheduled run: a `fail` opens (and the
        # first good ping after it resolves) without waiting for the interval.
        await monitor.run(name)
    return PingAnswer(check=name, status=ping.status, received_at=at)


@router.post("/api/v1/health/heartbeats/{name}", response_model=PingAnswer, responses=ERRORS)
async def ping_post(
    name: str,
    pool: PoolDep,
    monitor: MonitorDep,
    body: Ping | None = None,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(max_length=512)] = None,
    status: Annotated[PingStatus | None, Query()] = None,
    message: Annotated[str | None, Query(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
) -> PingAnswer:
    """A ping; its status and message from the JSON body, or from the query."""
    ping = body or Ping(status=status or "ok", message=message or "")
    return await _ping(name, ping, _token(authorization, token), pool, monitor)


@router.get("/api/v1/health/heartbeats/{name}", response_model=PingAnswer, responses=ERRORS)
async def ping_get(
    name: str,
    pool: PoolDep,
    monitor: MonitorDep,
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(max_length=512)] = None,
    status: Annotated[PingStatus, Query()] = "ok",
    message: Annotated[str, Query(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")] = "",
) -> PingAnswer:
    """The same ping as a GET: `curl -fsS "…/heartbeats/nightly-export?token=…"`."""
    ping = Ping(status=status, message=message)
    return await _ping(name, ping, _token(authorization, token), pool, monitor)
