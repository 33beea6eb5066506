"""`/status` (HTML), `/status.json` and `/status/feed.atom`: public unless
`LOOKOUT_STATUS_KEY` is set, then only with that key (`?key=` or `X-Status-Key`), never
with an API key (a status key opens the status page and nothing else)."""

from __future__ import annotations

import asyncio
import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.bootstrap import Services, ServicesDep, app_services
from lookout_health.routes.sla import components_of
from lookout_health.status_page import store as page_store
from lookout_health.status_page.build import build_page
from lookout_health.status_page.model import DAYS, StatusPage
from lookout_health.status_page.render import render_atom, render_html
from lookout_health.status_page.settings import StatusPageSettings
from lookout_health.store import incidents as incident_store
from lookout_health.uptime import Resolution, bucket_start

router = APIRouter(tags=["status page"])
REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "LOOKOUT_STATUS_KEY is set and the key is missing or wrong"}
}
Settings = Annotated[
    StatusPageSettings, app_services.depends(lambda services: services.status_settings)
]
# The page is markup and an inline style sheet: nothing else may load or frame it.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def status_key(
    settings: Settings,
    key: Annotated[str | None, Query(max_length=200, description="The status key")] = None,
    x_status_key: Annotated[str | None, Header(max_length=200)] = None,
) -> str | None:
    """The key the caller gave (None when the page is public): 401 without the right one."""
    if settings.status_key is None:
        return None
    given = key or x_status_key or ""
    expected = settings.status_key.get_secret_value()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(401, "this status page needs its key: ?key=… or X-Status-Key")
    return key


StatusKey = Annotated[str | None, Depends(status_key)]


async def load_page(services: Services, now: datetime) -> StatusPage:
    """Four indexed reads of plain values, at once on their own connections: current
    statuses, 90 daily rollups per component, the window's incidents, maintenance windows;
    and with locations in play, each location's newest status while its verdict is within
    the quorum window (older ones are stale, as on the Health tab)."""
    groups = components_of(services.monitor)
    first = bucket_start(now, Resolution.DAY) - timedelta(days=DAYS - 1)
    pool = services.pool
    checks = list(services.monitor.checks)
    window_s = services.monitor.quorum.window_s
    async with asyncio.TaskGroup() as reads:  # one failing cancels the others
        latest = reads.create_task(page_store.current_statuses(pool, checks, window_s))
        daily = reads.create_task(page_store.daily_seconds(pool, list(groups), first, DAYS))
        incidents = reads.create_task(page_store.incidents_since(pool, first))
        maintenance = reads.create_task(incident_store.maintenance_windows(pool, now))
        located = reads.create_task(_location_statuses(services, checks, now))
    by_location: dict[str, list[tuple[str, CheckStatus]]] = {}
    for check, location, status in located.result():
        by_location.setdefault(check, []).append((location, status))
    return build_page(
        now=now,
        components=groups,
        latest=latest.result(),
        by_location=by_location,
        daily=daily.result(),
        incidents=incidents.result(),
        maintenance=maintenance.result(),
    )


async def _location_statuses(
    services: Services, checks: list[str], now: datetime
) -> list[tuple[str, str, CheckStatus]]:
    if not services.monitor.quorum.keeps_verdicts:
        return []
    window = timedelta(seconds=services.monitor.quorum.window_s)
    return await page_store.location_statuses(services.pool, checks, now - window)


async def current_page(services: Services) -> StatusPage:
    """The cached page (`Services.status_page`), built again once `status_cache_s` passed."""
    return await services.status_page.get(lambda: load_page(services, datetime.now(UTC)))


def page_links(request: Request | None, key: str | None) -> dict[str, str]:
    """The page's links, relative for the page (so a proxy's path prefix is kept) and
    absolute for the feed; a key given as `?key=` is kept in them, a header's is not."""
    query = f"?{urlencode({'key': key})}" if key else ""
    base = "" if request is None else str(request.base_url).rstrip("/")
    return {
        "page": f"{base}/status{query}" if base else f"status{query}",
        "json": f"{base}/status.json{query}" if base else f"status.json{query}",
        "feed": f"{base}/status/feed.atom{query}" if base else f"status/feed.atom{query}",
    }


@router.get("/status", response_class=HTMLResponse, responses=REFUSED)
async def status_page(
    request: Request, services: ServicesDep, settings: Settings, key: StatusKey
) -> HTMLResponse:
    """The public status page."""
    page = await current_page(services)
    html = render_html(page, title=settings.status_title, links=page_links(None, key))
    return HTMLResponse(html, headers={**_headers(settings), **PAGE_HEADERS})


@router.get("/status.json", response_model=StatusPage, responses=REFUSED)
async def status_json(
    request: Request, services: ServicesDep, settings: Settings, _: StatusKey
) -> Response:
    """The status page's data."""
    page = await current_page(services)
    return Response(
        page.model_dump_json(by_alias=True),
        media_type="application/json",
        headers=_headers(settings),
    )


@router.get(
    "/status/feed.atom",
    response_class=Response,
    responses={**REFUSED, 200: {"content": {"application/atom+xml": {}}}},
)
async def status_feed(
    request: Request, services: ServicesDep, settings: Settings, key: StatusKey
) -> Response:
    """Active incidents and those of the last 90 days, as an Atom feed."""
    page = await current_page(services)
    body = render_atom(page, title=settings.status_title, links=page_links(request, key))
    return Response(body, media_type="application/atom+xml", headers=_headers(settings))


def _headers(settings: StatusPageSettings) -> dict[str, str]:
    # A keyed page must not sit in shared caches; a public one may, for as long as we do.
    if settings.status_key is not None:
        return {"Cache-Control": "private, no-store"}
    return {"Cache-Control": f"public, max-age={int(settings.status_cache_s)}"}
