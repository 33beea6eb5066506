"""Search rollups shared by the aggregator (which counts them) and dashboard-api (which
serves them)."""

from __future__ import annotations

from typing import NamedTuple


class ResultsBin(NamedTuple):
    """A results-count bin: its name and the largest count it holds (None: no limit)."""

    name: str
    most: int | None


# The bins of `rollup_search_results.bin`, in the order the dashboard shows them. Changing
# them needs a migration of the stored bins: rows keep the name they were counted under.
SEARCH_RESULT_BINS: tuple[ResultsBin, ...] = (
    ResultsBin("0", 0),
    ResultsBin("1", 1),
    ResultsBin("2-5", 5),
    ResultsBin("6-10", 10),
    ResultsBin("11-20", 20),
    ResultsBin("21-50", 50),
    ResultsBin("51-100", 100),
    ResultsBin(">100", None),
)
