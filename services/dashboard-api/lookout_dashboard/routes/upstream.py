"""Calling the worker services' APIs on the caller's behalf: the caller's own key is
forwarded (so the worker enforces the same roles), with timeouts, and a worker that
is down becomes a clear 502 / 504 rather than a crash."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import httpx
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError

from lookout_common.infra.apikeys import ApiKey
from lookout_dashboard.bootstrap import Services
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


@cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(model)
