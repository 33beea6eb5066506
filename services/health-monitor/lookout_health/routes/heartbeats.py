"""Heartbeat pings: `POST` (or `GET`, for curl one-liners and cron) to
`/api/v1/health/heartbeats/{name}`, authenticated by the check's own token, not an API
key, so a cron job holds nothing that can read or change anything else."""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query

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


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No token, or not this check's token"},
    404: {"description": "No heartbeat check of that name"},
}


MESSAGE = Query(max_length=500, pattern=r"^[^\x00-\x1f\x7f]*$")


async def supplied_token(
    authorization: Annotated[str | None, Header()] = None,
    token: Annotated[str | None, Query(max_length=512)] = None,
) -> str | None:
    """The token sent as `Authorization: Bearer …`, else as `?token=`."""
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return token


async def query_ping(
    status: Annotated[PingStatus, Query()] = "ok",
    message: Annotated[str, MESSAGE] = "",
) -> Ping:
    """A ping's status and message from the query string."""
    return Ping(status=status, message=message)


SuppliedToken = Annotated[str | None, Depends(supplied_token)]
QueryPing = Annotated[Ping, Depends(query_ping)]


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
        # Judged at once rather than at the next scheduled run (a `fail` opens, the first
        # good ping after it resolves), but after the answer: a ping costs the caller one
        # insert, never a check run (which waits for the check's previous run).
        monitor.run_soon(name)
    return PingAnswer(check=name, status=ping.status, received_at=at)


@router.post("/api/v1/health/heartbeats/{name}", response_model=PingAnswer, responses=ERRORS)
async def ping_post(
    name: str,
    pool: PoolDep,
    monitor: MonitorDep,
    token: SuppliedToken,
    query: QueryPing,
    body: Ping | None = None,
) -> PingAnswer:
    """A ping; its status and message from the JSON body, or from the query."""
    return await _ping(name, body or query, token, pool, monitor)


@router.get("/api/v1/health/heartbeats/{name}", response_model=PingAnswer, responses=ERRORS)
async def ping_get(
    name: str, pool: PoolDep, monitor: MonitorDep, token: SuppliedToken, query: QueryPing
) -> PingAnswer:
    """The same ping as a GET: `curl -fsS "…/heartbeats/nightly-export?token=…"`."""
    return await _ping(name, query, token, pool, monitor)
