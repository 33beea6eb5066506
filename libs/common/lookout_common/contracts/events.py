"""The analytics event contract: event types, their typed properties and the
envelope that travels on `analytics.events.v1` and its dead-letter topic."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, field_validator


class EventType(StrEnum):
    """The product's own event names; any other valid name is a custom event."""

    PAGE_VIEW = "page_view"
    BOOKING_ATTEMPT = "booking_attempt"
    BOOKING_COMPLETED = "booking_completed"
    CHAT_STARTED = "chat_started"
    CHAT_MESSAGE_SENT = "chat_message_sent"
    SEARCH_PERFORMED = "search_performed"
    USER_REGISTERED = "user_registered"
    LOGIN_ATTEMPT = "login_attempt"
    ERROR_OCCURRED = "error_occurred"
    NOTIFICATION_SENT = "notification_sent"
    PERFORMANCE = "performance"
    EXPERIMENT_EXPOSURE = "experiment_exposure"


IDENTIFY_EVENT = "identify"
CUSTOM_EVENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.:\- ]{0,127}$")

ShortText = Annotated[str, StringConstraints(max_length=512)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Properties(BaseModel):
    """Typed properties: known fields are checked, unknown ones are kept as sent."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, str_strip_whitespace=True)


class PageViewProperties(Properties):
    path: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    referrer: Annotated[str, StringConstraints(max_length=2048)] | None = None
    title: ShortText | None = None
    load_time: float | None = Field(None, alias="loadTime", ge=0, description="milliseconds")


class BookingAttemptProperties(Properties):
    therapist_id: Identifier = Field(alias="therapistId")
    service_type: Identifier = Field(alias="serviceType")
    duration: int | None = Field(None, gt=0, le=24 * 60, description="minutes")
    total_price: Decimal | None = Field(None, alias="totalPrice", ge=0, max_digits=14)
    currency: Currency | None = None
    location: ShortText | None = None
    payment_method: Identifier | None = Field(None, alias="paymentMethod")


class BookingCompletedProperties(BookingAttemptProperties):
    # `currency` stays optional (the brief's trackBooking sends none): ingest fills in
    # LOOKOUT_DEFAULT_CURRENCY, so revenue is still summed per currency.
    total_price: Decimal = Field(alias="totalPrice", ge=0, max_digits=14)


class ChatStartedProperties(Properties):
    chat_id: Identifier = Field(alias="chatId")
    participant_type: Identifier | None = Field(None, alias="participantType")


class ChatMessageSentProperties(ChatStartedProperties):
    message_length: int | None = Field(None, alias="messageLength", ge=0)
    has_attachment: bool | None = Field(None, alias="hasAttachment")


class SearchPerformedProperties(Properties):
    query: Annotated[str, StringConstraints(max_length=512)]
    filters: dict[str, JsonValue] = Field(default_factory=dict)
    results_count: int | None = Field(None, alias="resultsCount", ge=0)


class UserRegisteredProperties(Properties):
    user_type: Identifier = Field(alias="userType")
    method: Identifier | None = None


class LoginAttemptProperties(Properties):
    success: bool
    method: Identifier | None = None
    failure_reason: ShortText | None = Field(None, alias="failureReason")


class ErrorOccurredProperties(Properties):
    message: Annotated[str, StringConstraints(min_length=1, max_length=4096)]
    type: Identifier | None = None
    stack: Annotated[str, StringConstraints(max_length=16_384)] | None = None
    # The brief's trackError(error, 'user_registration') names its context with a string,
    # kept as sent (no rollup reads it).
    context: JsonValue = Field(default_factory=dict)

    @field_validator("context")
    @classmethod
    def _object_or_name(cls, value: JsonValue) -> JsonValue:
        if isinstance(value, dict) or (isinstance(value, str) and len(value) <= 512):
            return value
        raise ValueError("context must be an object or a string of at most 512 characters")


class NotificationSentProperties(Properties):
    channel: Identifier
    kind: Identifier | None = None


class PerformanceProperties(Properties):
    path: Annotated[str, StringConstraints(max_length=2048)] | None = None
    lcp: float | None = Field(None, ge=0, description="Largest Contentful Paint, ms")
    inp: float | None = Field(None, ge=0, description="Interaction to Next Paint, ms")
    cls: float | None = Field(None, ge=0, description="Cumulative Layout Shift")
    ttfb: float | None = Field(None, ge=0, description="Time to First Byte, ms")
    fcp: float | None = Field(None, ge=0, description="First Contentful Paint, ms")
    api_response_time: float | None = Field(None, alias="apiResponseTime", ge=0)


class ExperimentExposureProperties(Properties):
    experiment: Identifier
    variant: Identifier


PROPERTIES_BY_TYPE: dict[EventType, type[Properties]] = {
    EventType.PAGE_VIEW: PageViewProperties,
    EventType.BOOKING_ATTEMPT: BookingAttemptProperties,
    EventType.BOOKING_COMPLETED: BookingCompletedProperties,
    EventType.CHAT_STARTED: ChatStartedProperties,
    EventType.CHAT_MESSAGE_SENT: ChatMessageSentProperties,
    EventType.SEARCH_PERFORMED: SearchPerformedProperties,
    EventType.USER_REGISTERED: UserRegisteredProperties,
    EventType.LOGIN_ATTEMPT: LoginAttemptProperties,
    EventType.ERROR_OCCURRED: ErrorOccurredProperties,
    EventType.NOTIFICATION_SENT: NotificationSentProperties,
    EventType.PERFORMANCE: PerformanceProperties,
    EventType.EXPERIMENT_EXPOSURE: ExperimentExposureProperties,
}


def typed_properties(event: str, properties: dict[str, Any]) -> Properties | None:
    """Validate `properties` against the event type's model (None for custom events).

    Raises pydantic.ValidationError when a product event's properties are wrong.
    """
    try:
        event_type = EventType(event)
    except ValueError:
        return None
    return PROPERTIES_BY_TYPE[event_type].model_validate(properties)


MessageKind = Literal["track", "page", "identify"]


class AnalyticsEvent(BaseModel):
    """One accepted event as ingest publishes it (key: user id, else anonymous id)."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = 1
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    kind: MessageKind
    event: str
    user_id: str | None = None
    anonymous_id: str | None = None
    properties: dict[str, JsonValue] = Field(default_factory=dict)
    traits: dict[str, JsonValue] = Field(default_factory=dict)
    context: dict[str, JsonValue] = Field(default_factory=dict)
    timestamp: datetime = Field(description="When it happened, corrected for client clock skew")
    received_at: datetime
    sent_at: datetime | None = None
    source: str = Field(description="Name of the write key that sent it")
    request_id: str = Field(description="Ingest request that carried it (follows it in logs)")

    @property
    def actor_id(self) -> str:
        """The person: user id when known, else the anonymous id."""
        return self.user_id or self.anonymous_id or ""

    def partition_key(self) -> bytes:
        return self.actor_id.encode()


class FieldError(BaseModel):
    """Why one event was rejected: where and what."""

    index: int | None = Field(None, description="Position in the batch; None for single calls")
    field: str = Field(description="Dotted path of the offending field, '' for the whole event")
    reason: str


class DeadLetterCode(StrEnum):
    """Why an event was dead-lettered, as a category the dashboard counts by."""

    INVALID = "invalid"  # failed validation: a field's type, length, depth or count
    UNDECODABLE = "undecodable"  # not JSON, or not an event envelope at all
    TIMESTAMP_OUT_OF_RANGE = "timestamp_out_of_range"  # older than the accepted past
    REFUSED_BY_DATABASE = "refused_by_database"  # Postgres refused the row (DataError…)
    PROCESSING_ERROR = "processing_error"  # isolated by bisection: an unexpected exception


class DeadLetter(BaseModel):
    """A rejected event on `analytics.events.dlq.v1`, kept for operators to inspect."""

    stage: Literal["ingest", "aggregator"]
    code: DeadLetterCode = Field(
        DeadLetterCode.INVALID, description="Category of the reason (dashboard counts by it)"
    )
    reason: str
    error_type: str | None = Field(
        None, description="Exception type that isolated it (aggregator), e.g. 'OverflowError'"
    )
    errors: list[FieldError] = Field(default_factory=list)
    payload: JsonValue = None
    source: str | None = None
    request_id: str | None = None
    rejected_at: datetime
