"""Percentiles from log-spaced histogram bins are within 2.5 % of the exact nearest-rank
percentile of the samples, for every shape of data the pipeline measures."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from lookout_dashboard.analysis.histogram import ZERO_BIN, bin_of, percentile

PERCENTILES = (1, 5, 25, 50, 75, 90, 95, 99, 99.9, 100)


def exact(samples: list[float], p: float) -> float:
    """The nearest-rank percentile, straight from its definition."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered) - 1e-9))
    return ordered[rank - 1]


def binned(samples: list[float]) -> list[tuple[int, int]]:
    return list(Counter(bin_of(value) for value in samples).items())


def _distributions() -> dict[str, list[float]]:
    draw = random.Random(20261130)
    return {
        "load times (lognormal ms)": [draw.lognormvariate(7, 0.8) for _ in range(5000)],
        "api times (exponential ms)": [draw.expovariate(1 / 120) for _ in range(3000)],
        "uniform 0-10 s": [draw.uniform(0, 10_000) for _ in range(2000)],
        "cls (mostly zero, below 1)": [
            0.0 if draw.random() < 0.4 else draw.betavariate(1.2, 12) for _ in range(4000)
        ],
        "tiny values": [draw.uniform(1e-6, 1e-3) for _ in range(1000)],
        "bimodal": [
            draw.gauss(80, 5) if draw.random() < 0.7 else draw.gauss(2400, 300) for _ in range(3000)
        ],
        "a few samples": [draw.uniform(1, 500) for _ in range(7)],
        "one sample": [42.0],
    }


@pytest.mark.parametrize("name", list(_distributions()))
def test_percentile_is_within_one_percent_of_the_exact_nearest_rank(name: str) -> None:
    samples = [max(value, 0.0) for value in _distributions()[name]]
    bins = binned(samples)
    for p in PERCENTILES:
        expected = exact(samples, p)
        found = percentile(bins, p)
        assert found is not None
        if expected <= 1e-9:
            assert found == 0.0, (name, p)
        else:
            assert abs(found - expected) <= 0.025 * expected, (name, p, found, expected)


def test_zeros_are_exactly_zero_and_sort_first() -> None:
    samples = [0.0] * 60 + [0.05] * 40
    bins = binned(samples)
    assert (ZERO_BIN, 60) in bins
    assert percentile(bins, 50) == 0.0
    assert percentile(bins, 60) == 0.0
    assert abs(percentile(bins, 61) - 0.05) <= 0.0005


def test_counts_of_the_same_bin_in_several_rows_add_up() -> None:
    # One row per hour: the same bins repeat.
    hourly = [(bin_of(100.0), 3), (bin_of(200.0), 1), (bin_of(100.0), 2), (bin_of(300.0), 4)]
    # 100 x5, 200 x1, 300 x4: the median (rank 5 of 10) is 100, p60 is 200.
    assert abs(percentile(hourly, 50) - 100) <= 2.5
    assert abs(percentile(hourly, 60) - 200) <= 5
    assert abs(percentile(hourly, 61) - 300) <= 7.5


def test_no_samples_has_no_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([(bin_of(10.0), 0)], 95) is None


@pytest.mark.parametrize("p", [0, -1, 100.5])
def test_a_percentile_outside_0_to_100_is_refused(p: float) -> None:
    with pytest.raises(ValueError, match="percentile must be in"):
        percentile([(1, 1)], p)
