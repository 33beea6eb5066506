"""Booking attempts, completions and revenue by service type, currency and location
(15 minutes)."""

from lookout_aggregator.rollups import UTC_ORIGIN, Fragment, literal, names
from lookout_common.contracts.events import EventType

ATTEMPT = literal(EventType.BOOKING_ATTEMPT)
COMPLETED = literal(EventType.BOOKING_COMPLETED)

BOOKINGS = Fragment(
    "bookings",
    shared=f"""
bookings AS (
    INSERT INTO rollup_bookings (bucket, service_type, currency, location, attempts,
                                 completions, revenue)
    SELECT date_bin('15 minutes', "timestamp", {UTC_ORIGIN}),
           coalesce(props ->> 'serviceType', ''), coalesce(props ->> 'currency', ''),
           coalesce(left(props ->> 'location', 200), ''),
           count(*) FILTER (WHERE event = {ATTEMPT}),
           count(*) FILTER (WHERE event = {COMPLETED}),
           coalesce(sum((props ->> 'totalPrice')::numeric)
                    FILTER (WHERE event = {COMPLETED}), 0)
    FROM new
    WHERE event IN {names(EventType.BOOKING_ATTEMPT, EventType.BOOKING_COMPLETED)}
    GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, service_type, currency, location) DO UPDATE SET
        attempts = rollup_bookings.attempts + EXCLUDED.attempts,
        completions = rollup_bookings.completions + EXCLUDED.completions,
        revenue = rollup_bookings.revenue + EXCLUDED.revenue
)""",
)
