"""Ingest with LOOKOUT_INGEST_WORKERS=2: two worker processes share one port, each
acknowledges only what Kafka holds, a worker that dies is replaced while the other keeps
answering, and SIGTERM stops them all. They share one budget per write key, and /metrics
on either counts what both served and shows each live worker's CPU time and memory."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import httpx
import psutil
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families
from support.ingest import IngestUnderTest

from lookout_common.infra.metrics import MULTIPROCESS_DIR

pytestmark = pytest.mark.integration


def workers(ingest: IngestUnderTest) -> set[int]:
    """The pids of the worker processes serving ingest's port (uvicorn's supervisor's
    live children that run the app; multiprocessing's own helpers excluded)."""
    assert ingest.service.process is not None
    found = set()
    for child in psutil.Process(ingest.service.process.pid).children():
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                found.add(child.pid)
        except psutil.Error:  # exited, or a zombie not yet reaped by the supervisor
            continue
    return found


def wait_for_workers(ingest: IngestUnderTest, count: int, other_than: set[int]) -> set[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = workers(ingest)
        if len(found) == count and not found & other_than:
            return found
        time.sleep(0.2)
    raise AssertionError(f"workers {workers(ingest)}, wanted {count} new ones")


def batch(count: int) -> list[dict]:
    return [
        {
            "type": "track",
            "event": "search_performed",
            "messageId": uuid.uuid4().hex,
            "anonymousId": f"visitor-{index}",
            "properties": {"query": "thai massage"},
        }
        for index in range(count)
    ]


async def post_batches(ingest: IngestUnderTest, batches: list[list[dict]]) -> list[int]:
    """Each batch POSTed on a connection of its own (so both workers take some)."""

    async def post(events: list[dict]) -> int:
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{ingest.url}/v1/batch", json={"batch": events}, auth=(ingest.write_key, "")
            )
            return response.status_code

    return list(await asyncio.gather(*(post(events) for events in batches)))


