"""The reference funnel matcher (the dashboard's Python matcher before funnels moved into SQL,
kept in tests/support to check the SQL against): people who did the steps in order within the
window from their first step, measured along their deepest path; the numbers below are worked
out by hand. test_funnel_journey_sql.py holds the SQL to the same answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from support.matchers import FunnelEvent, funnel, furthest_path

from lookout_dashboard.analysis.funnels import FunnelError, FunnelStep

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
BOOKING = [
    FunnelStep(event="search"),
    FunnelStep(event="hotel_view"),
    FunnelStep(event="booking_attempt"),
    FunnelStep(event="booking_completed"),
]


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def event(minutes: float, name: str, **properties: object) -> FunnelEvent:
    return FunnelEvent(at(minutes), name, properties)


def test_booking_funnel_counts_conversions_drop_off_and_median_times() -> None:
    people = {
        # All four steps: 5, 5 and 10 minutes apart.
        "alice": [
            event(0, "search"),
            event(5, "hotel_view"),
            event(10, "booking_attempt"),
            event(20, "booking_completed"),
        ],
        # Steps 1-2, two minutes apart.
        "bob": [event(0, "search"), event(2, "hotel_view")],
        # The hotel view came before the search, so only step 1 counts.
        "carol": [event(0, "hotel_view"), event(1, "search"), event(3, "booking_attempt")],
        # Steps 1-2 (30 minutes); the attempt at 70 minutes is past the hour.
        "dave": [event(0, "search"), event(30, "hotel_view"), event(70, "booking_attempt")],
        # Never searched: not in the funnel at all.
        "erin": [event(0, "hotel_view"), event(1, "booking_attempt")],
    }
    rows = funnel(people, BOOKING, HOUR)
    assert [row.step for row in rows] == [1, 2, 3, 4]
    assert [row.event for row in rows] == [step.event for step in BOOKING]
    assert [row.people for row in rows] == [4, 3, 1, 1]
    assert [row.conversion_from_previous for row in rows] == [None, 0.75, 1 / 3, 1.0]
    assert [row.conversion_from_start for row in rows] == [1.0, 0.75, 0.25, 0.25]
    assert [row.drop_off for row in rows] == [0, 1, 2, 0]
    # Step 2: median of 300 s (alice), 120 s (bob), 1800 s (dave).
    assert [row.median_seconds_from_previous for row in rows] == [None, 300.0, 300.0, 600.0]


def test_median_of_an_even_number_of_people_is_the_mean_of_the_middle_two() -> None:
    people = {
        name: [event(0, "search"), event(minutes, "hotel_view")]
        for name, minutes in [("a", 1), ("b", 2), ("c", 4), ("d", 50)]
    }
    rows = funnel(people, BOOKING[:2], HOUR)
    assert rows[1].median_seconds_from_previous == 180.0


def test_later_search_that_reaches_further_is_the_one_that_counts() -> None:
    events = [
        event(0, "search"),
        event(90, "search"),
        event(100, "hotel_view"),
        event(130, "booking_attempt"),
    ]
    assert furthest_path(events, BOOKING, HOUR) == [at(90), at(100), at(130)]
    rows = funnel({"frank": events}, BOOKING, HOUR)
    assert [row.people for row in rows] == [1, 1, 1, 0]
    assert [row.median_seconds_from_previous for row in rows] == [None, 600.0, 1800.0, None]


def test_equally_deep_starts_keep_the_earliest() -> None:
    events = [
        event(0, "search"),
        event(10, "hotel_view"),
        event(20, "search"),
        event(25, "hotel_view"),
    ]
    assert furthest_path(events, BOOKING, HOUR) == [at(0), at(10)]
    assert funnel({"grace": events}, BOOKING, HOUR)[1].median_seconds_from_previous == 600.0


def test_each_step_takes_the_earliest_match_after_the_previous() -> None:
    events = [
        event(0, "search"),
        event(5, "hotel_view"),
        event(8, "hotel_view"),
        event(10, "booking_attempt"),
    ]
    assert furthest_path(events, BOOKING, HOUR) == [at(0), at(5), at(10)]


def test_window_is_measured_from_the_first_step_and_includes_its_end() -> None:
    on_the_hour = [event(0, "search"), event(60, "hotel_view")]
    just_after = [event(0, "search"), event(60 + 1 / 60, "hotel_view")]
    # 40 minutes after the view but 80 after the search: out of the window.
    late_attempt = [event(0, "search"), event(40, "hotel_view"), event(80, "booking_attempt")]
    rows = funnel(
        {"on_the_hour": on_the_hour, "just_after": just_after, "late": late_attempt},
        BOOKING,
        HOUR,
    )
    assert [row.people for row in rows] == [3, 2, 0, 0]
    assert [row.drop_off for row in rows] == [0, 1, 2, 0]
    assert rows[1].median_seconds_from_previous == 3000.0


def test_steps_out_of_order_do_not_count() -> None:
    events = [
        event(0, "booking_attempt"),
        event(1, "hotel_view"),
        event(2, "search"),
        event(3, "booking_completed"),
    ]
    assert furthest_path(events, BOOKING, HOUR) == [at(2)]


def test_events_given_out_of_time_order_are_put_in_order() -> None:
    events = [event(10, "booking_attempt"), event(0, "search"), event(5, "hotel_view")]
    assert furthest_path(events, BOOKING, HOUR) == [at(0), at(5), at(10)]


def test_equal_timestamps_keep_the_order_they_were_given_in() -> None:
    in_order = [event(0, "search"), event(0, "hotel_view")]
    reversed_order = [event(0, "hotel_view"), event(0, "search")]
    assert furthest_path(in_order, BOOKING, HOUR) == [at(0), at(0)]
    assert furthest_path(reversed_order, BOOKING, HOUR) == [at(0)]


def test_property_filters_must_all_hold() -> None:
    steps = [
        FunnelStep(event="search"),
        FunnelStep(event="hotel_view", filters={"city": "Lisbon", "stars": 4}),
        FunnelStep(event="booking_attempt", filters={"paid": True}),
    ]
    people = {
        # Porto does not match; the Lisbon view does (4.0 equals 4); paid=1 is not paid=True.
        "matching": [
            event(0, "search"),
            event(1, "hotel_view", city="Porto", stars=4),
            event(2, "hotel_view", city="Lisbon", stars=4.0),
            event(3, "booking_attempt", paid=1),
            event(4, "booking_attempt", paid=True),
        ],
        # The view lacks "stars", so step 2 never happens.
        "missing_key": [
            event(0, "search"),
            event(1, "hotel_view", city="Lisbon"),
            event(2, "booking_attempt", paid=True),
        ],
        # "4" is text, not the number 4.
        "text_value": [event(0, "search"), event(1, "hotel_view", city="Lisbon", stars="4")],
    }
    rows = funnel(people, steps, HOUR)
    assert [row.people for row in rows] == [3, 1, 1]
    assert [row.median_seconds_from_previous for row in rows] == [None, 120.0, 120.0]
    assert furthest_path(people["matching"], steps, HOUR) == [at(0), at(2), at(4)]


def test_filters_on_the_first_step_choose_the_start() -> None:
    steps = [FunnelStep(event="search", filters={"source": "ad"}), FunnelStep(event="hotel_view")]
    events = [
        event(0, "search", source="organic"),
        event(1, "hotel_view"),
        event(2, "search", source="ad"),
        event(9, "hotel_view"),
    ]
    assert furthest_path(events, steps, HOUR) == [at(2), at(9)]


def test_a_step_repeated_needs_a_second_event() -> None:
    steps = [FunnelStep(event="search"), FunnelStep(event="search")]
    rows = funnel(
        {"once": [event(0, "search")], "twice": [event(0, "search"), event(3, "search")]},
        steps,
        HOUR,
    )
    assert [row.people for row in rows] == [2, 1]
    assert rows[1].median_seconds_from_previous == 180.0


def test_person_who_never_does_step_one_is_not_counted() -> None:
    rows = funnel(
        {"erin": [event(0, "hotel_view"), event(1, "booking_attempt")], "nobody": []},
        BOOKING,
        HOUR,
    )
    assert [row.people for row in rows] == [0, 0, 0, 0]
    assert [row.conversion_from_previous for row in rows] == [None, None, None, None]
    assert [row.conversion_from_start for row in rows] == [None, None, None, None]
    assert [row.drop_off for row in rows] == [0, 0, 0, 0]
    assert [row.median_seconds_from_previous for row in rows] == [None, None, None, None]


def test_single_step_funnel_counts_everyone_who_did_it() -> None:
    rows = funnel(
        {"a": [event(0, "search"), event(1, "search")], "b": [event(0, "hotel_view")]},
        BOOKING[:1],
        HOUR,
    )
    assert len(rows) == 1
    assert rows[0].people == 1
    assert rows[0].conversion_from_start == 1.0


def test_answer_rows_are_camel_case() -> None:
    row = funnel({"a": [event(0, "search")]}, BOOKING[:2], HOUR)[1]
    assert row.model_dump(by_alias=True) == {
        "step": 2,
        "event": "hotel_view",
        "people": 0,
        "conversionFromPrevious": 0.0,
        "conversionFromStart": 0.0,
        "dropOff": 1,
        "medianSecondsFromPrevious": None,
    }


def test_step_filters_read_from_json() -> None:
    step = FunnelStep.model_validate({"event": "booking_attempt", "filters": {"paid": True}})
    assert step.filters == {"paid": True}
    assert furthest_path([event(0, "booking_attempt", paid=True)], [step], HOUR) == [at(0)]


def test_funnel_without_steps_or_with_an_empty_window_is_refused() -> None:
    with pytest.raises(FunnelError, match="steps"):
        funnel({}, [], HOUR)
    with pytest.raises(FunnelError, match="window"):
        funnel({}, BOOKING, timedelta(0))


def test_only_step_one_events_before_starts_before_start_a_path() -> None:
    # The range ends at minute 10. Step 1's event name comes back as step 3: the page view
    # at minute 12 may finish a path started earlier, but starts none of its own.
    steps = [FunnelStep(event="page_view"), FunnelStep(event="booking_attempt")]
    steps.append(FunnelStep(event="page_view"))
    late = {"late": [event(12, "page_view"), event(13, "booking_attempt"), event(14, "page_view")]}
    assert [r.people for r in funnel(late, steps, HOUR, starts_before=at(10))] == [0, 0, 0]
    assert [r.people for r in funnel(late, steps, HOUR)] == [1, 1, 1]
    early = {"early": [event(5, "page_view"), event(11, "booking_attempt"), event(12, "page_view")]}
    assert [r.people for r in funnel(early, steps, HOUR, starts_before=at(10))] == [1, 1, 1]
