"""`AppServices`: a service's routes get the `Services` its lifespan built, whole or one
part, through typed `Depends` getters; before the lifespan ran they get a clear error.
Every service's app takes its services through coroutine getters only."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from inspect import iscoroutinefunction, isfunction
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from lookout_common.infra.service import AppServices


@dataclass
class Counter:
    hits: int = 0


@dataclass
class Services:
    name: str
    counter: Counter = field(default_factory=Counter)


app_services = AppServices(Services)
ServicesDep = Annotated[Services, app_services.depends()]
CounterDep = Annotated[Counter, app_services.depends(lambda built: built.counter)]

router = APIRouter()


@router.post("/hits")
async def hit(counter: CounterDep, whole: ServicesDep) -> dict[str, object]:
    counter.hits += 1
    return {"service": whole.name, "hits": counter.hits}


def make_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app_services.store(app, Services(name="test-service"))
        yield

    app = FastAPI(lifespan=lifespan)
    app.include_router(router)
    return app


async def test_routes_get_the_services_the_lifespan_stored_and_their_parts() -> None:
    app = make_app()
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://service") as client,
    ):
        answers = [(await client.post("/hits")).json() for _ in range(2)]
        stored = app_services.of(app)
    assert answers == [
        {"service": "test-service", "hits": 1},
        {"service": "test-service", "hits": 2},
    ]
    # The same object the routes were given, not a copy per request.
    assert stored.counter.hits == 2


def test_the_getters_add_nothing_to_the_api() -> None:
    operation = make_app().openapi()["paths"]["/hits"]["post"]
    assert "parameters" not in operation
    assert "requestBody" not in operation


def test_services_asked_for_before_the_lifespan_ran_name_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match="no Services on this app: its lifespan has not"):
        app_services.of(make_app())


async def test_the_getters_run_on_the_event_loop_without_a_thread_handoff(monkeypatch) -> None:
    """A plain-function dependency would be run in FastAPI's thread pool on every request."""
    from fastapi.dependencies import utils

    handed_off: list[str] = []
    original = utils.run_in_threadpool

    async def counting(func, *args, **kwargs):
        handed_off.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(utils, "run_in_threadpool", counting)
    app = make_app()
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://service") as client,
    ):
        answer = await client.post("/hits")
    assert answer.json() == {"service": "test-service", "hits": 1}
    assert handed_off == []


# Each service's app, and the bootstrap module whose getters hand its routes the services.
SERVICE_APPS = {
    "ingest": ("lookout_ingest.app", "lookout_ingest.bootstrap"),
    "analytics-aggregator": ("lookout_aggregator.app", "lookout_aggregator.bootstrap"),
    "backup-worker": ("lookout_backup.app", "lookout_backup.bootstrap"),
    "dashboard-api": ("lookout_dashboard.app", "lookout_dashboard.bootstrap"),
    "health-monitor": ("lookout_health.app", "lookout_health.bootstrap"),
}


def _dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def route_dependencies(app: FastAPI) -> dict[str, Callable[..., Any]]:
    """Every dependency of `app`'s routes, however deep, by qualified name."""
    found: dict[str, Callable[..., Any]] = {}
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        for sub in _dependencies(context.original_route.dependant):
            if sub.call is not None:
                name = getattr(sub.call, "__qualname__", type(sub.call).__qualname__)
                found[f"{getattr(sub.call, '__module__', '?')}.{name}"] = sub.call
    return found


def _awaited(call: Callable[..., Any]) -> bool:
    """FastAPI awaits a coroutine function, or an object whose `__call__` is one (such as
    its security schemes); it runs anything else in its thread pool."""
    return iscoroutinefunction(call) or (
        not isfunction(call) and iscoroutinefunction(type(call).__call__)
    )


@pytest.mark.parametrize("service", sorted(SERVICE_APPS))
def test_no_service_app_hands_a_dependency_to_the_thread_pool(service: str) -> None:
    """FastAPI awaits a coroutine dependency and runs any other in its thread pool, on
    every request: every dependency of every route of every service's app, the getters of
    its services and any other, must be a coroutine."""
    app_module, bootstrap_module = SERVICE_APPS[service]
    app = importlib.import_module(app_module).create_app()
    dependencies = route_dependencies(app)
    getter_modules = {bootstrap_module, AppServices.__module__}
    getters = [call for call in dependencies.values() if call.__module__ in getter_modules]
    assert getters, f"{service}: no route takes its services through a getter"
    handed_off = sorted(name for name, call in dependencies.items() if not _awaited(call))
    assert handed_off == []
