"""Journeys from a start step: the most common paths and the Sankey graph of all of them, with
repeats collapsed and an exit node where sequences end; the numbers are worked out by hand.
Paths are taken by the reference matcher (tests/support, the dashboard's Python matcher before
journeys moved into SQL) and ranked and drawn by the service's own rank_paths."""

from __future__ import annotations

import pytest
from support.matchers import journeys, path_from

from lookout_dashboard.analysis.journeys import EXIT, JourneyError

HOME = "page:/"
SEARCH = "page:/search"
HOTEL = "page:/hotel"
ATTEMPT = "event:booking_attempt"
COMPLETED = "event:booking_completed"

SESSIONS = [
    [HOME, SEARCH, SEARCH, HOTEL, ATTEMPT, COMPLETED],  # search hotel attempt completed
    [SEARCH, HOTEL, ATTEMPT, COMPLETED, HOME],  # the same, cut at depth 4
    [SEARCH, HOTEL, HOTEL, SEARCH],  # search hotel search, then the session ends
    [SEARCH, HOTEL],  # search hotel, ends
    [HOME, HOTEL],  # never searched: not counted
    [SEARCH],  # search, ends
    [SEARCH, SEARCH, SEARCH],  # one search after collapsing, ends
    [HOTEL, SEARCH, HOTEL, SEARCH, HOTEL, ATTEMPT],  # from the first search: cut at depth 4
]


def test_top_paths_by_count_then_by_steps() -> None:
    result = journeys(SESSIONS, SEARCH)
    assert result.start == SEARCH
    assert result.depth == 4
    assert result.sequences == 7
    assert [(path.steps, path.count) for path in result.paths] == [
        ([SEARCH], 2),
        ([SEARCH, HOTEL, ATTEMPT, COMPLETED], 2),
        ([SEARCH, HOTEL], 1),
        ([SEARCH, HOTEL, SEARCH], 1),
        ([SEARCH, HOTEL, SEARCH, HOTEL], 1),
    ]


def test_top_keeps_only_the_most_common_paths() -> None:
    result = journeys(SESSIONS, SEARCH, top=3)
    assert [(path.steps, path.count) for path in result.paths] == [
        ([SEARCH], 2),
        ([SEARCH, HOTEL, ATTEMPT, COMPLETED], 2),
        ([SEARCH, HOTEL], 1),
    ]
    # The Sankey graph still shows every path.
    assert result.nodes[0].value == 7


def test_sankey_nodes_per_level_with_exits() -> None:
    result = journeys(SESSIONS, SEARCH)
    assert [(node.id, node.level, node.step, node.value) for node in result.nodes] == [
        (f"1:{SEARCH}", 1, SEARCH, 7),
        (f"2:{HOTEL}", 2, HOTEL, 5),
        ("2:(exit)", 2, EXIT, 2),
        (f"3:{ATTEMPT}", 3, ATTEMPT, 2),
        (f"3:{SEARCH}", 3, SEARCH, 2),
        ("3:(exit)", 3, EXIT, 1),
        (f"4:{COMPLETED}", 4, COMPLETED, 2),
        ("4:(exit)", 4, EXIT, 1),
        (f"4:{HOTEL}", 4, HOTEL, 1),
    ]


def test_sankey_links_between_levels() -> None:
    result = journeys(SESSIONS, SEARCH)
    assert [(link.source, link.target, link.value) for link in result.links] == [
        (f"1:{SEARCH}", f"2:{HOTEL}", 5),
        (f"1:{SEARCH}", "2:(exit)", 2),
        (f"2:{HOTEL}", f"3:{ATTEMPT}", 2),
        (f"2:{HOTEL}", f"3:{SEARCH}", 2),
        (f"2:{HOTEL}", "3:(exit)", 1),
        (f"3:{ATTEMPT}", f"4:{COMPLETED}", 2),
        (f"3:{SEARCH}", "4:(exit)", 1),
        (f"3:{SEARCH}", f"4:{HOTEL}", 1),
    ]


def test_every_node_after_the_start_receives_exactly_its_value() -> None:
    result = journeys(SESSIONS, SEARCH)
    incoming: dict[str, int] = {}
    for link in result.links:
        incoming[link.target] = incoming.get(link.target, 0) + link.value
    assert {node.id: node.value for node in result.nodes if node.level > 1} == incoming


def test_full_length_paths_have_no_exit_node() -> None:
    result = journeys([[SEARCH, HOTEL, ATTEMPT]], SEARCH, depth=3)
    assert [node.id for node in result.nodes] == [f"1:{SEARCH}", f"2:{HOTEL}", f"3:{ATTEMPT}"]
    assert len(result.links) == 2


def test_shallow_depth_cuts_paths() -> None:
    result = journeys(SESSIONS, SEARCH, depth=2)
    assert [(path.steps, path.count) for path in result.paths] == [
        ([SEARCH, HOTEL], 5),
        ([SEARCH], 2),
    ]
    assert [(link.source, link.target, link.value) for link in result.links] == [
        (f"1:{SEARCH}", f"2:{HOTEL}", 5),
        (f"1:{SEARCH}", "2:(exit)", 2),
    ]


def test_depth_one_is_the_start_alone() -> None:
    result = journeys(SESSIONS, SEARCH, depth=1)
    assert [(path.steps, path.count) for path in result.paths] == [([SEARCH], 7)]
    assert [node.id for node in result.nodes] == [f"1:{SEARCH}"]
    assert result.links == []


def test_only_consecutive_repeats_collapse() -> None:
    assert path_from([SEARCH, SEARCH, HOTEL, HOTEL, SEARCH, ATTEMPT], SEARCH, 4) == (
        SEARCH,
        HOTEL,
        SEARCH,
        ATTEMPT,
    )


def test_only_the_first_start_in_a_sequence_counts() -> None:
    assert path_from([HOME, SEARCH, HOTEL, HOME, SEARCH, ATTEMPT], SEARCH, 2) == (SEARCH, HOTEL)
    result = journeys([[SEARCH, HOTEL, SEARCH, ATTEMPT]], SEARCH, depth=2)
    assert [(path.steps, path.count) for path in result.paths] == [([SEARCH, HOTEL], 1)]


def test_start_that_never_happens_gives_an_empty_answer() -> None:
    assert path_from([HOME, HOTEL], SEARCH, 4) is None
    result = journeys([[HOME, HOTEL], []], SEARCH)
    assert result.sequences == 0
    assert result.paths == []
    assert result.nodes == []
    assert result.links == []


def test_answer_is_camel_case() -> None:
    answer = journeys([[SEARCH]], SEARCH).model_dump(by_alias=True)
    assert answer == {
        "start": SEARCH,
        "depth": 4,
        "sequences": 1,
        "paths": [{"steps": [SEARCH], "count": 1}],
        "nodes": [
            {"id": f"1:{SEARCH}", "level": 1, "step": SEARCH, "value": 1},
            {"id": "2:(exit)", "level": 2, "step": EXIT, "value": 1},
        ],
        "links": [{"source": f"1:{SEARCH}", "target": "2:(exit)", "value": 1}],
    }


def test_reserved_exit_step_and_bad_limits_are_refused() -> None:
    with pytest.raises(JourneyError, match="reserved"):
        journeys([[SEARCH, EXIT]], SEARCH)
    with pytest.raises(JourneyError, match="reserved"):
        journeys([[SEARCH]], EXIT)
    with pytest.raises(JourneyError, match="depth"):
        journeys([[SEARCH]], SEARCH, depth=0)
    with pytest.raises(JourneyError, match="top"):
        journeys([[SEARCH]], SEARCH, top=0)
