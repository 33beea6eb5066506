"""Bisection finds exactly the records a write refuses; the rest is written once."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from lookout_aggregator.isolation import write_isolating


class Table:
    """An atomic, idempotent write that refuses any batch holding a poison item."""

    def __init__(self, poison: set[int], error: type[Exception] = OverflowError) -> None:
        self.poison = poison
        self.error = error
        self.rows: set[int] = set()
        self.writes = 0

    async def write(self, items: Sequence[int]) -> int:
        self.writes += 1
        if self.poison & set(items):
            raise self.error(f"refused one of {len(items)}")
        new = set(items) - self.rows
        self.rows |= new
        return len(new)


def never_transient(error: Exception) -> bool:
    return False


@pytest.mark.parametrize("poison", [set(), {0}, {99}, {37}, {3, 4}, {0, 50, 99}, set(range(100))])
async def test_only_the_poison_records_are_isolated(poison: set[int]) -> None:
    table = Table(poison)
    outcome = await write_isolating(list(range(100)), table.write, never_transient)
    assert sorted(isolated.item for isolated in outcome.isolated) == sorted(poison)
    assert table.rows == set(range(100)) - poison
    assert outcome.written == 100 - len(poison)
    assert all(isinstance(isolated.error, OverflowError) for isolated in outcome.isolated)


async def test_one_poison_record_costs_a_logarithmic_number_of_writes() -> None:
    table = Table({4321})
    await write_isolating(list(range(5000)), table.write, never_transient)
    assert table.writes <= 2 * 13 + 1  # two writes per level of a 5,000-record tree, plus one


async def test_a_transient_error_is_raised_not_bisected() -> None:
    table = Table({5}, error=ConnectionResetError)
    with pytest.raises(ConnectionResetError):
        await write_isolating(list(range(10)), table.write, lambda e: isinstance(e, OSError))
    assert table.writes == 1


async def test_an_empty_batch_writes_nothing() -> None:
    table = Table(set())
    outcome = await write_isolating([], table.write, never_transient)
    assert (outcome.written, outcome.isolated, table.writes) == (0, [], 0)
