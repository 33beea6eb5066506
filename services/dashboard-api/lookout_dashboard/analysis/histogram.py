"""Percentiles from the log-spaced histograms in `rollup_values`.

The aggregator files a value v > 1e-9 under bin i = ceil(log_1.05 v), so that
1.05^(i-1) < v <= 1.05^i, and every value at or below 1e-9 under ZERO_BIN. Bin i
stands for 2 * 1.05^i / 2.05, which is within 2.44 % of any value in it (the
ratio lies between 2 / 2.05 and 2.10 / 2.05; see `lookout_value_bin` in migration 0006).
About 47 bins a decade keep a week of per-page histograms small enough to read in a
few milliseconds; 2.5 % is well inside what a Web Vitals rating or a p95 needs.

`percentile` walks the bins in value order to the bin that holds the nearest-rank
sample, so its answer is within 2.5 % of the exact nearest-rank percentile of the
values that were binned (values at or below 1e-9 come back as exactly 0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

GROWTH = 1.05
ZERO_BIN = -2147483648  # every value <= 1e-9, which stands for 0


def bin_of(value: float) -> int:
    """The bin the aggregator files `value` (>= 0) under."""
    if value <= 1e-9:
        return ZERO_BIN
    return math.ceil(math.log(value) / math.log(GROWTH))


def bin_value(bin_: int) -> float:
    """The value a bin stands for."""
    if bin_ == ZERO_BIN:
        return 0.0
    return 2 * GROWTH**bin_ / (1 + GROWTH)


def bins_by(rows: Iterable[Mapping[str, Any]], column: str) -> dict[Any, list[tuple[int, int]]]:
    """The (bin, n) pairs of `rollup_values` rows, per value of `column` (a metric, a path)."""
    found: dict[Any, list[tuple[int, int]]] = {}
    for row in rows:
        found.setdefault(row[column], []).append((row["bin"], row["n"]))
    return found


def percentile(bins: Iterable[tuple[int, int]], p: float) -> float | None:
    """The nearest-rank `p`-th percentile (0 < p <= 100) of the samples counted in
    (bin, n) pairs, within 2.5 % of the exact one; None without samples.

    A bin may appear more than once (one pair per hour, say): its counts add up.
    """
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    counts: dict[int, int] = {}
    for bin_, n in bins:
        if n > 0:
            counts[bin_] = counts.get(bin_, 0) + n
    total = sum(counts.values())
    if total == 0:
        return None
    # Nearest rank: the smallest sample with at least p % of all samples at or below it.
    # Rounding p * total first keeps ranks such as 99.9 % of 1000 = 999 exact.
    rank = max(1, math.ceil(round(p * total, 9) / 100))
    seen = 0
    for bin_ in sorted(counts):
        seen += counts[bin_]
        if seen >= rank:
            return bin_value(bin_)
    raise AssertionError("unreachable: rank <= total")
