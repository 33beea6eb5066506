"""Events per country and city (geo-consented events only), per UTC hour."""

from lookout_aggregator.rollups import Fragment

GEO = Fragment(
    "geo",
    shared="""
geo AS (
    INSERT INTO rollup_geo (bucket, country, city, events)
    SELECT hour, left(context -> 'geo' ->> 'country', 64),
           left(coalesce(context -> 'geo' ->> 'city', ''), 200), count(*)
    FROM new WHERE context -> 'geo' ->> 'country' IS NOT NULL
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (bucket, country, city) DO UPDATE SET events = rollup_geo.events + EXCLUDED.events
)""",
)
