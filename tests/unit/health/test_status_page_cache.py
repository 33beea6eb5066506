"""The status page is built once per `status_cache_s`, however many visitors ask, and the
cache lives in the process's `Services` (one per app), not on the app's state, and takes
its period from the `status_settings` those services hold (`LOOKOUT_STATUS_CACHE_S`)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from lookout_health.bootstrap import Services
from lookout_health.cache import Cached
from lookout_health.status_page import routes
from lookout_health.status_page.settings import StatusPageSettings, status_page_settings


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
    services: Any = SimpleNamespace(status_page=Cached(60))

    pages = await asyncio.gather(*(routes.current_page(services) for _ in range(5)))
    again = await routes.current_page(services)

    assert len(builds) == 1
    assert all(page is builds[0] for page in [*pages, again])


async def test_a_page_older_than_the_period_is_built_again(builds: list[object]) -> None:
    services: Any = SimpleNamespace(status_page=Cached(0))

    first = await routes.current_page(services)
    second = await routes.current_page(services)

    assert builds == [first, second]
    assert first is not second


async def test_each_services_object_keeps_its_own_page(builds: list[object]) -> None:
    one: Any = SimpleNamespace(status_page=Cached(60))
    other: Any = SimpleNamespace(status_page=Cached(60))

    assert await routes.current_page(one) is not await routes.current_page(other)
    assert len(builds) == 2


def test_the_services_page_cache_keeps_a_page_for_its_status_settings_cache_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOOKOUT_STATUS_CACHE_S", "7")  # the settings given win over it
    status_page_settings.cache_clear()
    unused: Any = None  # the page cache needs none of the other services
    try:
        given = Services(*[unused] * 6, status_settings=StatusPageSettings(status_cache_s=42))
        from_env = Services(*[unused] * 6)
    finally:
        status_page_settings.cache_clear()
    assert given.status_page.ttl_s == 42
    assert given.status_page is given.status_page  # one cache per Services
    assert from_env.status_settings.status_cache_s == from_env.status_page.ttl_s == 7
