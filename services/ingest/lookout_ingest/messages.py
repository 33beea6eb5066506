"""The Segment-compatible request models and their conversion into Lookout events.

Segment's HTTP Tracking API is the contract: `track`, `page`, `identify` and
`batch`, camelCase fields, `messageId` for de-duplication, `sentAt` for clock-skew
correction. Every rejection names the field and the reason.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from lookout_common.contracts.events import (
    CUSTOM_EVENT_NAME,
    IDENTIFY_EVENT,
    AnalyticsEvent,
    DeadLetterCode,
    EventType,
    FieldError,
    typed_properties,
)
from lookout_common.contracts.timebounds import DEFAULT_MAX_AGE_DAYS
from lookout_ingest.bounds import shape_errors
from lookout_ingest.envelope import checked_event

_BOOKING_EVENTS = frozenset({EventType.BOOKING_ATTEMPT.value, EventType.BOOKING_COMPLETED.value})

ActorId = Annotated[str, StringConstraints(min_length=1, max_length=256)]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# A JSON object as the body's parser made it: every value in it already is a JSON value
# (json and orjson make nothing else) within the bounds (`bounds.fits`), so only its being
# an object is checked; checking each value again as pydantic's `JsonValue` cost up to
# 2 µs per event (a recursive union, and a copy of every object and list).
ParsedObject = dict[str, Any]


class IncomingMessage(BaseModel):
    """One `track`, `page` or `identify` call as a Segment client sends it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["track", "page", "identify"]
    message_id: MessageId | None = Field(None, alias="messageId")
    user_id: ActorId | None = Field(None, alias="userId")
    anonymous_id: ActorId | None = Field(None, alias="anonymousId")
    event: str | None = None
    name: Annotated[str, StringConstraints(max_length=512)] | None = None
    properties: ParsedObject = Field(default_factory=dict)
    traits: ParsedObject = Field(default_factory=dict)
    context: ParsedObject = Field(default_factory=dict)
    timestamp: datetime | None = None
    sent_at: datetime | None = Field(None, alias="sentAt")

    @field_validator("timestamp", "sent_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        # Segment treats a time without an offset as UTC.
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @model_validator(mode="after")
    def _complete(self) -> IncomingMessage:
        if self.user_id is None and self.anonymous_id is None:
            raise ValueError("userId or anonymousId is required")
        if self.type == "track":
            if not self.event:
                raise ValueError("event is required for track")
            if not CUSTOM_EVENT_NAME.match(self.event):
                raise ValueError(
                    "event must start with a letter and contain only letters, digits, "
                    "spaces and _ . : - (at most 128 characters)"
                )
        return self


def _path(location: tuple[int | str, ...], prefix: tuple[str, ...] = ()) -> str:
    return ".".join(str(part) for part in (*prefix, *location))


def validation_errors(
    error: ValidationError, index: int | None, prefix: tuple[str, ...] = ()
) -> list[FieldError]:
    errors = []
    for item in error.errors(include_url=False):
        location = tuple(part for part in item["loc"] if part != "function-after[_complete()]")
        reason = item["msg"].removeprefix("Value error, ")
        errors.append(FieldError(index=index, field=_path(location, prefix), reason=reason))
    return errors


class Rejected(Exception):
    """An event that cannot be accepted, with every reason found and their category."""

    def __init__(
        self, errors: list[FieldError], code: DeadLetterCode = DeadLetterCode.INVALID
    ) -> None:
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))
        self.errors = errors
        self.code = code


