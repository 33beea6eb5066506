"""The greedy funnel match over every person's step events at once, as array operations.

The input is, per person, their step events of one funnel question, packed by Postgres as
one byte string of big-endian records (`RECORD`): the event's time in microseconds (since
2000, as Postgres sends a timestamptz) and a bit mask, bit k - 1 set when the event matches
step k. Sorting them by time is left to this module (cheaper than Postgres sorting every
row by person and time), unless two of a person's events share a time: only their event
ids order those, and Postgres does. The rules are the ones `funnels.py` spells out; here
they are computed for everyone at once, without a loop over events:

- the earliest later event matching step k after any event is a binary search in the
  positions of step k's events (a result of another person does not count);
- from every step-1 event before `to` the chain goes one step at a time, as long as the
  next event lies within the window of the start (times only grow along a chain, so the
  steps within the window are a prefix of it);
- each person's path is their deepest chain, the earliest start among equals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

RECORD = np.dtype([("us", ">i8"), ("marks", ">i4")])
# The aggregator's stored records (step_times, migration 0019): the person key (8 bytes of
# the sha256 of coalesce(user id, anonymous id)), the time as RECORD's, 1 when the user id
# is null. And identity_links as key pairs: the anonymous id's key, the user id's key.
STEP_RECORD = np.dtype([("key", ">i8"), ("us", ">i8"), ("anonymous", "u1")])
LINK = np.dtype([("anonymous", ">i8"), ("user", ">i8")])
# Person keys are numbered through tables of this many slots (see _person_numbers).
_SLOTS = 1 << 18

Int64s = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Paths:
    """Per step (index 0 for step 1): people who reached it, and the step times (from the
    previous step, microseconds) of those who did; none for step 1."""

    reached: list[int]
    step_times: list[Int64s]


def furthest_paths(
    people: Sequence[bytes], steps: int, window_us: int, to_us: int, *, ordered: bool
) -> Paths | None:
    """Every person's deepest path through `steps` steps, from their packed step events.
    Events not `ordered` are sorted by time here; None if two of a person's events share a
    time (only their event ids order them: the caller asks for them `ordered`)."""
    records = np.frombuffer(b"".join(people), dtype=RECORD)
    sizes = [len(events) // RECORD.itemsize for events in people]
    person = np.repeat(np.arange(len(people), dtype=np.int64), sizes)
    times = records["us"].astype(np.int64)
    return match(
        person, times, records["marks"].astype(np.int64), steps, window_us, to_us, ordered=ordered
    )


def match(
    person: Int64s,
    times: Int64s,
    marks: Int64s,
    steps: int,
    window_us: int,
    to_us: int,
    *,
    ordered: bool,
) -> Paths | None:
    """Every person's deepest path, from one array entry per step event: the person (a
    number from 0), the time and the step bits. Events are sorted by person and time here
    (stable: `ordered` events keep their order at equal times); None if not `ordered` and
    two of a person's events share a time."""
    order = time_order(person, times)
    person, times, marks = person[order], times[order], marks[order]
    if not ordered and np.any((times[1:] == times[:-1]) & (person[1:] == person[:-1])):
        return None
    starts = np.flatnonzero((marks & 1 != 0) & (times < to_us))
    owner = person[starts]
    # Starts whose next step-2 event is the same one (or, without any, of one person) form
    # a run: every later step of their paths is the same events, and the run's last start,
    # whose window ends last, reaches deepest. Paths are followed from that start only.
    second = _earliest_later(_with_bit(marks, 1), starts, person) if steps > 1 else owner
    opens = _changes(second, owner)
    firsts = np.flatnonzero(opens)
    ends = np.append(firsts[1:], len(starts))[: len(firsts)] - 1
    last = starts[ends]
    current = last
    depth = np.ones(len(current), dtype=np.int64)
    alive = np.ones(len(current), dtype=bool)
    deadline = times[current] + window_us
    chain = [times[current]]
    for bit in range(1, steps):
        if bit == 1:
            later = second[ends]
        else:
            later = _earliest_later(_with_bit(marks, bit), current, person)
        alive &= (later >= 0) & (times[later] <= deadline)
        current = np.where(alive, later, current)
        depth += alive
        chain.append(times[current])
    # A run's path starts at its earliest start as deep as the last one: the first whose
    # window reaches the deepest step (any, when that is step 1).
    run = np.cumsum(opens) - 1
    reached = np.stack(chain)[depth - 1, np.arange(len(depth))] - window_us
    floor = np.where(depth > 1, reached, np.iinfo(np.int64).min)
    deep_enough = np.flatnonzero(times[starts] >= floor[run])
    first = deep_enough[_changes(run[deep_enough])]
    chain[0] = times[starts[first]]
    chosen = _deepest_earliest(person[last], depth)
    return _tally(depth[chosen], [times_k[chosen] for times_k in chain], steps)


def _changes(*columns: Int64s) -> npt.NDArray[np.bool_]:
    """True where a row differs from the one before in any column (and at the first)."""
    changed = np.zeros(len(columns[0]), dtype=bool)
    changed[:1] = True
    for column in columns:
        changed[1:] |= column[1:] != column[:-1]
    return changed


def _with_bit(marks: Int64s, bit: int) -> Int64s:
    return np.flatnonzero(marks & (1 << bit) != 0)


