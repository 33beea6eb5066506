"""The status page is built once per `status_cache_s`, however many visitors ask, and the
cache lives in the process's `Services` (one per app), not on the app's state."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from lookout_health.cache import PageCache
from lookout_health.status_page import routes
from lookout_health.status_page.settings import StatusPageSettings


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Each page `load_page` builds (a distinct object per build), in order."""
    built: list[object] = []

    async def load_page(services: Any, now: Any) -> object:
        await asyncio.sleep(0.01)  # concurrent visitors arrive while it builds
        page = object()
        built.append(page)
        return page

    monkeypatch.setattr(routes, "load_page", load_page)
    return built


async def test_concurrent_visitors_share_one_build_within_the_period(builds: list[object]) -> None:
    services: Any = SimpleNamespace(status_page=PageCache())
    settings = StatusPageSettings(status_cache_s=60)

    pages = await asyncio.gather(*(routes.current_page(services, settings) for _ in range(5)))
    again = await routes.current_page(services, settings)

    assert len(builds) == 1
    assert all(page is builds[0] for page in [*pages, again])


async def test_a_page_older_than_the_period_is_built_again(builds: list[object]) -> None:
    services: Any = SimpleNamespace(status_page=PageCache())
    settings = StatusPageSettings(status_cache_s=0)

    first = await routes.current_page(services, settings)
    second = await routes.current_page(services, settings)

    assert builds == [first, second]
    assert first is not second


async def test_each_services_object_keeps_its_own_page(builds: list[object]) -> None:
    settings = StatusPageSettings(status_cache_s=60)
    one: Any = SimpleNamespace(status_page=PageCache())
    other: Any = SimpleNamespace(status_page=PageCache())

    assert await routes.current_page(one, settings) is not await routes.current_page(
        other, settings
    )
    assert len(builds) == 2
