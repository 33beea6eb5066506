"""ingest encodes each published envelope with orjson: the bytes must be exactly what
pydantic's `model_dump_json` writes (what consumers have always read), for any value an
accepted event can hold: finite floats, 64-bit integers, any Unicode text without
surrogates, nesting, and times with or without an offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from lookout_common.contracts.events import AnalyticsEvent
from lookout_ingest.bounds import INT64_MAX, INT64_MIN
from lookout_ingest.publisher import encoded

text = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(INT64_MIN, INT64_MAX)
    | st.floats(allow_nan=False, allow_infinity=False)
    | text
)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
)
objects = st.dictionaries(text, values, max_size=6)
offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8))]
)
times = st.datetimes(timezones=offsets) | st.datetimes()


@settings(max_examples=400, deadline=None)
@given(
    properties=objects,
    traits=objects,
    context=objects,
    timestamp=times,
    sent_at=st.none() | times,
    user_id=st.none() | text,
)
def test_orjson_writes_the_bytes_pydantic_writes(
    properties: dict,
    traits: dict,
    context: dict,
    timestamp: datetime,
    sent_at: datetime | None,
    user_id: str | None,
) -> None:
    event = AnalyticsEvent(
        event_id="m-1",
        kind="track",
        event="x_event",
        user_id=user_id,
        anonymous_id="a-1",
        properties=properties,
        traits=traits,
        context=context,
        timestamp=timestamp,
        received_at=datetime.now(UTC),
        sent_at=sent_at,
        source="web",
        request_id="req-1",
    )
    assert encoded(event) == event.model_dump_json().encode()
