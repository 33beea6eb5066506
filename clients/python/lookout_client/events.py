"""The product's own events as (event name, properties) pairs, with ingest's camelCase
property names, for the `track_*` helpers. Absent (None) arguments are left out."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from lookout_client.errors import InvalidMessage

# ingest's limits on `error_occurred`: longer texts would get the whole event rejected.
MAX_ERROR_MESSAGE = 4096
MAX_ERROR_STACK = 16_384

BOOKING_STAGES = {"attempt": "booking_attempt", "completed": "booking_completed"}
CHAT_ACTIVITIES = {"started": "chat_started", "message_sent": "chat_message_sent"}

EventAndProperties = tuple[str, dict[str, Any]]


def _properties(extra: Mapping[str, Any] | None, **named: Any) -> dict[str, Any]:
    if extra is not None and not isinstance(extra, Mapping):
        raise InvalidMessage(f"properties: expected a mapping, not {type(extra).__name__}")
    # The named arguments win over the same keys in `extra`.
    return {**(extra or {}), **{key: value for key, value in named.items() if value is not None}}


def page_properties(path: str, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A `page` call's properties: ingest takes the page_view's path from `path`."""
    return _properties(extra, path=path)


def booking(
    stage: str,
    *,
    therapist_id: str,
    service_type: str,
    total_price: Any = None,
    currency: str | None = None,
    duration: int | None = None,
    location: str | None = None,
    payment_method: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> EventAndProperties:
    """`booking_attempt` or `booking_completed`; a completed booking needs its price and
    currency. `duration` is in minutes."""
    event = BOOKING_STAGES.get(stage)
    if event is None:
        raise InvalidMessage(f"stage: expected 'attempt' or 'completed', not {stage!r}")
    if event == "booking_completed" and (total_price is None or currency is None):
        raise InvalidMessage("a completed booking needs total_price and currency")
    return event, _properties(
        extra,
        therapistId=therapist_id,
        serviceType=service_type,
        duration=duration,
        totalPrice=total_price,
        currency=currency,
        location=location,
        paymentMethod=payment_method,
    )


def chat_activity(
    activity: str,
    *,
    chat_id: str,
    participant_type: str | None = None,
    message_length: int | None = None,
    has_attachment: bool | None = None,
    extra: Mapping[str, Any] | None = None,
) -> EventAndProperties:
    """`chat_started` or `chat_message_sent`."""
    event = CHAT_ACTIVITIES.get(activity)
    if event is None:
        raise InvalidMessage(f"activity: expected 'started' or 'message_sent', not {activity!r}")
    return event, _properties(
        extra,
        chatId=chat_id,
        participantType=participant_type,
        messageLength=message_length,
        hasAttachment=has_attachment,
    )


def search(
    query: str,
    *,
    filters: Mapping[str, Any] | None = None,
    results_count: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> EventAndProperties:
    """`search_performed`."""
    return "search_performed", _properties(
        extra, query=query, filters=filters, resultsCount=results_count
    )


def user_registration(
    user_type: str, *, method: str | None = None, extra: Mapping[str, Any] | None = None
) -> EventAndProperties:
    """`user_registered`."""
    return "user_registered", _properties(extra, userType=user_type, method=method)


def error_report(
    error: BaseException | str,
    *,
    details: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> EventAndProperties:
    """`error_occurred`: for an exception, `type` is its class name and `stack` its formatted
    traceback (the innermost end kept when it is too long); `details` becomes
    `properties.context`."""
    if isinstance(error, BaseException):
        message = str(error) or type(error).__name__
        kind: str | None = type(error).__name__
        stack: str | None = "".join(traceback.format_exception(error))
    else:
        message, kind, stack = str(error), None, None
    if not message.strip():
        raise InvalidMessage("error: the message is empty")
    if len(message) > MAX_ERROR_MESSAGE:
        message = message[: MAX_ERROR_MESSAGE - 1] + "…"
    if stack is not None and len(stack) > MAX_ERROR_STACK:
        stack = "…" + stack[-(MAX_ERROR_STACK - 1) :]
    return "error_occurred", _properties(
        extra, message=message, type=kind, stack=stack, context=details
    )