async def wait_ready(ingest: IngestUnderTest) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(300):
            try:
                if (await client.get(f"{ingest.url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("ingest not ready again")


async def test_two_workers_share_the_port_and_a_dead_one_is_replaced(ingest_with) -> None:
    ingest = await ingest_with(LOOKOUT_INGEST_WORKERS="2")
    first = wait_for_workers(ingest, 2, other_than=set())

    batches = [batch(20) for _ in range(8)]
    assert await post_batches(ingest, batches) == [200] * 8
    sent = {event["messageId"] for events in batches for event in events}
    published = await ingest.published(expect=len(sent))
    assert set(published) == sent

    # A crashed worker (no shutdown code runs): the supervisor starts a new one.
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    replaced = wait_for_workers(ingest, 2, other_than={victim})
    assert replaced - first, "no new worker was started"
    assert replaced & first == first - {victim}, "the surviving worker was restarted too"
    await wait_ready(ingest)

    later = [batch(20) for _ in range(8)]
    assert await post_batches(ingest, later) == [200] * 8
    sent |= {event["messageId"] for events in later for event in events}
    published = await ingest.published(expect=len(sent))
    assert set(published) == sent

    # SIGTERM to the process stops every worker (each drains its producer) and exits.
    assert ingest.service.process is not None
    ingest.service.process.send_signal(signal.SIGTERM)
    assert ingest.service.process.wait(timeout=60) == 0
    assert not any(psutil.pid_exists(pid) for pid in replaced)


def metrics_dir(ingest: IngestUnderTest) -> Path:
    """The run's multiprocess metrics directory, as the supervisor named it to its workers."""
    worker = psutil.Process(min(workers(ingest)))
    return Path(worker.environ()[MULTIPROCESS_DIR])


def batch_requests(counters: Iterable[Metric]) -> float:
    """The /v1/batch requests these counters count, whatever their status."""
    return sum(
        sample.value
        for family in counters
        for sample in family.samples
        if sample.name == "lookout_http_requests_total" and sample.labels["route"] == "/v1/batch"
    )


def served_per_worker(ingest: IngestUnderTest, pids: set[int]) -> dict[int, float]:
    """The /v1/batch requests each worker counted in its own file."""
    directory = metrics_dir(ingest)
    return {
        pid: batch_requests(MultiProcessCollector.merge([str(directory / f"counter_{pid}.db")]))
        for pid in pids
    }


async def scraped_batch_requests(ingest: IngestUnderTest, scrapes: int = 6) -> list[float]:
    """What /metrics counts of /v1/batch on each of `scrapes` new connections (so that
    both workers answer some)."""
    return [
        batch_requests(text_string_to_metric_families(await ingest.metrics()))
        for _ in range(scrapes)
    ]


async def test_two_workers_spend_one_write_key_budget(ingest_with) -> None:
    """A client hammering one port over two workers gets the key's burst plus its rate for
    the time the burst took, not twice that."""
    rate, burst, size = 2, 100, 10
    ingest = await ingest_with(
        LOOKOUT_INGEST_WORKERS="2", LOOKOUT_KEY_RATE_PER_S=str(rate), LOOKOUT_KEY_BURST=str(burst)
    )
    pids = wait_for_workers(ingest, 2, other_than=set())
    await wait_ready(ingest)

    started = time.monotonic()
    statuses = await post_batches(ingest, [batch(size) for _ in range(60)])
    elapsed = time.monotonic() - started
    assert set(statuses) <= {200, 429}
    accepted = size * statuses.count(200)
    assert burst <= accepted <= burst + rate * elapsed, (accepted, elapsed)
    assert len(await ingest.published(expect=accepted)) == accepted
    # Both workers took part of the burst (one alone would show nothing shared).
    served = served_per_worker(ingest, pids)
    assert all(count > 0 for count in served.values()), served
    assert sum(served.values()) == 60


async def test_metrics_count_what_every_worker_served_even_a_dead_one(ingest_with) -> None:
    ingest = await ingest_with(LOOKOUT_INGEST_WORKERS="2")
    first = wait_for_workers(ingest, 2, other_than=set())
    await wait_ready(ingest)
    # The kernel hands each connection to whichever worker accepts first: a round may all
    # land on one, so rounds go on until both served some.
    posted = 0
    for _ in range(10):
        assert await post_batches(ingest, [batch(5) for _ in range(24)]) == [200] * 24
        posted += 24
        served = served_per_worker(ingest, first)
        if all(count > 0 for count in served.values()):
            break
    assert all(count > 0 for count in served.values()), served
    assert sum(served.values()) == posted
    assert await scraped_batch_requests(ingest) == [posted] * 6
    await shows_workers(ingest, first)

    # A killed worker's counters stay counted; the supervisor drops its live gauges.
    directory = metrics_dir(ingest)
    victim = min(first)
    live_gauge = directory / f"gauge_livesum_{victim}.db"
    MmapedDict(str(live_gauge)).close()
    os.kill(victim, signal.SIGKILL)
    wait_for_workers(ingest, 2, other_than={victim})
    await wait_ready(ingest)
    deadline = time.monotonic() + 10
    while live_gauge.exists() and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert not live_gauge.exists()
    assert await scraped_batch_requests(ingest) == [posted] * 6
    # Its CPU and memory go with it; its replacement's show.
    await shows_workers(ingest, workers(ingest))


async def shows_workers(ingest: IngestUnderTest, pids: set[int]) -> None:
    """Every scrape shows the CPU time and memory of exactly the workers `pids` (within
    30 s: a new worker shows once it has imported its metrics), values their /proc
    entries bear out."""
    deadline = time.monotonic() + 30
    while True:
        scrapes = [await worker_gauges(ingest) for _ in range(4)]  # both workers answer some
        if all(set(cpu) == set(memory) == pids for cpu, memory in scrapes):
            break
        assert time.monotonic() < deadline, (scrapes, pids)
        await asyncio.sleep(0.2)
    for cpu, memory in scrapes:
        for pid in pids:
            times = psutil.Process(pid).cpu_times()
            assert 0 < cpu[pid] <= times.user + times.system + 0.02
            assert memory[pid] > 20 * 2**20  # a worker's interpreter and app alone


async def worker_gauges(ingest: IngestUnderTest) -> tuple[dict[int, float], dict[int, float]]:
    """({pid: CPU seconds}, {pid: resident bytes}) of the workers one /metrics shows."""
    gauges: dict[str, dict[int, float]] = {}
    for family in text_string_to_metric_families(await ingest.metrics()):
        gauges[family.name] = {int(s.labels.get("pid", 0)): s.value for s in family.samples}
    return gauges["lookout_worker_cpu_seconds"], gauges["lookout_worker_resident_memory_bytes"]


def gone(pid: int) -> bool:
    """No process `pid`, or only its zombie."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def test_a_sigkilled_supervisors_run_directory_goes_at_the_next_start(
    ingest_with, tmp_path: Path
) -> None:
    scratch = tmp_path / "tmp"  # the processes' temporary directory, this test's alone
    scratch.mkdir()
    ingest = await ingest_with(LOOKOUT_INGEST_WORKERS="2", TMPDIR=str(scratch))
    pids = wait_for_workers(ingest, 2, other_than=set())
    run = metrics_dir(ingest).parent
    assert ingest.service.process is not None
    assert run.parent == scratch
    assert run.name.startswith(f"lookout-ingest-{ingest.service.process.pid}-")

    # The supervisor alone killed outright: no shutdown code runs, so the run directory
    # stays behind; the kernel sends its workers SIGTERM (their parent-death signal).
    ingest.service.process.send_signal(signal.SIGKILL)
    ingest.service.process.wait(10)
    deadline = time.monotonic() + 30
    while not all(map(gone, pids)) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    assert all(map(gone, pids)), "the workers outlived their supervisor"
    assert run.is_dir()

    again = await ingest_with(LOOKOUT_INGEST_WORKERS="2", TMPDIR=str(scratch))
    wait_for_workers(again, 2, other_than=set())
    await wait_ready(again)
    assert not run.exists()
    assert [path.name for path in scratch.iterdir()] == [metrics_dir(again).parent.name]
