"""DELETE /api/v1/users/{id}: the person's raw events and per-person state are gone
(checked table by table in Postgres), aggregate counts stay, the audit log says who."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from support.db import create_keys
from support.events import event, store
from support.services import settings_env

from lookout_common.infra.apikeys import Role
from lookout_common.infra.settings import LookoutSettings

pytestmark = pytest.mark.integration

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
PERSONAL = (
    "SELECT "
    "(SELECT count(*) FROM user_analytics WHERE user_id = ANY($1) OR anonymous_id = ANY($1)),"
    "(SELECT count(*) FROM analytics_people WHERE actor = ANY($1)),"
    "(SELECT count(*) FROM active_periods WHERE actor = ANY($1)),"
    "(SELECT count(*) FROM person_events WHERE actor = ANY($1)),"
    "(SELECT count(*) FROM experiment_exposures WHERE actor = ANY($1)),"
    "(SELECT count(*) FROM page_visitors WHERE actor = ANY($1)),"
    "(SELECT count(*) FROM rollup_distinct WHERE member = ANY($1)),"
    "(SELECT count(*) FROM user_traits WHERE user_id = ANY($1)),"
    "(SELECT count(*) FROM identity_links WHERE anonymous_id = ANY($1) OR user_id = ANY($1))"
)
AGGREGATES = (
    "SELECT (SELECT sum(events) FROM rollup_event_counts),"
    " (SELECT sum(actives) FROM rollup_active_totals),"
    " (SELECT sum(views) FROM rollup_page_views)"
)


def _history() -> list:
    def at(minutes: int) -> datetime:
        return T0 + timedelta(minutes=minutes)

    return [
        event("page_view", at(0), anonymous="device-9", properties={"path": "/search"}),
        event(
            "experiment_exposure",
            at(1),
            anonymous="device-9",
            properties={"experiment": "cta", "variant": "B"},
        ),
        event(
            "identify",
            at(2),
            user="alice",
            anonymous="device-9",
            kind="identify",
            traits={"name": "Alice"},
        ),
        event("page_view", at(3), user="alice", properties={"path": "/book"}),
        event("booking_completed", at(4), user="alice"),
        event("page_view", at(5), user="bob", properties={"path": "/book"}),
    ]


async def test_erasure_removes_the_person_and_keeps_the_counts(
    settings: LookoutSettings, service_factory
) -> None:
    dsn = settings.dsn()
    history = _history()
    assert await store(dsn, history) == 6
    admin, viewer = await create_keys(dsn, (Role.ADMIN, "dpo"), (Role.VIEWER, "support"))
    dashboard = service_factory("lookout_dashboard", settings_env(settings))
    connection = await asyncpg.connect(dsn)
    try:
        person = ["alice", "device-9"]
        assert all(count > 0 for count in (await connection.fetchrow(PERSONAL, person))[:7])
        aggregates = tuple(await connection.fetchrow(AGGREGATES))

        async with httpx.AsyncClient(base_url=dashboard.url, timeout=10) as client:
            refused = await client.delete(
                "/api/v1/users/alice", headers={"Authorization": f"Bearer {viewer}"}
            )
            assert refused.status_code == 403
            answer = await client.delete(
                "/api/v1/users/alice", headers={"Authorization": f"Bearer {admin}"}
            )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["userId"] == "alice"
        assert body["identities"] == ["alice", "device-9"]
        assert body["deleted"]["user_analytics"] == 5
        assert body["deleted"]["identity_links"] == 1

        assert tuple(await connection.fetchrow(PERSONAL, person)) == (0,) * 9
        # Bob is untouched; the anonymous aggregate counts are what they were.
        assert tuple(await connection.fetchrow(PERSONAL, ["bob"]))[:3] == (1, 1, 3)
        assert tuple(await connection.fetchrow(AGGREGATES)) == aggregates

        # A redelivery of the erased events is recognised by the ledger: nothing returns.
        assert await store(dsn, history) == 0
        assert (await connection.fetchrow(PERSONAL, person))[0] == 0

        entry = await connection.fetchrow(
            "SELECT actor, action, target, outcome, detail::text AS detail FROM audit_log "
            "WHERE action = 'user.erase'"
        )
        assert (entry["actor"], entry["target"], entry["outcome"]) == ("dpo", "alice", "succeeded")
        assert '"user_analytics": 5' in entry["detail"]
    finally:
        await connection.close()
