"""Page views per path (15 minutes, shared) and which person viewed which path on which
local day (per person)."""

from lookout_aggregator.rollups import UTC_ORIGIN, Fragment, literal
from lookout_common.contracts.events import EventType

PAGE_VIEW = literal(EventType.PAGE_VIEW)

PAGES = Fragment(
    "pages",
    sql=f"""
visitors AS (
    INSERT INTO page_visitors (day, path, actor)
    SELECT DISTINCT day, left(props ->> 'path', 2048), actor FROM new
    WHERE event = {PAGE_VIEW} AND actor IS NOT NULL AND props ->> 'path' IS NOT NULL
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
)""",
    shared=f"""
pages AS (
    INSERT INTO rollup_page_views (bucket, path, views)
    SELECT date_bin('15 minutes', "timestamp", {UTC_ORIGIN}), path, count(*)
    FROM (SELECT "timestamp", props ->> 'path' AS path FROM new
          WHERE event = {PAGE_VIEW}) AS views
    WHERE path IS NOT NULL
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, path) DO UPDATE SET views = rollup_page_views.views + EXCLUDED.views
)""",
)
