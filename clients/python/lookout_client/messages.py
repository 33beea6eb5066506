"""The wire messages `track`, `identify` and `page` queue: built, checked and serialized
once, when they are enqueued, so a retry resends exactly the same bytes (and `messageId`).

Only what this client can judge is checked here: an actor id, an event name, values that
are JSON. Event-name rules and the typed properties of the product's events are ingest's
job; it answers 400 for those and the client reports them to `on_error`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timezone
from datetime import time as time_of_day
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from lookout_client.errors import InvalidMessage, LookoutClientError, MessageTooLarge
from lookout_client.version import __version__

LIBRARY = {"name": "lookout-client", "version": __version__}

# ingest's bounds. Values are plain JSON already (see `json_ready`), hence `Any` below.
ActorId = Annotated[str, Field(min_length=1, max_length=256)]
MessageId = Annotated[str, Field(min_length=1, max_length=128)]
Json = dict[str, Any]


def utc_iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`; a naive time is taken to be UTC already (as Segment does)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class Message(BaseModel):
    """Fields every call shares."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    message_id: MessageId = Field(default_factory=lambda: uuid.uuid4().hex, alias="messageId")
    timestamp: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    user_id: ActorId | None = Field(None, alias="userId")
    anonymous_id: ActorId | None = Field(None, alias="anonymousId")
    context: Json = Field(default_factory=dict, validate_default=True)

    @field_serializer("timestamp")
    def _timestamp(self, value: datetime) -> str:
        return utc_iso(value)

    @field_validator("context")
    @classmethod
    def _library(cls, value: Json) -> Json:
        return {**value, "library": dict(LIBRARY)}

    @model_validator(mode="after")
    def _actor(self) -> Message:
        if self.user_id is None and self.anonymous_id is None:
            raise ValueError("user_id or anonymous_id is required")
        return self


class Track(Message):
    type: Literal["track"] = "track"
    event: Annotated[str, Field(min_length=1, max_length=128)]
    properties: Json = Field(default_factory=dict)


class Identify(Message):
    type: Literal["identify"] = "identify"
    traits: Json = Field(default_factory=dict)


class Page(Message):
    type: Literal["page"] = "page"
    name: Annotated[str, Field(max_length=512)] | None = None
    properties: Json = Field(default_factory=dict)


@dataclass(frozen=True)
class Draft:
    """A call's arguments, before they are checked: `fields` use the models' Python names."""

    kind: type[Message]
    fields: dict[str, Any]


@dataclass(frozen=True)
class Queued:
    """A checked message: its wire form, its serialized body and when it was queued."""

    message: dict[str, Any]
    body: str
    queued_at: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def message_id(self) -> str:
        return str(self.message["messageId"])


def json_ready(value: Any, path: str) -> Any:
    """`value` as plain JSON types: Decimal becomes a number, datetimes ISO strings,
    UUIDs and enums their value, pydantic models their JSON dump.

    Raises InvalidMessage naming `path` (never the value) for anything else.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidMessage(f"{path}: NaN and infinity are not JSON numbers")
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Decimal):
        return json_ready(float(value), path)
    if isinstance(value, datetime):
        return utc_iso(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, (date, time_of_day)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return json_ready(value.value, path)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, Mapping):
        ready = {}
        for key, item in value.items():
            if isinstance(key, enum.Enum):
                key = key.value
            if isinstance(key, bool) or not isinstance(key, (str, int)):
                raise InvalidMessage(f"{path}: keys must be strings, not {type(key).__name__}")
            ready[str(key)] = json_ready(item, f"{path}.{key}")
        return ready
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_ready(item, f"{path}.{index}") for index, item in enumerate(value)]
    raise InvalidMessage(f"{path}: a {type(value).__name__} is not a JSON value")


def _describe(error: ValidationError) -> str:
    # Field paths and messages only: pydantic's own text would quote the input values.
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"])
        parts.append(f"{location}: {item['msg']}" if location else item["msg"])
    return "; ".join(part.removeprefix("Value error, ") for part in parts)


def build(draft: Draft, max_event_bytes: int) -> Queued:
    """Check and serialize one call. Raises InvalidMessage or MessageTooLarge."""
    fields = {}
    for name, value in draft.fields.items():
        if value is None:
            continue
        if name in ("user_id", "anonymous_id", "message_id") and type(value) is int:
            value = str(value)  # numeric ids from a database are common
        if name in ("properties", "traits", "context"):
            if not isinstance(value, Mapping):
                raise InvalidMessage(f"{name}: expected a mapping, not {type(value).__name__}")
            try:
                value = json_ready(value, name)
            except RecursionError:
                raise InvalidMessage(f"{name}: nested too deeply (or refers to itself)") from None
        fields[name] = value
    try:
        message = draft.kind.model_validate(fields)
    except ValidationError as error:
        raise InvalidMessage(_describe(error)) from None
    wire = message.model_dump(mode="json", by_alias=True, exclude_none=True)
    # ingest measures an event as json.dumps of it with the defaults: the same here.
    body = json.dumps(wire, allow_nan=False)
    if len(body) > max_event_bytes:
        raise MessageTooLarge(
            f"message is {len(body)} bytes as JSON, over ingest's limit of {max_event_bytes}",
            [wire],
        )
    return Queued(wire, body)


def prepare(compose: Callable[[], Draft], max_event_bytes: int) -> Queued | LookoutClientError:
    """Build a call's message, or the reason it cannot be sent; never raises."""
    try:
        return build(compose(), max_event_bytes)
    except LookoutClientError as error:
        return error
    except Exception as error:  # noqa: BLE001 - the no-throw contract: report, do not raise
        # Only the type: an exception's text could quote the application's values.
        return InvalidMessage(f"could not build the message: {type(error).__name__}")
