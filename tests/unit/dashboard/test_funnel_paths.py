"""The funnel matcher's sort: events by person, then time, stable for equal times, whether
person and time fit one 63-bit key or not, and whether events come grouped by person or
not; and the numbering of stored records' person keys."""

from __future__ import annotations

import numpy as np

from lookout_dashboard.analysis.funnel_paths import _person_numbers, time_order


def test_events_sort_by_person_then_time_keeping_ties_in_order() -> None:
    rng = np.random.default_rng(16)
    person = np.sort(rng.integers(0, 50, 5_000))
    for span in (10, 1 << 40, 1 << 61):  # few times (many ties); wide; too wide for one key
        times = rng.integers(0, span, 5_000)
        expected = np.lexsort((times, person))
        assert np.array_equal(time_order(person, times), expected), span


def test_events_not_grouped_by_person_sort_the_same() -> None:
    rng = np.random.default_rng(19)
    for people in (50, 70_000):  # one radix pass of 16 bits, and two
        person = rng.integers(0, people, 20_000)
        for span in (10, 1 << 40, 1 << 61):
            times = rng.integers(0, span, 20_000)
            expected = np.lexsort((times, person))
            assert np.array_equal(time_order(person, times), expected), (people, span)


def test_person_keys_are_numbered_equal_exactly_when_equal() -> None:
    rng = np.random.default_rng(17)
    distinct = rng.integers(-(1 << 63), (1 << 63) - 1, 3_000, dtype=np.int64)
    # Keys that share their low 18 bits, all 54 bits tried, or every bit but the sign.
    distinct[:40] = (distinct[:40] >> 18) << 18
    distinct[40:50] = (1 << 62) + np.arange(10, dtype=np.int64) * (1 << 54)
    distinct[50:52] = [5, 5 - (1 << 63)]
    keys = distinct[rng.integers(0, len(distinct), 50_000)]
    numbers = _person_numbers(keys)
    assert numbers.min() == 0
    assert numbers.max() == len(np.unique(keys)) - 1
    first = {}
    for key, number in zip(keys.tolist(), numbers.tolist(), strict=True):
        assert first.setdefault(key, number) == number
    assert len(set(first.values())) == len(first)


def test_no_events() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert len(time_order(empty, empty)) == 0
