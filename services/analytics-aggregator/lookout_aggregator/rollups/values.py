"""Log-spaced histograms of page load and Web Vitals per path and for all pages ('*'),
per UTC hour and per UTC day."""

from lookout_aggregator.rollups import Fragment, literal, names
from lookout_common.contracts.events import EventType

# The measured properties; a page view carries only loadTime.
METRICS = ("loadTime", "lcp", "inp", "cls", "ttfb", "fcp", "apiResponseTime")
PERFORMANCE = literal(EventType.PERFORMANCE)

VALUES = Fragment(
    "values",
    shared=f"""
samples AS MATERIALIZED (
    SELECT hour, (hour AT TIME ZONE 'UTC')::date AS day, metric, paths.path,
           lookout_value_bin(value) AS bin, count(*) AS n
    FROM (
        SELECT hour, metric, coalesce(props ->> 'path', context -> 'page' ->> 'path', '') AS path,
               (props ->> metric)::double precision AS value
        FROM new CROSS JOIN LATERAL (VALUES {", ".join(f"({literal(m)})" for m in METRICS)})
                                   AS metrics (metric)
        WHERE event IN {names(EventType.PAGE_VIEW, EventType.PERFORMANCE)}
          AND jsonb_typeof(props -> metric) = 'number'
          AND (event = {PERFORMANCE} OR metric = 'loadTime')) AS values
    CROSS JOIN LATERAL (VALUES (values.path), ('*')) AS paths (path)
    WHERE value >= 0
    GROUP BY hour, metric, paths.path, lookout_value_bin(value)
),
measured AS (
    INSERT INTO rollup_values (bucket, metric, path, bin, n)
    SELECT hour, metric, path, bin, n FROM samples ORDER BY 1, 2, 3, 4
    ON CONFLICT (bucket, metric, path, bin) DO UPDATE SET n = rollup_values.n + EXCLUDED.n
),
measured_daily AS (
    INSERT INTO rollup_values_daily (day, metric, path, bin, n)
    SELECT day, metric, path, bin, sum(n) FROM samples GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, metric, path, bin) DO UPDATE SET n = rollup_values_daily.n + EXCLUDED.n
)""",
)
