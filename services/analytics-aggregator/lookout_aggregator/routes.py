"""The aggregator's own HTTP route: how far this replica is behind (`/lag`)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from lookout_aggregator.bootstrap import AggregatorDep
from lookout_common.infra.auth import AUTH_ERRORS, Reader


class Lag(BaseModel):
    lag: int | None = Field(description="Records not yet stored in Postgres; null while unknown")
    partitions: list[str] = Field(description="Partitions this replica consumes")


router = APIRouter()


@router.get("/lag", response_model=Lag, responses=AUTH_ERRORS, tags=["operations"])
async def lag(_: Reader, aggregator: AggregatorDep) -> Lag:
    """How far this replica is behind (an admin or viewer key): `lookout up` waits for
    0 before stopping."""
    partitions = sorted(f"{tp.topic}:{tp.partition}" for tp in aggregator.assignment())
    return Lag(lag=await aggregator.lag(), partitions=partitions)
