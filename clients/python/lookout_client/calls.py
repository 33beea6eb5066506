"""The calls both clients offer, defined once.

Each call only describes its message (a `Draft`) and hands a function producing it to
`_submit`. `Client._submit` queues it and returns the `messageId` (None when it was
dropped); `AsyncClient._submit` is a coroutine function, so there every call returns
an awaitable of the same. Building the draft happens inside `_submit`, where every
error is caught and reported to `on_error`: no call raises into the application. The
keywords every call shares (who, `context`, when, which id) are typed once, as `Envelope`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar

from typing_extensions import Unpack

from lookout_client import events
from lookout_client.messages import Draft, Identify, Message, Page, Track

Result = TypeVar("Result")
Properties = Mapping[str, Any]


class IdentifyEnvelope(TypedDict, total=False):
    """The keywords `identify` takes besides its own; its `user_id` is the user it describes."""

    anonymous_id: str | None
    context: Properties | None
    timestamp: datetime | None
    message_id: str | None


class Envelope(IdentifyEnvelope, total=False):
    """The keywords every other call takes besides its own: who did it (`user_id` or
    `anonymous_id`), Segment's `context`, when (`timestamp`) and the `message_id`."""

    user_id: str | None


ENVELOPE_KEYWORDS = frozenset(Envelope.__annotations__)


def _check(envelope: Mapping[str, object]) -> None:
    # `Unpack` speaks to type checkers only: a misspelt keyword must still fail at the
    # call with a TypeError, as it did when every call spelled the keywords out.
    unexpected = sorted(envelope.keys() - ENVELOPE_KEYWORDS)
    if unexpected:
        raise TypeError(f"got an unexpected keyword argument {unexpected[0]!r}")


def _tracked(named: events.EventAndProperties) -> dict[str, Any]:
    event, properties = named
    return {"event": event, "properties": properties}


class TrackingCalls(Generic[Result]):
    def _submit(self, compose: Callable[[], Draft]) -> Result:
        raise NotImplementedError

    def _queue(
        self,
        kind: type[Message],
        envelope: Mapping[str, object],
        fields: Callable[[], dict[str, Any]],
    ) -> Result:
        """Submit a `kind` message of the call's own `fields` (built inside `_submit`,
        where an error is reported rather than raised) and its envelope."""
        _check(envelope)
        return self._submit(lambda: Draft(kind, {**fields(), **envelope}))

    def _queue_event(
        self, envelope: Mapping[str, object], named: Callable[[], events.EventAndProperties]
    ) -> Result:
        """Submit a `track` of one of the product's events, `named` by `events`."""
        return self._queue(Track, envelope, lambda: _tracked(named()))

    def track(
        self,
        event: str,
        properties: Properties | None = None,
        **envelope: Unpack[Envelope],
    ) -> Result:
        """Queue a `track` call. Needs `user_id` or `anonymous_id`; the result is the
        message's id, or None when it was dropped (and reported to `on_error`)."""
        return self._queue(Track, envelope, lambda: {"event": event, "properties": properties})

    def identify(
        self,
        user_id: str,
        traits: Properties | None = None,
        **envelope: Unpack[IdentifyEnvelope],
    ) -> Result:
        """Queue an `identify` call: who `user_id` is (`traits`), and that the visitor
        `anonymous_id` was this user."""
        return self._queue(Identify, envelope, lambda: {"user_id": user_id, "traits": traits})

    def page(
        self,
        path: str,
        properties: Properties | None = None,
        *,
        name: str | None = None,
        **envelope: Unpack[Envelope],
    ) -> Result:
        """Queue a `page` call (ingest records it as `page_view`); `path` is the page's
        path, e.g. a server-rendered route."""
        return self._queue(
            Page,
            envelope,
            lambda: {"name": name, "properties": events.page_properties(path, properties)},
        )

    def track_booking(
        self,
        stage: str,
        *,
        therapist_id: str,
        service_type: str,
        total_price: Any = None,
        currency: str | None = None,
        duration: int | None = None,
        location: str | None = None,
        payment_method: str | None = None,
        properties: Properties | None = None,
        **envelope: Unpack[Envelope],
    ) -> Result:
        """`booking_attempt` (stage 'attempt') or `booking_completed` (stage 'completed',
        which needs `total_price` and a three-letter `currency`). `duration` in minutes."""
        return self._queue_event(
            envelope,
            lambda: events.booking(
                stage,
                therapist_id=therapist_id,
                service_type=service_type,
                total_price=total_price,
                currency=currency,
                duration=duration,
                location=location,
                payment_method=payment_method,
                extra=properties,
            ),
        )

    def track_chat_activity(
        self,
        activity: str,
        *,
        chat_id: str,
        participant_type: str | None = None,
        message_length: int | None = None,
        has_attachment: bool | None = None,
        properties: Properties | None = None,
        **envelope: Unpack[Envelope],
    ) -> Result:
        """`chat_started` (activity 'started') or `chat_message_sent` ('message_sent')."""
        return self._queue_event(
            envelope,
            lambda: events.chat_activity(
                activity,
                chat_id=chat_id,
                participant_type=participant_type,
                message_length=message_length,
                has_attachment=has_attachment,
                extra=properties,
            ),
        )

    def track_search(
        self,
        query: str,
        *,
        filters: Properties | None = None,
        results_count: int | None = None,
        properties: Properties | None = None,
        **envelope: Unpack[Envelope],
    ) -> Result:
        """`search_performed`."""
        return self._queue_event(
            envelope,
            lambda: events.search(
                query, filters=filters, results_count=results_count, extra=properties
            ),
        )

    def track_user_registration(
        self,
        user_type: str,
        *,
        method: str | None = None,
        properties: Properties | None = None,
        **envelope: Unpack[Envelope],
    ) -> Result:
        """`user_registered` (`user_type` e.g. 'customer' or 'therapist')."""
        return self._queue_event(
            envelope,
            lambda: events.user_registration(user_type, method=method, extra=properties),
        )

    def track_error(
        self,
        error: BaseException | str,
        *,
        details: Properties | None = None,
        properties: Properties | None = None,
        **envelope: Unpack[Envelope],
    ) -> Result:
        """`error_occurred` from an exception (type = its class name, stack = its formatted
        traceback) or a message; `details` becomes `properties.context`."""
        return self._queue_event(
            envelope,
            lambda: events.error_report(error, details=details, extra=properties),
        )
