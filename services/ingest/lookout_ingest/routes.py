"""The tracking endpoints: each turns the HTTP request into an `IngestRequest`, has
`Ingest.accept` decide, and maps the `Outcome` to a status, headers and body."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from lookout_common.contracts.events import FieldError
from lookout_ingest.acceptance import Ingest, IngestRequest, Outcome, Verdict, request_id_of
from lookout_ingest.body import too_large_reason
from lookout_ingest.bootstrap import IngestDep


class Accepted(BaseModel):
    success: bool = True


class ErrorBody(BaseModel):
    success: bool = False
    accepted: int = Field(0, description="Events of the request that were stored anyway")
    errors: list[FieldError]


STATUS = {
    Verdict.STORED: 200,
    Verdict.MALFORMED: 400,
    Verdict.INVALID: 400,
    Verdict.UNAUTHENTICATED: 401,
    Verdict.BAD_CREDENTIALS: 401,
    Verdict.TOO_LARGE: 413,
    Verdict.UNSUPPORTED_ENCODING: 415,
    Verdict.RATE_LIMITED: 429,
    Verdict.BROKER_UNAVAILABLE: 503,
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Malformed JSON or invalid events"},
    401: {"model": ErrorBody, "description": "Missing or unknown write key"},
    413: {"model": ErrorBody, "description": "Event or request too large"},
    429: {
        "model": ErrorBody,
        "description": "Rate limit of the write key or the client IP exceeded; nothing "
        "was stored, retry after Retry-After",
    },
    503: {"model": ErrorBody, "description": "Broker unavailable; retry after Retry-After"},
}
_STORED = Accepted().model_dump()

# The operation ids are the ones the document had before the routes were split out (all
# four were FastAPI's default for one shared function named `endpoint`): a client
# generated from the document keeps its method names.
router = APIRouter(tags=["tracking"])


def answer(outcome: Outcome) -> JSONResponse:
    """The HTTP answer to an outcome."""
    if outcome.verdict is Verdict.STORED:
        return JSONResponse(_STORED)
    headers = {}
    if outcome.retry_after_s is not None:
        headers["Retry-After"] = str(outcome.retry_after_s)
    if outcome.verdict is Verdict.UNAUTHENTICATED:
        headers["WWW-Authenticate"] = 'Basic realm="lookout-ingest"'
    body = ErrorBody(accepted=outcome.accepted, errors=outcome.errors)
    return JSONResponse(body.model_dump(), status_code=STATUS[outcome.verdict], headers=headers)


async def read_limited(request: Request, limit: int) -> bytes | None:
    """The body as sent, or None once it exceeds `limit` bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            return None
    return bytes(raw)


async def handle(request: Request, ingest: Ingest, kind: str | None) -> JSONResponse:
    received_at = datetime.now(UTC)
    headers = request.headers
    origin = ingest.origin(
        request.client.host if request.client else None,
        headers.get("x-forwarded-for"),
        headers.get("user-agent"),
    )
    if refused := ingest.admit(origin):
        return answer(refused)
    limit = ingest.settings.max_request_bytes
    body = await read_limited(request, limit)
    if body is None:
        return answer(Outcome.refused(Verdict.TOO_LARGE, too_large_reason(limit)))
    outcome = await ingest.accept(
        IngestRequest(
            kind=kind,
            body=body,
            received_at=received_at,
            request_id=request_id_of(headers.get("x-request-id")),
            origin=origin,
            content_encoding=headers.get("content-encoding", ""),
            authorization=headers.get("authorization", ""),
        )
    )
    return answer(outcome)


@router.post(
    "/v1/track",
    response_model=Accepted,
    responses=RESPONSES,
    summary="Record one track call",
    operation_id="endpoint_v1_track_post",
)
async def track(request: Request, ingest: IngestDep) -> JSONResponse:
    return await handle(request, ingest, "track")


@router.post(
    "/v1/page",
    response_model=Accepted,
    responses=RESPONSES,
    summary="Record one page call",
    operation_id="endpoint_v1_page_post",
)
async def page(request: Request, ingest: IngestDep) -> JSONResponse:
    return await handle(request, ingest, "page")


@router.post(
    "/v1/identify",
    response_model=Accepted,
    responses=RESPONSES,
    summary="Record one identify call",
    operation_id="endpoint_v1_identify_post",
)
async def identify(request: Request, ingest: IngestDep) -> JSONResponse:
    return await handle(request, ingest, "identify")


@router.post(
    "/v1/batch",
    response_model=Accepted,
    responses=RESPONSES,
    summary="Record up to 500 KB of track, page and identify calls",
    operation_id="endpoint_v1_batch_post",
)
async def batch(request: Request, ingest: IngestDep) -> JSONResponse:
    return await handle(request, ingest, None)
