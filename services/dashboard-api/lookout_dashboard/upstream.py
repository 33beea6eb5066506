"""Calling the worker services' APIs on the caller's behalf: the caller's own key is
forwarded (so the worker enforces the same roles), with timeouts, and a worker that
is down becomes a clear 502 / 504 rather than a crash."""

from __future__ import annotations

from functools import cache
from typing import Any

import httpx
from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse, Response
from pydantic import TypeAdapter, ValidationError

from lookout_common.infra.apikeys import ApiKey
from lookout_dashboard import audit

UPSTREAM_ERRORS = {
    502: {"description": "The worker service did not answer"},
    504: {"description": "The worker service answered too slowly"},
}


async def forward(
    request: Request,
    base_url: str,
    path: str,
    *,
    method: str = "GET",
    json: Any = None,
    timeout: float = 30.0,
    service: str = "upstream",
    model: Any = None,
) -> Response:
    """The upstream's answer (status and JSON body) to the same request. A success is
    checked against `model` (the documented answer), so what is relayed is what the
    OpenAPI document promises; anything else is a 502 naming the mismatch."""
    client: httpx.AsyncClient = request.app.state.http
    headers = {"Authorization": request.headers.get("authorization", "")}
    try:
        answer = await client.request(
            method,
            f"{base_url.rstrip('/')}{path}",
            params=dict(request.query_params),
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


@cache
def _adapter(model: Any) -> TypeAdapter:
    return TypeAdapter(model)


async def forward_action(
    request: Request,
    key: ApiKey,
    base_url: str,
    path: str,
    *,
    action: str,
    target: str | None,
    method: str,
    json: Any = None,
    service: str,
    model: Any = None,
    timeout: float = 30.0,
) -> Response:
    """An admin action done by a worker: forwarded like a read, then written to the
    audit log with its outcome (the worker's refusal included)."""
    answer = await forward(
        request,
        base_url,
        path,
        method=method,
        json=json,
        timeout=timeout,
        service=service,
        model=model,
    )
    await audit.record(
        request.app.state.pool,
        actor=key.name,
        action=action,
        target=target,
        outcome="ok" if answer.status_code < 400 else f"refused ({answer.status_code})",
        detail={"request": json},
    )
    return answer
