"""People active per local day, ISO week and month: memberships and their totals.

A total grows only by the memberships this batch really inserted (`RETURNING`), so a
person active twice in a period counts once."""

from lookout_aggregator.rollups import Fragment

ACTIVE = Fragment(
    "active",
    """
active AS (
    INSERT INTO active_periods (period, start, actor)
    SELECT DISTINCT period, start, actor
    FROM new CROSS JOIN LATERAL (VALUES ('day', day),
                                        ('week', date_trunc('week', day)::date),
                                        ('month', date_trunc('month', day)::date))
                               AS periods (period, start)
    WHERE actor IS NOT NULL
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
    RETURNING period, start
),
active_totals AS (
    INSERT INTO rollup_active_totals (period, start, actives)
    SELECT period, start, count(*) FROM active GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (period, start)
    DO UPDATE SET actives = rollup_active_totals.actives + EXCLUDED.actives
)""",
)
