"""The batch statement is built from one fragment per rollup family."""

from __future__ import annotations

import re

from lookout_aggregator.rollups import literal, names
from lookout_aggregator.rollups.search import results_bin
from lookout_aggregator.store import CORE, FAMILIES, STORE_BATCH, compose
from lookout_common.contracts.search import SEARCH_RESULT_BINS

CTE_NAME = re.compile(r"^(\w+) AS (?:MATERIALIZED )?\(", re.MULTILINE)


def test_every_family_is_in_the_statement_once_with_its_own_cte_names() -> None:
    seen: list[str] = []
    for fragment in (CORE, *FAMILIES):
        found = CTE_NAME.findall(fragment.sql)
        assert found, fragment.family
        seen.extend(found)
    assert len(seen) == len(set(seen))
    assert CTE_NAME.findall(STORE_BATCH.removeprefix("WITH ")) == seen
    assert len({fragment.family for fragment in FAMILIES}) == len(FAMILIES)


def test_a_rollup_family_reads_only_the_new_events_and_its_own_ctes() -> None:
    core_names = set(CTE_NAME.findall(CORE.sql))
    for fragment in FAMILIES:
        read = set(re.findall(r"\bFROM (\w+)", fragment.sql)) | set(
            re.findall(r"\bJOIN (\w+)", fragment.sql)
        )
        assert read & core_names <= {"new"}, fragment.family


def test_the_statement_answers_how_many_events_were_new() -> None:
    assert compose([CORE]).rstrip().endswith("SELECT count(*) FROM new")
    assert STORE_BATCH.startswith("WITH batch AS MATERIALIZED")


def test_results_bins_follow_the_shared_bins_in_order() -> None:
    case = results_bin("results")
    positions = [case.index(literal(bin_.name)) for bin_ in SEARCH_RESULT_BINS]
    assert positions == sorted(positions)
    assert "WHEN results = 0 THEN '0' WHEN results = 1 THEN '1' WHEN results <= 5" in case
    assert case.endswith("ELSE '>100' END")
    assert case in STORE_BATCH


def test_literals_are_quoted() -> None:
    assert literal("it's") == "'it''s'"
    assert names("a", "b") == "('a', 'b')"
