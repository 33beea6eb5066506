"""Errors per fingerprint (type, message, top frame of its first occurrence), per UTC hour."""

from lookout_aggregator.rollups import Fragment, literal
from lookout_common.contracts.events import EventType

ERRORS = Fragment(
    "errors",
    shared=f"""
errors AS (
    INSERT INTO rollup_errors (bucket, fingerprint, type, message, top_frame, errors)
    SELECT hour, fingerprint, (array_agg(type ORDER BY at))[1],
           (array_agg(message ORDER BY at))[1], (array_agg(top_frame ORDER BY at))[1], count(*)
    FROM (
        SELECT hour, "timestamp" AS at, coalesce(props ->> 'type', '') AS type,
               left(coalesce(props ->> 'message', ''), 500) AS message,
               coalesce(props ->> 'topFrame', '') AS top_frame,
               coalesce(props ->> 'fingerprint',
                        left(md5(coalesce(props ->> 'type', '') || '|'
                                 || coalesce(props ->> 'message', '')), 16)) AS fingerprint
        FROM new WHERE event = {literal(EventType.ERROR_OCCURRED)}) AS errors
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, fingerprint)
    DO UPDATE SET errors = rollup_errors.errors + EXCLUDED.errors
)""",
)
