"""The funnel matcher's sort: events by person, then time, stable for equal times, whether
person and time fit one 63-bit key or not."""

from __future__ import annotations

import numpy as np

from lookout_dashboard.analysis.funnel_paths import time_order


def test_events_sort_by_person_then_time_keeping_ties_in_order() -> None:
    rng = np.random.default_rng(16)
    person = np.sort(rng.integers(0, 50, 5_000))
    for span in (10, 1 << 40, 1 << 61):  # few times (many ties); wide; too wide for one key
        times = rng.integers(0, span, 5_000)
        expected = np.lexsort((times, person))
        assert np.array_equal(time_order(person, times), expected), span


def test_no_events() -> None:
    empty = np.zeros(0, dtype=np.int64)
    assert len(time_order(empty, empty)) == 0
