"""The audit log: every admin action (who, what, when, outcome), readable by admins."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg
from pydantic import BaseModel


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    outcome: str
    detail: dict[str, Any]


async def record(
    pool: asyncpg.Pool | asyncpg.Connection,
    *,
    actor: str,
    action: str,
    target: str | None,
    outcome: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await pool.execute(
        "INSERT INTO audit_log (actor, action, target, outcome, detail)"
        " VALUES ($1, $2, $3, $4, $5::text::jsonb)",
        actor,
        action,
        target,
        outcome,
        json.dumps(detail or {}, default=str),
    )


async def entries(pool: asyncpg.Pool, limit: int) -> list[AuditEntry]:
    rows = await pool.fetch("SELECT * FROM audit_log ORDER BY id DESC LIMIT $1", limit)
    return [
        AuditEntry(
            **{
                **dict(row),
                "detail": json.loads(row["detail"])
                if isinstance(row["detail"], str)
                else row["detail"],
            }
        )
        for row in rows
    ]
