"""Per person and event name: first and last time, and how often."""

from lookout_aggregator.rollups import Fragment

PERSON_EVENTS = Fragment(
    "person_events",
    """
person AS (
    INSERT INTO person_events AS pe (actor, event, first_at, last_at, events)
    SELECT actor, event, min("timestamp"), max("timestamp"), count(*) FROM new
    WHERE actor IS NOT NULL
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (actor, event) DO UPDATE SET
        first_at = least(pe.first_at, EXCLUDED.first_at),
        last_at = greatest(pe.last_at, EXCLUDED.last_at),
        events = pe.events + EXCLUDED.events
)""",
)
