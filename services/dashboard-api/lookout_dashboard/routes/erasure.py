"""Erasure (the right to be forgotten): a person's raw events and per-person state go,
the anonymous aggregate counts stay, and the audit log records who asked.

The person is the user id plus every anonymous id linked to it. Everything is deleted
in one transaction. The event-id ledger keeps the erased events' ids (ids only, no
content), so a Kafka redelivery of one of them is recognised and not stored again.
Events still waiting in Kafka when the erasure runs are stored after it: erase once
the person's traffic has stopped (for example after account deletion), or again.
The funnels' packed step times (step_times) lose the records of every raw event erased.
The erasure ledger keeps sha256 hashes of the erased ids (lookout_common.infra.erasure_ledger),
and the backup worker deletes them again after restoring any personal table.
"""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from lookout_common.infra import erasure_ledger, step_records
from lookout_common.infra.auth import Admin
from lookout_common.infra.erasure_ledger import PERSONAL_TABLES
from lookout_dashboard.bootstrap import PoolDep
from lookout_dashboard.queries import audit
from lookout_dashboard.routes.responses import AUTH

router = APIRouter(prefix="/api/v1/users", tags=["privacy"])


class Erasure(BaseModel):
    user_id: str = Field(serialization_alias="userId")
    identities: list[str] = Field(description="The user id and the anonymous ids linked to it")
    deleted: dict[str, int] = Field(description="Rows deleted per table")


UserId = Annotated[
    str,
    Path(
        min_length=1,
        max_length=256,
        pattern=r"^[^\x00]+$",
        description="The user id (or an anonymous id) to erase",
    ),
]


async def erase(connection: asyncpg.Connection, user_id: str, actor: str) -> Erasure:
    """Deletes the person and records who did it, in one transaction: no erasure without
    its audit entry."""
    async with connection.transaction():
        linked = await connection.fetch(
            "SELECT anonymous_id FROM identity_links WHERE user_id = $1 ORDER BY 1", user_id
        )
        identities = [user_id, *(row["anonymous_id"] for row in linked)]
        # Before the raw rows go: the records stored for them (the person key and the
        # time of each of their events, as migration 0019's lookout_step_record).
        deleted = {"step_times": await erase_step_times(connection, identities)}
        for personal in PERSONAL_TABLES:
            status = await connection.execute(
                f"DELETE FROM {personal.table} WHERE {personal.condition('{column} = ANY($1)')}",
                identities,
            )
            deleted[personal.table] = int(status.rsplit(" ", 1)[1])
        # The hashed ids stay, so a restore of an older backup erases them again.
        await erasure_ledger.record(connection, identities)
        await audit.record(
            connection,
            actor=actor,
            action="user.erase",
            target=user_id,
            outcome="succeeded",
            detail={"identities": len(identities), "deleted": deleted},
        )
    return Erasure(user_id=user_id, identities=identities, deleted=deleted)


async def erase_step_times(connection: asyncpg.Connection, identities: list[str]) -> int:
    """Remove the stored step records of the person's raw events (call before those go):
    every event the raw erasure deletes, by its person key and time."""
    records = await connection.fetchval(
        "SELECT array_agg(DISTINCT lookout_step_record(user_id, anonymous_id, occurred_at))"
        " FROM user_analytics WHERE user_id = ANY($1) OR anonymous_id = ANY($1)",
        identities,
    )
    return await step_records.remove(connection, [record[:16] for record in records or ()])


@router.delete(
    "/{user_id}",
    response_model=Erasure,
    responses={**AUTH, 422: {"description": "Invalid user id"}},
    summary="Erase a person: raw events and per-person state (aggregate counts are kept)",
)
async def erase_user(pool: PoolDep, key: Admin, user_id: UserId) -> Erasure:
    async with pool.acquire() as connection:
        return await erase(connection, user_id, key.name)
