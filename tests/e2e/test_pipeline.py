"""Events posted over HTTP to ingest reach the dashboard's metrics, exactly."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from support.browser_stack import BOOKING

pytestmark = pytest.mark.e2e


def _event(actor: str, event: str, properties: dict, *, kind: str = "track") -> dict:
    message = {
        "type": kind,
        "messageId": uuid.uuid4().hex,
        "anonymousId": actor,
        "timestamp": datetime.now(UTC).isoformat(),
        "properties": properties,
    }
    if kind == "track":
        message["event"] = event
    else:
        message["name"] = event
    return message


def mixed_batch() -> list[dict]:
    """16 events by 4 people: 3 completed bookings, 2 chats, 1 error, 5 page views."""
    return [
        _event("alice", "Home", {"path": "/"}, kind="page"),
        _event("alice", "Therapists", {"path": "/therapists"}, kind="page"),
        _event("bob", "Therapists", {"path": "/therapists"}, kind="page"),
        _event("carol", "Therapists", {"path": "/therapists"}, kind="page"),
        _event("dave", "Pricing", {"path": "/pricing"}, kind="page"),
        _event("alice", "search_performed", {"query": "thai", "resultsCount": 4}),
        _event("alice", "booking_attempt", BOOKING),
        _event("alice", "booking_completed", BOOKING),
        _event("bob", "booking_completed", BOOKING),
        _event("carol", "booking_completed", BOOKING),
        _event("bob", "chat_started", {"chatId": "chat-1"}),
        _event("bob", "chat_message_sent", {"chatId": "chat-1", "messageLength": 12}),
        _event("carol", "chat_started", {"chatId": "chat-2"}),
        _event("carol", "chat_started", {"chatId": "chat-2"}),  # the same chat opened twice
        _event("dave", "error_occurred", {"message": "Card declined", "type": "PaymentError"}),
        _event("dave", "gift_card_viewed", {"amount": 50}),
    ]


EXPECTED = {
    "activeUsers": 4,
    "todayBookings": 3,
    "chatSessions": 2,
    "errorRate": round(100 / 16, 2),
    "topPages": [
        {"page": "/therapists", "views": 3},
        {"page": "/", "views": 1},
        {"page": "/pricing", "views": 1},
    ],
}


async def _metrics(client: httpx.AsyncClient, pipeline) -> dict:
    response = await client.get(
        f"{pipeline.dashboard.url}/api/v1/dashboard/metrics",
        headers={"Authorization": f"Bearer {pipeline.admin_key}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _wait_for(client, pipeline, expected: dict, within: float) -> dict:
    deadline = time.monotonic() + within
    metrics = await _metrics(client, pipeline)
    while metrics != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        metrics = await _metrics(client, pipeline)
    return metrics


async def test_mixed_batch_appears_in_dashboard_metrics_exactly_within_5s(pipeline) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        started = time.monotonic()
        response = await client.post(
            f"{pipeline.ingest.url}/v1/batch",
            json={"batch": mixed_batch()},
            auth=(pipeline.write_key, ""),
        )
        assert response.status_code == 200, response.text
        assert response.json() == {"success": True}
        metrics = await _wait_for(client, pipeline, EXPECTED, within=5.0)
        assert metrics == EXPECTED
        assert time.monotonic() - started < 5.0


async def test_resent_batch_with_same_message_ids_counts_once(pipeline) -> None:
    batch = mixed_batch()
    async with httpx.AsyncClient(timeout=10) as client:
        for _ in range(3):
            response = await client.post(
                f"{pipeline.ingest.url}/v1/batch",
                json={"batch": batch},
                auth=(pipeline.write_key, ""),
            )
            assert response.status_code == 200, response.text
        assert await _wait_for(client, pipeline, EXPECTED, within=5.0) == EXPECTED
        # Give any late duplicate time to (wrongly) land, then check again.
        await asyncio.sleep(1.0)
        assert await _metrics(client, pipeline) == EXPECTED
