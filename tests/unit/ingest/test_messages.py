"""Segment messages into Lookout events: field paths, clock skew, page views, ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lookout_common.contracts.events import DeadLetterCode
from lookout_ingest.messages import Rejected, to_event

RECEIVED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def convert(raw, *, kind: str | None = None, index: int | None = 0, **options):
    return to_event(
        raw,
        kind=kind,
        index=index,
        received_at=RECEIVED,
        source="web",
        request_id="req-1",
        **options,
    )


def reasons(raw, **options) -> dict[str, str]:
    with pytest.raises(Rejected) as caught:
        convert(raw, **options)
    return {error.field: error.reason for error in caught.value.errors}


def test_page_call_becomes_page_view_with_path_from_context() -> None:
    event = convert(
        {
            "type": "page",
            "name": "Therapists",
            "anonymousId": "a1",
            "context": {"page": {"path": "/therapists/berlin"}},
        }
    )
    assert event.event == "page_view"
    assert event.kind == "page"
    assert event.properties == {"path": "/therapists/berlin", "name": "Therapists"}


def test_page_without_any_path_is_rejected_naming_the_property() -> None:
    assert "properties.path" in reasons({"type": "page", "anonymousId": "a1"})


def test_message_id_is_the_event_id_and_one_is_generated_when_absent() -> None:
    given = convert(
        {"type": "track", "event": "signup clicked", "userId": "u1", "messageId": "m-7"}
    )
    generated = convert({"type": "track", "event": "signup clicked", "userId": "u1"})
    assert given.event_id == "m-7"
    assert len(generated.event_id) == 32
    assert generated.event_id != convert({"type": "track", "event": "x", "userId": "u"}).event_id


def test_client_clock_skew_is_corrected_with_sent_at() -> None:
    # The client's clock is 3 hours fast: it says the event happened 10 s before sending.
    client_now = RECEIVED + timedelta(hours=3)
    event = convert(
        {
            "type": "track",
            "event": "search_performed",
            "anonymousId": "a1",
            "properties": {"query": "thai"},
            "timestamp": (client_now - timedelta(seconds=10)).isoformat(),
            "sentAt": client_now.isoformat(),
        }
    )
    assert event.timestamp == RECEIVED - timedelta(seconds=10)


@pytest.mark.parametrize("ahead", [timedelta(seconds=1), timedelta(days=3)])
def test_future_timestamp_without_sent_at_is_clamped_to_receive_time(ahead) -> None:
    event = convert(
        {
            "type": "track",
            "event": "custom",
            "anonymousId": "a1",
            "timestamp": (RECEIVED + ahead).isoformat(),
        }
    )
    assert event.timestamp == RECEIVED


def test_naive_timestamp_is_read_as_utc() -> None:
    event = convert(
        {"type": "track", "event": "custom", "anonymousId": "a", "timestamp": "2026-11-25T08:00:00"}
    )
    assert event.timestamp == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def test_typed_properties_errors_name_the_property_path() -> None:
    found = reasons(
        {
            "type": "track",
            "event": "booking_completed",
            "userId": "u1",
            "properties": {"therapistId": "t1", "serviceType": "thai", "totalPrice": -5},
        }
    )
    assert "properties.totalPrice" in found
    assert "greater than or equal to 0" in found["properties.totalPrice"]


def test_booking_with_valid_properties_is_accepted_and_keeps_extra_fields() -> None:
    event = convert(
        {
            "type": "track",
            "event": "booking_completed",
            "userId": "u1",
            "properties": {
                "therapistId": "t1",
                "serviceType": "thai",
                "totalPrice": 80,
                "currency": "EUR",
                "coupon": "WINTER",
            },
        }
    )
    assert event.properties["coupon"] == "WINTER"
    assert event.actor_id == "u1"


@pytest.mark.parametrize(
    ("raw", "field", "reason"),
    [
        ({"type": "track", "event": "x"}, "", "userId or anonymousId is required"),
        ({"type": "track", "userId": "u"}, "", "event is required for track"),
        ({"type": "track", "event": "1bad", "userId": "u"}, "", "event must start with a letter"),
        ({"type": "alias", "userId": "u"}, "type", "Input should be"),
        ({"type": "track", "event": "x", "userId": ""}, "userId", "at least 1 character"),
        ({"type": "track", "event": "x", "userId": "u", "timestamp": "yesterday"}, "timestamp", ""),
        ({"type": "track", "event": "x", "userId": "u", "properties": []}, "properties", ""),
    ],
)
def test_invalid_messages_are_rejected_with_field_and_reason(raw, field, reason) -> None:
    found = reasons(raw)
    assert field in found, found
    assert reason in found[field]


def test_non_object_item_is_rejected_with_its_batch_index() -> None:
    with pytest.raises(Rejected) as caught:
        convert("not an event", index=4)
    assert caught.value.errors[0].index == 4
    assert caught.value.errors[0].reason == "event must be a JSON object"


def test_endpoint_kind_overrides_the_body_type_and_batch_defaults_fill_gaps() -> None:
    event = convert(
        {"type": "page", "event": "login_attempt", "userId": "u", "properties": {"success": True}},
        kind="track",
        defaults={"context": {"locale": "de-DE"}},
    )
    assert event.kind == "track"
    assert event.event == "login_attempt"
    assert event.context == {"locale": "de-DE"}


def test_identify_keeps_traits() -> None:
    event = convert({"type": "identify", "userId": "u1", "traits": {"plan": "pro"}})
    assert event.event == "identify"
    assert event.traits == {"plan": "pro"}


def timestamp_rejection(raw: dict, **options) -> Rejected:
    with pytest.raises(Rejected) as caught:
        convert(raw, **options)
    return caught.value


@pytest.mark.parametrize(
    "sent",
    [
        {"timestamp": "0001-01-01T00:30:00+01:00"},  # year 0 in UTC: no datetime holds it
        {"timestamp": "0001-01-01T00:00:00Z"},
        {"timestamp": "0001-01-01T00:30:00+01:00", "sentAt": "2026-11-25T11:59:00Z"},
        {"timestamp": "2023-11-20T00:00:00Z"},  # just over three years before receipt
    ],
)
def test_timestamp_older_than_the_accepted_past_is_an_item_error(sent) -> None:
    raw = {"type": "track", "event": "custom", "anonymousId": "a", **sent}
    rejection = timestamp_rejection(raw)
    assert rejection.code is DeadLetterCode.TIMESTAMP_OUT_OF_RANGE
    assert [error.field for error in rejection.errors] == ["timestamp"]
    assert "older than the oldest accepted" in rejection.errors[0].reason


def test_oldest_accepted_time_is_the_callers_bound() -> None:
    raw = {"type": "track", "event": "custom", "anonymousId": "a"}
    ten_days_ago = (RECEIVED - timedelta(days=10)).isoformat()
    kept = convert({**raw, "timestamp": ten_days_ago}, oldest=RECEIVED - timedelta(days=30))
    assert kept.timestamp == RECEIVED - timedelta(days=10)
    rejection = timestamp_rejection(
        {**raw, "timestamp": ten_days_ago}, oldest=RECEIVED - timedelta(days=7)
    )
    assert rejection.code is DeadLetterCode.TIMESTAMP_OUT_OF_RANGE


def test_skew_correction_never_leaves_the_bounds_nor_overflows() -> None:
    raw = {"type": "track", "event": "custom", "anonymousId": "a"}
    # sentAt long before timestamp: the event would be in the future, so it is now.
    future = convert({**raw, "timestamp": "9999-12-31T23:59:59Z", "sentAt": "0001-01-01T00:00Z"})
    assert future.timestamp == RECEIVED
    assert future.sent_at == datetime(1, 1, 1, tzinfo=UTC)
    # sentAt long after timestamp: an event from before the accepted past.
    rejection = timestamp_rejection(
        {**raw, "timestamp": "0001-01-01T00:00Z", "sentAt": "9999-12-31T23:30:00-01:00"}
    )
    assert rejection.code is DeadLetterCode.TIMESTAMP_OUT_OF_RANGE


def test_published_times_are_utc_and_a_sent_at_without_utc_form_is_dropped() -> None:
    event = convert(
        {
            "type": "track",
            "event": "custom",
            "anonymousId": "a",
            "timestamp": "2026-11-25T13:00:00+02:00",
            "sentAt": "0001-01-01T00:30:00+01:00",
        }
    )
    assert event.timestamp == RECEIVED  # corrected into the future, so clamped
    assert event.timestamp.utcoffset() == timedelta(0)
    assert event.sent_at is None


@pytest.mark.parametrize("event_name", ["booking_completed", "booking_attempt"])
def test_booking_without_currency_gets_the_default_currency(event_name) -> None:
    # The brief's trackBooking('completed', {…}) call, which names no currency.
    properties = {
        "therapistId": "t-7",
        "serviceType": "balinese",
        "duration": 90,
        "totalPrice": 150000,
        "location": "Ubud",
        "paymentMethod": "card",
    }
    raw = {"type": "track", "event": event_name, "userId": "u1", "properties": properties}
    assert convert(raw).properties["currency"] == "IDR"
    assert convert(raw, default_currency="EUR").properties["currency"] == "EUR"
    named = {**raw, "properties": {**properties, "currency": "USD"}}
    assert convert(named).properties["currency"] == "USD"


def test_error_context_may_be_a_string_and_is_kept_as_sent() -> None:
    # The brief's trackError(error, 'user_registration').
    raw = {
        "type": "track",
        "event": "error_occurred",
        "anonymousId": "a",
        "properties": {"message": "Email taken", "type": "Error", "context": "user_registration"},
    }
    assert convert(raw).properties["context"] == "user_registration"
    too_long = {**raw, "properties": {**raw["properties"], "context": "x" * 513}}
    assert "properties.context" in reasons(too_long)
