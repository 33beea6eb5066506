"""Who did which event when, packed for funnels: per event name and UTC day, one row of
the batch's new events as 17-byte records in time order (migrations 0019 and 0020; funnels
sort a range's records by person and time, fast when they come about in time order).
Insert only: a batch adds a row per name and day it holds and never rewrites one, so
replicas share no rows here."""

from lookout_aggregator.rollups import Fragment

STEP_TIMES = Fragment(
    "step_times",
    """
step_times AS (
    INSERT INTO step_times (event, day, records)
    SELECT event, ("timestamp" AT TIME ZONE 'UTC')::date,
           string_agg(lookout_step_record(user_id, anonymous_id, "timestamp"), ''::bytea
                      ORDER BY "timestamp")
    FROM new
    GROUP BY 1, 2 ORDER BY 1, 2
)""",
)
