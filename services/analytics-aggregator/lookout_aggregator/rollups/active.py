"""People active per local day, ISO week and month: memberships (per person) and their
totals (shared).

A total grows only by the memberships this batch really inserted (`RETURNING`, staged in
`pg_temp.lookout_batch_active` for the shared statement), so a person active twice in a
period counts once. An event on the person's `active_day` (the latest local day whose
memberships were stored with analytics_people, before this batch) adds nothing and is
skipped: most events of an active person, each of which cost three index probes."""

from lookout_aggregator.rollups import Fragment

ACTIVE = Fragment(
    "active",
    sql="""
active AS (
    INSERT INTO active_periods (period, start, actor)
    SELECT DISTINCT period, start, actor
    FROM new CROSS JOIN LATERAL (VALUES ('day', day),
                                        ('week', date_trunc('week', day)::date),
                                        ('month', date_trunc('month', day)::date))
                               AS periods (period, start)
    WHERE actor IS NOT NULL AND day IS DISTINCT FROM known_day
    ORDER BY 1, 2, 3
    ON CONFLICT DO NOTHING
    RETURNING period, start
),
active_staged AS (
    INSERT INTO pg_temp.lookout_batch_active (period, start) SELECT period, start FROM active
)""",
    shared="""
activated AS (
    DELETE FROM pg_temp.lookout_batch_active RETURNING period, start
),
active_totals AS (
    INSERT INTO rollup_active_totals (period, start, actives)
    SELECT period, start, count(*) FROM activated GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (period, start)
    DO UPDATE SET actives = rollup_active_totals.actives + EXCLUDED.actives
)""",
)
