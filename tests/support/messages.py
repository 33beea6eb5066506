"""Messages as clients send them to ingest, and the events ingest makes of them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from lookout_common.contracts.events import AnalyticsEvent
from lookout_ingest.messages import to_event

RECEIVED_AT = datetime(2026, 11, 25, 12, tzinfo=UTC)


def track(event: str = "x_event", properties: dict | None = None, **fields: Any) -> dict:
    """A track message by visitor anon-1 with a new messageId; `fields` add or replace keys."""
    return {
        "type": "track",
        "messageId": uuid.uuid4().hex,
        "anonymousId": "anon-1",
        "event": event,
        "properties": properties or {},
        **fields,
    }


def received(raw: dict) -> AnalyticsEvent:
    """The event ingest makes of `raw` when the web write key sends it at RECEIVED_AT."""
    return to_event(
        raw, kind=None, index=None, received_at=RECEIVED_AT, source="web", request_id="req-1"
    )
