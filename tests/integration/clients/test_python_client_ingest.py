"""The back-end client (`clients/python`) against a real ingest process and the suite's
real broker: what it sends arrives on `analytics.events.v1` once each, and what it
queued while ingest was down arrives, with the same messageIds, once ingest is back."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest
from lookout_client import AsyncClient, Client, LookoutClientError
from support.ingest import IngestUnderTest, ingest_keys
from support.services import settings_env

from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.embedded.process import free_port

pytestmark = pytest.mark.integration


@pytest.fixture
async def ingest(settings: LookoutSettings, service_factory) -> IngestUnderTest:
    """A real ingest process (`python -m lookout_ingest`) on the suite's broker and a
    fresh database, with an ingest write key."""
    write_key, admin_key = await ingest_keys(settings, "python back end")
    service = service_factory("lookout_ingest", settings_env(settings))
    return IngestUnderTest(service, write_key, admin_key, settings)


async def test_booking_identify_and_custom_event_arrive_once_each(ingest: IngestUnderTest) -> None:
    errors: list[LookoutClientError] = []
    with Client(ingest.write_key, ingest.service.url, on_error=errors.append) as lookout:
        booking = lookout.track_booking(
            "completed",
            therapist_id="t-7",
            service_type="thai",
            total_price=Decimal("75.50"),
            currency="EUR",
            duration=60,
            user_id="user-42",
        )
        identify = lookout.identify("user-42", {"plan": "premium"}, anonymous_id="anon-42")
        custom = lookout.track("gift_card_redeemed", {"amount": 20}, anonymous_id="anon-7")
        assert await asyncio.to_thread(lookout.flush, 30)
    assert errors == []

    published = await ingest.copies(expect=3)
    assert sorted(published) == sorted([booking, identify, custom])
    assert all(len(records) == 1 for records in published.values())
    (stored_booking,) = published[booking]
    assert (stored_booking["kind"], stored_booking["event"]) == ("track", "booking_completed")
    assert stored_booking["user_id"] == "user-42"
    # Subsets: ingest may add derived fields of its own; what the client sent must be there.
    assert (
        stored_booking["properties"].items()
        >= {
            "therapistId": "t-7",
            "serviceType": "thai",
            "duration": 60,
            "totalPrice": 75.5,
            "currency": "EUR",
        }.items()
    )
    assert stored_booking["context"]["library"]["name"] == "lookout-client"
    assert stored_booking["source"] == "python back end"
    (stored_identify,) = published[identify]
    assert (stored_identify["kind"], stored_identify["event"]) == ("identify", "identify")
    assert (stored_identify["user_id"], stored_identify["anonymous_id"]) == ("user-42", "anon-42")
    assert stored_identify["traits"].items() >= {"plan": "premium"}.items()
    (stored_custom,) = published[custom]
    assert stored_custom["event"] == "gift_card_redeemed"
    assert stored_custom["user_id"] is None
    assert stored_custom["anonymous_id"] == "anon-7"
    assert stored_custom["properties"].items() >= {"amount": 20}.items()


async def test_async_client_events_arrive(ingest: IngestUnderTest) -> None:
    errors: list[LookoutClientError] = []
    async with AsyncClient(ingest.write_key, ingest.service.url, on_error=errors.append) as lookout:
        search = await lookout.track_search("thai", results_count=4, anonymous_id="anon-1")
        try:
            raise KeyError("therapist t-9")
        except KeyError as error:
            failure = await lookout.track_error(error, user_id="user-1")
    assert errors == []

    published = await ingest.copies(expect=2)
    assert sorted(published) == sorted([search, failure])
    searched = published[search][0]["properties"]
    assert (searched["query"], searched["resultsCount"]) == ("thai", 4)
    stored_error = published[failure][0]["properties"]
    assert stored_error["type"] == "KeyError"
    assert "Traceback" in stored_error["stack"]


async def test_events_queued_while_ingest_is_down_arrive_once_with_their_ids(
    settings: LookoutSettings, service_factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lookout_client")
    key, admin_key = await ingest_keys(settings, "python back end")
    port = free_port()
    errors: list[LookoutClientError] = []
    lookout = Client(
        key,
        f"http://127.0.0.1:{port}",
        flush_interval_s=0.1,
        max_retries=1000,
        backoff_s=0.05,
        max_backoff_s=0.5,
        on_error=errors.append,
    )
    try:
        # Nothing listens on the port yet: the client tries, fails and keeps the batch.
        before = [
            lookout.track("search_performed", {"query": f"q{n}"}, anonymous_id="anon-1")
            for n in range(3)
        ]
        await asyncio.sleep(1.0)
        assert "batch of 3: retry" in caplog.text
        env = settings_env(settings, LOOKOUT_HTTP_PORT=str(port))
        service = service_factory("lookout_ingest", env)
        assert await asyncio.to_thread(lookout.flush, 30)

        # Ingest stops mid-way; what is queued meanwhile waits for it.
        service.stop()
        caplog.clear()
        during = [
            lookout.track("search_performed", {"query": f"r{n}"}, user_id="user-1")
            for n in range(2)
        ]
        await asyncio.sleep(1.0)
        assert "batch of 2: retry" in caplog.text
        await asyncio.to_thread(service.start)
        assert await asyncio.to_thread(lookout.flush, 30)
    finally:
        await asyncio.to_thread(lookout.close, 30)
    assert errors == []

    published = await IngestUnderTest(service, key, admin_key, settings).copies(expect=5)
    assert sorted(published) == sorted(before + during)
    assert all(len(records) == 1 for records in published.values())
    assert [published[id_][0]["properties"]["query"] for id_ in before + during] == [
        "q0",
        "q1",
        "q2",
        "r0",
        "r1",
    ]