def time_order(person: Int64s, times: Int64s) -> Int64s:
    """The order that sorts events by person (numbers from 0) and time; stable, so events
    already in order keep it, equal times included. One sort of a combined key when person
    and time fit in 63 bits (4x faster than two keys on 30 days of the bench's 1.65 M step
    events). Events not grouped by person are grouped first by a radix sort of the person
    numbers: on events that arrive about in time order (the aggregator's stored records),
    the combined key is then almost sorted, which the stable sort takes in a few passes
    (on 1.65 M events 60 ms against 600 ms)."""
    if not len(times):
        return np.arange(0, dtype=np.int64)
    grouped = np.arange(len(person), dtype=np.int64)
    if np.any(person[1:] < person[:-1]):
        grouped = _radix_order(person)
        person, times = person[grouped], times[grouped]
    earliest = int(times.min())
    span = int(times.max()) - earliest + 1
    if (int(person[-1]) + 1) * span >= 1 << 62:
        return grouped[np.lexsort((times, person))]
    return grouped[np.argsort(person * span + (times - earliest), kind="stable")]


def _radix_order(numbers: Int64s) -> Int64s:
    """The stable order that sorts non-negative numbers, 16 bits at a time (NumPy's stable
    sort of 16-bit integers is a radix sort, linear in the count)."""
    order = np.arange(len(numbers), dtype=np.int64)
    shift, top = 0, int(numbers.max())
    while True:
        digits = ((numbers[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digits, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


def stored_events(
    chunks: Sequence[tuple[int, bytes]], links: bytes, since_us: int, until_us: int
) -> tuple[Int64s, Int64s, Int64s]:
    """The step events of stored records as `match` takes them (person, time, step bits):
    `chunks` are (step bits of the event name, that name's records), in the order stored;
    the records are kept when their time lies in [since_us, until_us). A record whose user
    id was null counts for the user its anonymous id is linked to in `links`, if any."""
    records = np.frombuffer(b"".join(chunk for _, chunk in chunks), dtype=STEP_RECORD)
    sizes = [len(chunk) // STEP_RECORD.itemsize for _, chunk in chunks]
    marks = np.repeat(np.array([bits for bits, _ in chunks], dtype=np.int64), sizes)
    times = records["us"].astype(np.int64)
    kept = (times >= since_us) & (times < until_us)
    keys = records["key"][kept].astype(np.int64)
    pairs = np.frombuffer(links, dtype=LINK)
    if len(pairs):
        order = np.argsort(pairs["anonymous"])
        anonymous = pairs["anonymous"][order].astype(np.int64)
        # Only anonymous records whose key shares its slot with a linked key are looked up.
        slots = np.zeros(_SLOTS, dtype=bool)
        slots[anonymous & (_SLOTS - 1)] = True
        linked = np.flatnonzero((records["anonymous"][kept] == 1) & slots[keys & (_SLOTS - 1)])
        found = np.minimum(np.searchsorted(anonymous, keys[linked]), len(anonymous) - 1)
        hit = anonymous[found] == keys[linked]
        keys[linked[hit]] = pairs["user"][order][found[hit]]
    return _person_numbers(keys), times[kept], marks[kept]


def _person_numbers(keys: Int64s) -> Int64s:
    """Numbers from 0 for the distinct keys, equal for equal keys, in linear time (sorting
    the keys would cost more than the whole match). Keys are hashes, so their low bits are
    uniform: a key whose slot (its low 18 bits) holds no other key is numbered by its slot;
    the few keys that share a slot are numbered by sorting them alone."""
    slots = keys & (_SLOTS - 1)
    owner = np.zeros(_SLOTS, dtype=np.int64)
    owner[slots] = keys
    numbers = slots.copy()
    shared = np.flatnonzero(owner[slots] != keys)
    if len(shared):
        numbers[shared] = _SLOTS + np.unique(keys[shared], return_inverse=True)[1]
    used = np.zeros(int(numbers.max(initial=0)) + 1, dtype=bool)
    used[numbers] = True
    ranked: Int64s = (np.cumsum(used) - 1)[numbers]
    return ranked


def _earliest_later(positions: Int64s, current: Int64s, person: Int64s) -> Int64s:
    """For each position in `current`, the first of `positions` (ascending) after it that
    belongs to the same person, else -1: one pass from the end carries the nearest of
    `positions` at or after each index."""
    size = len(person)
    upcoming = np.full(size + 1, size, dtype=np.int64)
    upcoming[positions] = positions
    upcoming = np.minimum.accumulate(upcoming[::-1])[::-1]
    later = upcoming[current + 1]
    same = (later < size) & (person[np.minimum(later, size - 1)] == person[current])
    return np.where(same, later, -1)


def _deepest_earliest(owner: Int64s, depth: Int64s) -> Int64s:
    """Of each person's starts (grouped by person in ascending order, each person's in time
    order), the index of the deepest, the earliest among equals; linear, no sort."""
    if not len(owner):
        return np.arange(0, dtype=np.int64)
    first = np.flatnonzero(_changes(owner))
    deepest = np.maximum.reduceat(depth, first)
    group = np.repeat(np.arange(len(first)), np.diff(np.append(first, len(owner))))
    candidates = np.flatnonzero(depth == deepest[group])
    return candidates[_changes(group[candidates])]


def _tally(depth: Int64s, chain: list[Int64s], steps: int) -> Paths:
    reached = [int(np.count_nonzero(depth > step)) for step in range(steps)]
    step_times = [np.empty(0, dtype=np.int64)]
    for step in range(1, steps):
        through = depth > step
        step_times.append(np.sort(chain[step][through] - chain[step - 1][through]))
    return Paths(reached, step_times)
