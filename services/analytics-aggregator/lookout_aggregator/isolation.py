"""Finding the records that make a write fail: bisect the batch until each is alone.

A batch that fails with anything but a transient error is split in halves and each half
written on its own, recursively; a record that still fails alone is isolated with the
exception that refused it. The rest is written, so no record can hold back the records
around it. With k bad records in n, that costs at most about 2·k·log2(n) extra writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Item = TypeVar("Item")


@dataclass(frozen=True)
class Isolated(Generic[Item]):
    """A record that failed when written alone, and why."""

    item: Item
    error: Exception


@dataclass
class Outcome(Generic[Item]):
    written: int = 0  # what the successful writes returned, summed
    isolated: list[Isolated[Item]] = field(default_factory=list)


async def write_isolating(
    items: Sequence[Item],
    write: Callable[[Sequence[Item]], Awaitable[int]],
    is_transient: Callable[[Exception], bool],
) -> Outcome[Item]:
    """Write `items`; on a non-transient failure, bisect until the failing items are alone.

    `write` must be atomic (all of its items or none) and idempotent, since a half may
    have been written before its sibling failed. Transient errors are re-raised: `write`
    is expected to have retried them already, so one arriving here means "give up".
    """
    outcome: Outcome[Item] = Outcome()
    await _bisect(items, write, is_transient, outcome)
    return outcome


async def _bisect(
    items: Sequence[Item],
    write: Callable[[Sequence[Item]], Awaitable[int]],
    is_transient: Callable[[Exception], bool],
    outcome: Outcome[Item],
) -> None:
    if not items:
        return
    try:
        outcome.written += await write(items)
        return
    except Exception as error:  # any failure a record may have caused is bisected below
        if is_transient(error):
            raise
        if len(items) == 1:
            outcome.isolated.append(Isolated(items[0], error))
            return
    middle = len(items) // 2
    await _bisect(items[:middle], write, is_transient, outcome)
    await _bisect(items[middle:], write, is_transient, outcome)
