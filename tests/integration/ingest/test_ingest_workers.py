"""Ingest with LOOKOUT_INGEST_WORKERS=2: two worker processes share one port, each
acknowledges only what Kafka holds, a worker that dies is replaced while the other keeps
answering, and SIGTERM stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid

import httpx
import psutil
import pytest
from support.ingest import IngestUnderTest

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
