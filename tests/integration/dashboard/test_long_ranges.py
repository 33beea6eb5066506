"""Long ranges read coarse rollups (whole UTC hours and days) and the edges by the minute or
hour: the answers equal counts made by hand from the events, edges included."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from support.db import create_keys
from support.events import event, store
from support.services import settings_env

from lookout_common.infra.apikeys import Role
from lookout_common.infra.settings import LookoutSettings

pytestmark = pytest.mark.integration

ZONE = "Europe/Berlin"  # whole-hour offsets: series may use the hourly rollup
START = datetime(2026, 6, 1, 0, 17, 30, tzinfo=UTC)
END = datetime(2026, 6, 3, 23, 41, 10, tzinfo=UTC)


@pytest.fixture
async def history(settings: LookoutSettings, service_factory):
    rng = random.Random(11)
    events = []
    for n in range(1500):
        at = datetime(2026, 5, 31, 22, tzinfo=UTC) + timedelta(seconds=rng.randrange(0, 4 * 86400))
        name = rng.choice(["page_view", "chat_message_sent", "error_occurred", "booking_attempt"])
        properties = {
            "page_view": {"path": "/", "loadTime": rng.uniform(100, 900)},
            "chat_message_sent": {"chatId": f"c{n % 9}"},
            "error_occurred": {"message": "boom", "fingerprint": "f" * 16},
            "booking_attempt": {"therapistId": "t", "serviceType": "thai"},
        }[name]
        events.append(event(name, at, user=f"u{n % 20}", properties=properties))
    await store(settings.dsn(), events, timezone=ZONE)
    (key,) = await create_keys(settings.dsn(), (Role.VIEWER, "analyst"))
    dashboard = service_factory("lookout_dashboard", settings_env(settings, LOOKOUT_TIMEZONE=ZONE))
    async with httpx.AsyncClient(
        base_url=dashboard.url, headers={"Authorization": f"Bearer {key}"}, timeout=20
    ) as client:
        yield client, [e for e in events if START <= e.timestamp < END]


def _local(at: datetime, unit: str) -> str:
    local = at.astimezone(ZoneInfo(ZONE))
    local = local.replace(minute=0, second=0, microsecond=0)
    if unit == "day":
        local = local.replace(hour=0)
    return local.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("granularity", ["hour", "day"])
async def test_event_series_over_days_with_ragged_edges(history, granularity: str) -> None:
    client, inside = history
    range_ = {"from": START.isoformat(), "to": END.isoformat(), "granularity": granularity}
    answer = await client.get("/api/v1/analytics/events", params=range_)
    assert answer.status_code == 200, answer.text
    found = Counter()
    for point in answer.json()["points"]:
        bucket = datetime.fromisoformat(point["bucket"]).astimezone(UTC)
        found[bucket.isoformat().replace("+00:00", "Z"), point["event"]] += point["events"]
    expected = Counter((_local(e.timestamp, granularity), e.event) for e in inside)
    assert found == expected

    errors = (await client.get("/api/v1/analytics/errors", params=range_)).json()
    assert errors["errors"] == sum(e.event == "error_occurred" for e in inside)
    assert errors["events"] == len(inside)
    chat = (await client.get("/api/v1/analytics/chat", params=range_)).json()
    assert chat["messages"] == sum(e.event == "chat_message_sent" for e in inside)
