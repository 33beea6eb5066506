"""Events per event name, per UTC minute and per UTC hour."""

from lookout_aggregator.rollups import Fragment

EVENT_COUNTS = Fragment(
    "event_counts",
    shared="""
counts AS (
    INSERT INTO rollup_event_counts (bucket, event, events)
    SELECT minute, event, count(*) FROM new GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, event) DO UPDATE SET events = rollup_event_counts.events + EXCLUDED.events
),
hourly_counts AS (
    INSERT INTO rollup_event_hours (bucket, event, events)
    SELECT hour, event, count(*) FROM new GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, event) DO UPDATE SET events = rollup_event_hours.events + EXCLUDED.events
)""",
)
