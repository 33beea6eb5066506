"""Searches per normalised term (and zero-result ones), filter keys used, results-count
bins; per UTC hour."""

from lookout_aggregator.rollups import Fragment, literal
from lookout_common.contracts.events import EventType
from lookout_common.contracts.search import SEARCH_RESULT_BINS


def results_bin(column: str) -> str:
    """A CASE naming the `SEARCH_RESULT_BINS` bin of the count in `column`: a bin of one
    count matches it exactly, the others take everything up to their largest count (so a
    negative or fractional count lands where it always did)."""
    branches, lowest = [], 0
    for bin_ in SEARCH_RESULT_BINS:
        if bin_.most is None:
            continue
        test = "=" if bin_.most == lowest else "<="
        branches.append(f"WHEN {column} {test} {bin_.most} THEN {literal(bin_.name)}")
        lowest = bin_.most + 1
    unbounded = next(bin_.name for bin_ in SEARCH_RESULT_BINS if bin_.most is None)
    return f"CASE {' '.join(branches)} ELSE {literal(unbounded)} END"


SEARCH = Fragment(
    "search",
    shared=f"""
searches AS MATERIALIZED (
    SELECT hour, props,
           left(coalesce(nullif(props ->> 'queryNormalized', ''),
                         lower(btrim(coalesce(props ->> 'query', '')))), 200) AS term,
           CASE WHEN jsonb_typeof(props -> 'resultsCount') = 'number'
                THEN (props ->> 'resultsCount')::numeric END AS results
    FROM new WHERE event = {literal(EventType.SEARCH_PERFORMED)}
),
search_terms AS (
    INSERT INTO rollup_search_terms (bucket, term, searches, zero_results)
    SELECT hour, term, count(*), count(*) FILTER (WHERE results = 0)
    FROM searches GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, term) DO UPDATE SET
        searches = rollup_search_terms.searches + EXCLUDED.searches,
        zero_results = rollup_search_terms.zero_results + EXCLUDED.zero_results
),
search_filters AS (
    INSERT INTO rollup_search_filters (bucket, filter, searches)
    SELECT hour, left(key, 200), count(*)
    FROM searches CROSS JOIN LATERAL jsonb_object_keys(
        CASE WHEN jsonb_typeof(props -> 'filters') = 'object' THEN props -> 'filters'
             ELSE '{{}}' END) AS key
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, filter)
    DO UPDATE SET searches = rollup_search_filters.searches + EXCLUDED.searches
),
search_results AS (
    INSERT INTO rollup_search_results (bucket, bin, searches)
    SELECT hour, {results_bin("results")}, count(*)
    FROM searches WHERE results IS NOT NULL
    GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (bucket, bin)
    DO UPDATE SET searches = rollup_search_results.searches + EXCLUDED.searches
)""",
)
