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
    JsonValue,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from lookout_common.events import (
    CUSTOM_EVENT_NAME,
    IDENTIFY_EVENT,
    AnalyticsEvent,
    EventType,
    FieldError,
    typed_properties,
)

ActorId = Annotated[str, StringConstraints(min_length=1, max_length=256)]
MessageId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class IncomingMessage(BaseModel):
    """One `track`, `page` or `identify` call as a Segment client sends it."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    type: Literal["track", "page", "identify"]
    message_id: MessageId | None = Field(None, alias="messageId")
    user_id: ActorId | None = Field(None, alias="userId")
    anonymous_id: ActorId | None = Field(None, alias="anonymousId")
    event: str | None = None
    name: Annotated[str, StringConstraints(max_length=512)] | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)
    traits: dict[str, JsonValue] = Field(default_factory=dict)
    context: dict[str, JsonValue] = Field(default_factory=dict)
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
    """An event that cannot be accepted, with every reason found."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))
        self.errors = errors


def event_time(
    message: IncomingMessage, received_at: datetime, sent_at: datetime | None, max_skew_s: float
) -> datetime:
    """When it happened on our clock: Segment's `receivedAt - (sentAt - timestamp)`.

    A client clock that is off by hours would otherwise put events on the wrong
    day; a timestamp still implausibly in the future is clamped to the receive time.
    """
    if message.timestamp is None:
        return received_at
    occurred = message.timestamp
    if sent_at is not None:
        occurred = received_at - (sent_at - message.timestamp)
    if occurred - received_at > timedelta(seconds=max_skew_s):
        return received_at
    return occurred


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
    max_skew_s: float = 86_400.0,
) -> AnalyticsEvent:
    """Validate one raw message and build the envelope published to Kafka.

    `kind` is the endpoint's type (None inside a batch, where each item says).
    Raises `Rejected` with field paths relative to the item.
    """
    if not isinstance(raw, dict):
        raise Rejected([FieldError(index=index, field="", reason="event must be a JSON object")])
    data = dict(raw)
    if kind is not None:
        data["type"] = kind
    for key, value in (defaults or {}).items():
        data.setdefault(key, value)
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
    sent_at = message.sent_at
    return AnalyticsEvent(
        event_id=message.message_id or uuid.uuid4().hex,
        kind=message.type,
        event=event,
        user_id=message.user_id,
        anonymous_id=message.anonymous_id,
        properties=properties,
        traits=message.traits,
        context=message.context,
        timestamp=event_time(message, received_at, sent_at, max_skew_s),
        received_at=received_at,
        sent_at=sent_at,
        source=source,
        request_id=request_id,
    )