def event_time(
    message: IncomingMessage, received_at: datetime, oldest: datetime, index: int | None = None
) -> datetime:
    """When it happened on our clock, in UTC: Segment's `receivedAt - (sentAt - timestamp)`,
    never after `received_at` and never before `oldest` (then it is `Rejected`).

    A client clock that is off by hours would otherwise put events on the wrong day.
    Only differences of the client's own instants are taken (they never overflow), so a
    timestamp whose UTC form no `datetime` holds (0001-01-01T00:30+01:00) is refused by
    the bound instead of failing its conversion.
    """
    if message.timestamp is None:
        return received_at
    if message.sent_at is not None:
        age = message.sent_at - message.timestamp
    else:
        age = received_at - message.timestamp
    if age <= timedelta(0):
        return received_at
    if age > received_at - oldest:
        reason = (
            f"timestamp {message.timestamp.isoformat()} is older than the oldest accepted "
            f"({oldest.isoformat()}; see LOOKOUT_EVENTS_MAX_AGE_DAYS)"
        )
        raise Rejected(
            [FieldError(index=index, field="timestamp", reason=reason)],
            DeadLetterCode.TIMESTAMP_OUT_OF_RANGE,
        )
    return received_at - age


def _utc(value: datetime | None) -> datetime | None:
    """`value` in UTC, or None when its UTC form is outside the years 1 to 9999."""
    try:
        return value.astimezone(UTC) if value is not None else None
    except OverflowError:
        return None


def _page_properties(message: IncomingMessage) -> dict[str, Any]:
    properties = dict(message.properties)
    page = message.context.get("page")
    if "path" not in properties and isinstance(page, dict) and isinstance(page.get("path"), str):
        properties["path"] = page["path"]
    if message.name and "name" not in properties:
        properties["name"] = message.name
    return properties


def to_event(
    raw: Any,
    *,
    kind: str | None,
    index: int | None,
    received_at: datetime,
    source: str,
    request_id: str,
    defaults: dict[str, Any] | None = None,
    oldest: datetime | None = None,
    default_currency: str = "IDR",
    bounded: bool = False,
) -> AnalyticsEvent:
    """Validate one raw message and build the envelope published to Kafka.

    `kind` is the endpoint's type (None inside a batch, where each item says);
    `defaults` the batch's shared fields (their shape already checked by the caller);
    `oldest` the oldest accepted event time (default: three years before `received_at`);
    `default_currency` that of a booking that names none;
    `bounded` that the caller proved `raw` within `shape_errors`' bounds (`bounds.fits`).
    Raises `Rejected` with field paths relative to the item.
    """
    if not isinstance(raw, dict):
        raise Rejected(
            [FieldError(index=index, field="", reason="event must be a JSON object")],
            DeadLetterCode.UNDECODABLE,
        )
    data = dict(raw)
    if kind is not None:
        data["type"] = kind
    for key, value in (defaults or {}).items():
        data.setdefault(key, value)
    if not bounded and (errors := shape_errors(raw, index)):
        raise Rejected(errors)
    try:
        message = IncomingMessage.model_validate(data)
    except ValidationError as error:
        raise Rejected(validation_errors(error, index)) from None
    if message.type == "page":
        event, properties = EventType.PAGE_VIEW.value, _page_properties(message)
    elif message.type == "identify":
        event, properties = IDENTIFY_EVENT, message.properties
    else:
        event, properties = message.event or "", message.properties
    try:
        typed_properties(event, properties)
    except ValidationError as error:
        raise Rejected(validation_errors(error, index, ("properties",))) from None
    if event in _BOOKING_EVENTS and properties.get("currency") is None:
        properties = {**properties, "currency": default_currency}
    if oldest is None:
        oldest = received_at - timedelta(days=DEFAULT_MAX_AGE_DAYS)
    timestamp = event_time(message, received_at, oldest, index)
    # Every value below is valid for its envelope field (the message's own validation and
    # the checks above), so the envelope is not validated again (see `envelope.py`).
    return checked_event(
        {
            "schema_version": 1,
            "event_id": message.message_id or uuid.uuid4().hex,
            "kind": message.type,
            "event": event,
            "user_id": message.user_id,
            "anonymous_id": message.anonymous_id,
            "properties": properties,
            "traits": message.traits,
            "context": message.context,
            "timestamp": timestamp,
            "received_at": received_at,
            "sent_at": _utc(message.sent_at),
            "source": source,
            "request_id": request_id,
        }
    )
