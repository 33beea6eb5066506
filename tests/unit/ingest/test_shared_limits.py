"""The rate limits ingest's workers share: one table of token buckets in a file, mapped by
every worker. Limiters on it give the in-process limiter's answers, spend one budget
across processes, forget the bucket used longest ago when a client's slots are taken,
start a slot that holds nonsense full again, and fall back to their own buckets (never an
error) when the file is broken."""

from __future__ import annotations

import multiprocessing
import os
import random
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from lookout_ingest.limits import RateLimiter
from lookout_ingest.shared_limits import SLOT, BucketTable, SharedRateLimiter, client_hash

BURST = 20_000


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def table_path(tmp_path: Path) -> Path:
    path = tmp_path / "rate-limits"
    BucketTable.create(path)
    return path


def shared(path: Path, clock: Clock, rate: float = 10, burst: int = 100) -> SharedRateLimiter:
    return SharedRateLimiter("write_key", rate, burst, BucketTable.open(path), clock=clock)


def failures() -> float:
    return REGISTRY.get_sample_value("lookout_ingest_shared_limit_failures_total") or 0.0


def test_a_shared_limiter_answers_as_the_in_process_one(table_path: Path) -> None:
    clock = Clock()
    local = RateLimiter(10, 100, clock=clock)
    on_table = shared(table_path, clock)
    draw = random.Random(16)
    for _ in range(2000):
        clock.now += draw.choice([0.0, 0.01, 0.2, 1.5])
        client, cost = draw.randrange(5), draw.randint(1, 60)
        assert on_table.retry_after(client, cost) == local.retry_after(client, cost)


def test_two_workers_spend_one_budget(table_path: Path) -> None:
    clock = Clock()
    first, second = shared(table_path, clock), shared(table_path, clock)
    assert first.retry_after("key-1", 60) == 0
    assert second.retry_after("key-1", 60) == 2  # 40 left, 20 more take 2 s at 10/s
    clock.now += 2
    assert second.retry_after("key-1", 60) == 0
    assert first.retry_after("key-1", 1) == 1
    # Another client, and the same client under the other limit, have their own buckets.
    assert first.retry_after("key-2", 100) == 0
    ip = SharedRateLimiter("ip", 10, 100, BucketTable.open(table_path), clock=clock)
    assert ip.retry_after("key-1", 100) == 0


def _hammer(path: str, start: Any, admitted: multiprocessing.Queue) -> None:
    limiter = SharedRateLimiter("write_key", 0.001, BURST, BucketTable.open(Path(path)))
    start.wait()
    admitted.put(sum(1 for _ in range(2 * BURST) if limiter.retry_after("one-key", 1) == 0))


def test_processes_taking_at_once_never_spend_more_than_the_burst(table_path: Path) -> None:
    spawn = multiprocessing.get_context("spawn")
    admitted: multiprocessing.Queue = spawn.Queue()
    start = spawn.Barrier(3)
    workers = [
        spawn.Process(target=_hammer, args=(str(table_path), start, admitted)) for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    counts = [admitted.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    assert all(counts), f"a process took nothing while the others did: {counts}"
    assert sum(counts) == BURST


def test_a_client_whose_slots_are_taken_evicts_the_bucket_used_longest_ago(tmp_path) -> None:
    path = tmp_path / "small"
    BucketTable.create(path, slots=8)
    clock = Clock()
    limiter = shared(path, clock)
    for client in range(8):  # eight probes cover the whole table: every slot is taken
        clock.now += 1
        assert limiter.retry_after(client, 100) == 0
    clock.now += 1
    assert limiter.retry_after("newcomer", 100) == 0  # took client 0's slot
    assert limiter.retry_after(0, 100) == 0  # client 0 starts full again, in client 1's
    for client in range(2, 8):  # the others kept their empty buckets
        assert limiter.retry_after(client, 100) > 0


@pytest.mark.parametrize(
    ("tokens", "updated"),
    [(float("nan"), 0.0), (-1e9, 0.0), (5.0, float("inf")), (5.0, float("nan"))],
)
def test_a_slot_holding_nonsense_starts_full(table_path: Path, tokens, updated) -> None:
    clock = Clock()
    limiter = shared(table_path, clock)
    assert limiter.retry_after("key-1", 100) == 0
    key = client_hash("write_key", "key-1")
    with open(table_path, "r+b") as file:  # find the client's slot and write nonsense in it
        data = bytearray(file.read())
        for offset in range(0, len(data), SLOT.size):
            if SLOT.unpack_from(data, offset)[0] == key:
                SLOT.pack_into(data, offset, key, tokens, updated)
        file.seek(0)
        file.write(data)
    assert limiter.retry_after("key-1", 100) == 0
    assert limiter.retry_after("key-1", 1) == 1


def test_a_broken_table_falls_back_to_the_workers_own_buckets(table_path: Path) -> None:
    clock = Clock()
    limiter = shared(table_path, clock)
    before = failures()
    os.truncate(table_path, 100)  # another process cut the file short
    assert limiter.retry_after("key-1", 100) == 0
    assert limiter.retry_after("key-1", 1) == 1  # the worker's own bucket still limits
    assert failures() == before + 2


def test_a_file_that_holds_no_table_is_refused_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "not-a-table"
    path.write_bytes(b"x" * 25)
    with pytest.raises(Exception, match="not a table of buckets"):
        BucketTable.open(path)
