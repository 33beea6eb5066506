"""The batch's two statements are built from one fragment per rollup family: per-person
CTEs in the first, the shared rows every replica adds to in the second."""

from __future__ import annotations

import re

from lookout_aggregator.rollups import literal, names
from lookout_aggregator.rollups.search import results_bin
from lookout_aggregator.store import CORE, FAMILIES, STAGED, STORE_EVENTS, STORE_ROLLUPS, compose
from lookout_common.contracts.search import SEARCH_RESULT_BINS

CTE_NAME = re.compile(r"^(\w+) AS (?:MATERIALIZED )?\(", re.MULTILINE)


def test_every_family_is_in_the_statements_once_with_its_own_cte_names() -> None:
    first: list[str] = []
    second: list[str] = []
    for fragment in (CORE, STAGED, *FAMILIES):
        found = CTE_NAME.findall(fragment.sql) + CTE_NAME.findall(fragment.shared)
        assert found, fragment.family
        first.extend(CTE_NAME.findall(fragment.sql))
        second.extend(CTE_NAME.findall(fragment.shared))
    assert len(first) == len(set(first))
    assert len(second) == len(set(second))
    assert CTE_NAME.findall(STORE_EVENTS.removeprefix("WITH ")) == first
    assert CTE_NAME.findall(STORE_ROLLUPS.removeprefix("WITH ")) == second
    assert len({fragment.family for fragment in FAMILIES}) == len(FAMILIES)


def test_a_rollup_family_reads_only_the_new_events_and_its_own_ctes() -> None:
    core_names = set(CTE_NAME.findall(CORE.sql))
    for fragment in FAMILIES:
        for sql in (fragment.sql, fragment.shared):
            read = set(re.findall(r"\bFROM (\w+)", sql)) | set(re.findall(r"\bJOIN (\w+)", sql))
            assert read & core_names <= {"new"}, fragment.family


def test_shared_rows_are_written_by_the_second_statement_only() -> None:
    """Rows every replica adds to are locked only from the short second statement to the
    commit; the first statement writes the batch's own people's rows and the raw rows."""
    shared = {
        "rollup_event_counts",
        "rollup_event_hours",
        "rollup_page_views",
        "rollup_active_totals",
        "rollup_bookings",
        "rollup_search_terms",
        "rollup_search_filters",
        "rollup_search_results",
        "rollup_values",
        "rollup_values_daily",
        "rollup_errors",
        "rollup_geo",
    }
    written_first = set(re.findall(r"INSERT INTO (\w+)", STORE_EVENTS))
    written_second = set(re.findall(r"INSERT INTO (\w+)", STORE_ROLLUPS))
    assert written_second == shared
    assert not written_first & shared
    assert {"event_ids", "user_analytics", "analytics_people", "person_events"} <= written_first


def test_the_statements_answer_how_many_events_were_new() -> None:
    assert compose([CORE.sql]).rstrip().endswith("SELECT count(*) FROM new")
    assert STORE_EVENTS.startswith("WITH batch AS MATERIALIZED")
    assert STORE_ROLLUPS.startswith("WITH new AS (\n    DELETE FROM pg_temp.lookout_batch_new")


def test_results_bins_follow_the_shared_bins_in_order() -> None:
    case = results_bin("results")
    positions = [case.index(literal(bin_.name)) for bin_ in SEARCH_RESULT_BINS]
    assert positions == sorted(positions)
    assert "WHEN results = 0 THEN '0' WHEN results = 1 THEN '1' WHEN results <= 5" in case
    assert case.endswith("ELSE '>100' END")
    assert case in STORE_ROLLUPS


def test_literals_are_quoted() -> None:
    assert literal("it's") == "'it''s'"
    assert names("a", "b") == "('a', 'b')"
