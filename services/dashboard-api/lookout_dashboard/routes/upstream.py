"""Calling the worker services' APIs on the caller's behalf: the caller's own key is
forwarded (so the worker enforces the same roles), with timeouts, and a worker that
is down becomes a clear 502 / 504 rather than a crash. `Relay` declares the routes that
do only that, each by the function it decorates: the same path at the worker, for a
reader or, recorded in the audit log, for an admin."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError

from lookout_common.infra.apikeys import ApiKey
from lookout_common.infra.auth import ADMIN_ROLES, READ_ROLES, require
from lookout_dashboard.bootstrap import Services, ServicesDep
from lookout_dashboard.queries import audit
from lookout_dashboard.routes.responses import Responses

UPSTREAM_ERRORS: Responses = {
    502: {"description": "The worker service did not answer"},
    504: {"description": "The worker service answered too slowly"},
}


@dataclass(frozen=True)
class Upstream:
    """One worker service's API (`base_url`, called `service` in errors) as this request's
    caller: each call carries the request's `Authorization` header and query string (a
    repeated parameter as often as the caller sent it)."""

    request: Request
    services: Services
    base_url: str
    service: str

    async def forward(
        self,
        path: str,
        *,
        method: str = "GET",
        json: Any = None,
        timeout: float = 30.0,
        model: Any = None,
    ) -> Response:
        """The upstream's answer (status and JSON body) to the same request. A success is
        checked against `model` (the documented answer), so what is relayed is what the
        OpenAPI document promises; anything else is a 502 naming the mismatch."""
        service = self.service
        headers = {"Authorization": self.request.headers.get("authorization", "")}
        try:
            answer = await self.services.http.request(
                method,
                f"{self.base_url.rstrip('/')}{path}",
                params=httpx.QueryParams(self.request.url.query),
                json=json,
                headers=headers,
                timeout=timeout,
            )
        except httpx.TimeoutException:
            raise HTTPException(504, f"{service} did not answer within {timeout:g} s") from None
        except httpx.HTTPError as error:
            raise HTTPException(502, f"{service} is unreachable: {type(error).__name__}") from None
        if answer.status_code == 204 or not answer.content:
            return Response(status_code=answer.status_code)
        if model is not None and answer.is_success:
            adapter = _adapter(model)
            try:
                checked = adapter.validate_json(answer.content)
            except ValidationError as error:
                raise HTTPException(
                    502, f"{service} answered an unexpected shape: {error.errors()[0]['msg']}"
                ) from None
            body = adapter.dump_python(checked, mode="json", by_alias=True)
            return JSONResponse(body, status_code=answer.status_code)
        try:
            body = answer.json()
        except ValueError:
            raise HTTPException(502, f"{service} answered something that is not JSON") from None
        return JSONResponse(body, status_code=answer.status_code)

    async def read(self, path: str, model: Any) -> Response:
        """A GET of `path`, its success checked against `model` (see `forward`)."""
        return await self.forward(path, model=model)

    async def act(
        self,
        key: ApiKey,
        path: str,
        *,
        action: str,
        target: str | None,
        method: str,
        json: Any = None,
        model: Any = None,
        timeout: float = 30.0,
    ) -> Response:
        """An admin action done by the worker: forwarded like a read, then written to the
        audit log with its outcome (the worker's refusal included)."""
        answer = await self.forward(path, method=method, json=json, timeout=timeout, model=model)
        await audit.record(
            self.services.pool,
            actor=key.name,
            action=action,
            target=target,
            outcome="ok" if answer.status_code < 400 else f"refused ({answer.status_code})",
            detail={"request": json},
        )
        return answer


async def health_monitor(request: Request, services: ServicesDep) -> Upstream:
    """The health monitor's API, called for this request's caller."""
    return Upstream(request, services, services.settings.health_monitor_url, "health-monitor")


async def backup_worker(request: Request, services: ServicesDep) -> Upstream:
    """The backup worker's API, called for this request's caller."""
    return Upstream(request, services, services.settings.backup_worker_url, "backup-worker")


@dataclass(frozen=True)
class Sent:
    """What an action relays (`json`, its body) and records in the audit log (`target`,
    what it acts on)."""

    target: str | None = None
    json: Any = None


Declared = Callable[..., Awaitable[Sent | None]]
D = TypeVar("D", bound=Declared)


@dataclass(frozen=True)
class Relay:
    """Declares routes of `router` that relay to one worker (`upstream`: the dependency
    that gives its API for the request), each to the same path there, the success checked
    against `model`. A route is declared by the coroutine function it decorates (a
    dependency FastAPI awaits, not one for its thread pool): its name names the operation
    (and its operationId), its docstring is the summary, its parameters are the route's
    path and query parameters and body (FastAPI validates and documents them), and an
    action's returns what it sends. The query string goes as the caller sent it."""

    router: APIRouter
    upstream: Callable[..., Awaitable[Upstream]]

    def read(
        self, path: str, model: Any, *, responses: Responses | None = None
    ) -> Callable[[D], D]:
        """GET `path`, for an admin or viewer key."""
        return self._route("GET", path, model, None, responses=responses)

    def act(
        self,
        method: str,
        path: str,
        action: str,
        model: Any = None,
        *,
        status_code: int | None = None,
        responses: Responses | None = None,
        timeout: float = 30.0,
    ) -> Callable[[D], D]:
        """`method path`, for an admin key, written to the audit log as `action`; its
        success is `status_code`, by default 200, or 204 without a `model` (no body)."""
        if status_code is None:
            status_code = 200 if model is not None else 204
        return self._route(method, path, model, action, status_code, responses, timeout)

    def _route(
        self,
        method: str,
        path: str,
        model: Any,
        action: str | None,
        status_code: int = 200,
        responses: Responses | None = None,
        timeout: float = 30.0,
    ) -> Callable[[D], D]:
        there = self.router.prefix + path
        roles = READ_ROLES if action is None else ADMIN_ROLES

        def declare(declared: D) -> D:
            async def relay(
                *,
                upstream: Upstream = Depends(self.upstream),  # noqa: B008
                key: ApiKey = Depends(require(roles)),  # noqa: B008
                sent: Sent | None = Depends(declared),  # noqa: B008
            ) -> Response:
                filled = _filled(there, upstream.request)
                if action is None:
                    return await upstream.read(filled, model)
                acted = sent or Sent()
                return await upstream.act(
                    key,
                    filled,
                    action=action,
                    target=acted.target,
                    method=method,
                    json=acted.json,
                    model=model,
                    timeout=timeout,
                )

            self.router.add_api_route(
                path,
                relay,
                methods=[method],
                status_code=status_code,
                response_model=model,
                responses=responses,
                summary=inspect.getdoc(declared),
                name=declared.__name__,
            )
            return declared

        return declare


def _filled(path: str, request: Request) -> str:
    """`path` with this request's path parameters, each quoted whole."""
    values = {key: quote(str(value), safe="") for key, value in request.path_params.items()}
    return path.format_map(values)


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)
