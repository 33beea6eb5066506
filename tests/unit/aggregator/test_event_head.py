"""What the aggregator checks of each record before Postgres sees the batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from lookout_aggregator.store import EventHead, batch_document
from lookout_common.contracts.events import AnalyticsEvent

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def published(**changes) -> bytes:
    event = AnalyticsEvent(
        event_id="e1",
        kind="track",
        event="search_performed",
        anonymous_id="a1",
        properties={"query": "thai"},
        timestamp=NOW,
        received_at=NOW,
        source="web",
        request_id="r1",
    )
    document = json.loads(event.model_dump_json())
    document.update(changes)
    return json.dumps(document).encode()


def test_event_as_ingest_publishes_it_is_accepted() -> None:
    head = EventHead.model_validate_json(published())
    assert (head.event_id, head.event, head.timestamp) == ("e1", "search_performed", NOW)


@pytest.mark.parametrize(
    "changes",
    [
        {"schema_version": 2},
        {"event_id": ""},
        {"kind": "alias"},
        {"timestamp": "not a time"},
        {"source": None},
    ],
)
def test_envelope_breaking_the_contract_is_refused(changes) -> None:
    with pytest.raises(ValidationError):
        EventHead.model_validate_json(published(**changes))


def test_undecodable_record_is_refused() -> None:
    with pytest.raises(ValidationError):
        EventHead.model_validate_json(b"{not json")


def test_batch_document_is_one_json_array_of_the_records() -> None:
    values = [published(event_id="a"), published(event_id="b")]
    assert [item["event_id"] for item in json.loads(batch_document(values))] == ["a", "b"]
