"""Ingest: Segment's HTTP Tracking API in front of `analytics.events.v1`.

A 200 means Kafka acknowledged every accepted event (acks=all). A dead broker
gives 503 with Retry-After and nothing is reported as stored that was not.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic import BaseModel, Field

from lookout_common.contracts.events import AnalyticsEvent, DeadLetter, FieldError
from lookout_common.contracts.timebounds import oldest_accepted
from lookout_common.infra.apikeys import ApiKey, KeyCache, Role
from lookout_common.infra.db import create_pool, database_reachable
from lookout_common.infra.kafka import broker_reachable, start_producer
from lookout_common.infra.service import add_probe_routes, api_docs, distribution_version
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.bounds import MAX_BATCH_ITEMS, carried, shape_errors
from lookout_ingest.limits import RateLimiter
from lookout_ingest.messages import Rejected, to_event
from lookout_ingest.privacy import client_ip
from lookout_ingest.publisher import (
    REQUEST_EVENTS,
    EventPublisher,
    PublishFailed,
    dead_letter_for,
)
from lookout_ingest.screening import Origin, Screen

log = logging.getLogger("lookout.ingest")

RATE_LIMITED = Counter(
    "lookout_ingest_rate_limited_requests_total",
    "Requests refused with 429, by the limit they exceeded (ip, write_key)",
    ["limit"],
)


class Accepted(BaseModel):
    success: bool = True


class ErrorBody(BaseModel):
    success: bool = False
    accepted: int = Field(0, description="Events of the request that were stored anyway")
    errors: list[FieldError]


class RequestError(Exception):
    def __init__(
        self,
        status: int,
        reason: str,
        field: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.status = status
        self.error = FieldError(index=None, field=field, reason=reason)
        self.headers = headers or {}


def _error(status: int, errors: list[FieldError], accepted: int = 0, headers=None) -> JSONResponse:
    body = ErrorBody(accepted=accepted, errors=errors)
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, gunzipped when sent so, refused past `limit` bytes either way."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(413, f"request body exceeds {limit} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw.extend(chunk)
        if len(raw) > limit:
            raise RequestError(413, f"request body exceeds {limit} bytes")
    encoding = request.headers.get("content-encoding", "").lower().strip()
    if encoding in ("", "identity"):
        return bytes(raw)
    if encoding != "gzip":
        raise RequestError(415, f"unsupported Content-Encoding {encoding!r}; use gzip")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        body = inflater.decompress(bytes(raw), limit + 1)
    except zlib.error as error:
        raise RequestError(400, f"body is not valid gzip: {error}") from None
    if len(body) > limit or inflater.unconsumed_tail:
        raise RequestError(413, f"decompressed request body exceeds {limit} bytes")
    if not inflater.eof:
        raise RequestError(400, "body is not valid gzip: truncated stream")
    return body


MAX_REQUEST_ID_CHARS = 128
MAX_WRITE_KEY_CHARS = 256
# Batch-wide `context`, `sentAt` and `integrations` are copied into every event: kept
# small so that 2,500 events do not each carry (and validate) a large copy.
MAX_BATCH_DEFAULTS_BYTES = 8 * 1024


def request_id_of(header: str | None) -> str:
    """The client's `X-Request-Id` when it is 1 to 128 printable ASCII characters (it is
    copied into every event and log line), else a new one."""
    if header and len(header) <= MAX_REQUEST_ID_CHARS and all(" " < c <= "~" for c in header):
        return header
    return uuid.uuid4().hex


def parse_json(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or a 400: not UTF-8, not JSON, nested past the parser's
    recursion limit, or an integer past Python's 4,300-digit conversion limit."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise RequestError(400, "malformed JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, integer too long
        raise RequestError(400, f"malformed JSON: {str(error)[:200]}") from None
    if not isinstance(data, dict):
        raise RequestError(400, "request body must be a JSON object")
    return data


def write_key_from(request: Request, data: dict[str, Any]) -> str | None:
    """Segment's two ways: HTTP Basic with the key as user name, or `writeKey` in the body."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise RequestError(401, "Authorization header is not valid Basic credentials") from None
        user, _, _ = decoded.partition(":")
        return user or None
    key = data.get("writeKey")
    if not isinstance(key, str) or not key or len(key) > MAX_WRITE_KEY_CHARS:
        return None
    return key if key.isascii() else None  # keys are ASCII; this also refuses surrogates


def _too_many_requests(retry_after: int, limit: str, label: str) -> JSONResponse:
    RATE_LIMITED.labels(label).inc()
    reason = f"rate limit of this {limit} exceeded; nothing was stored, retry after {retry_after} s"
    return _error(
        429, [FieldError(field="", reason=reason)], headers={"Retry-After": str(retry_after)}
    )


class Ingest:
    """Request handling shared by the four endpoints."""

    def __init__(self, settings: IngestSettings, keys: KeyCache, publisher: EventPublisher) -> None:
        self.settings = settings
        self.keys = keys
        self.publisher = publisher
        self.screen = Screen(settings)
        # Each write key's bucket counts events (a batch spends its size): the key's
        # whole product shares it. Each IP's bucket counts requests: a browser batching
        # events is one visitor, and it is checked before the body is even read.
        self.key_limit = RateLimiter(settings.key_rate_per_s, settings.key_burst)
        self.ip_limit = RateLimiter(settings.ip_rate_per_s, settings.ip_burst)

    def origin(self, request: Request) -> Origin:
        peer = request.client.host if request.client else None
        forwarded = request.headers.get("x-forwarded-for")
        ip = client_ip(peer, forwarded, self.settings.trust_forwarded_for)
        return Origin(ip=ip, user_agent=request.headers.get("user-agent"))

    async def authenticate(self, request: Request, data: dict[str, Any]) -> ApiKey:
        key = write_key_from(request, data)
        if key is None:
            raise RequestError(
                401,
                "missing write key: send it as the Basic auth user name or as writeKey",
                "writeKey",
                {"WWW-Authenticate": 'Basic realm="lookout-ingest"'},
            )
        found = await self.keys.lookup(key)
        if found is None or found.role is not Role.INGEST:
            raise RequestError(
                401,
                "unknown or revoked write key",
                "writeKey",
                {"WWW-Authenticate": 'Basic realm="lookout-ingest"'},
            )
        return found

    async def handle(self, request: Request, kind: str | None) -> JSONResponse:
        request_id = request_id_of(request.headers.get("x-request-id"))
        received_at = datetime.now(UTC)
        origin = self.origin(request)
        if wait := self.ip_limit.retry_after(origin.ip or ""):
            return _too_many_requests(wait, "client IP", "ip")
        try:
            body = await read_body(request, self.settings.max_request_bytes)
            data = parse_json(body)
            source = await self.authenticate(request, data)
        except RequestError as error:
            return _error(error.status, [error.error], headers=error.headers)
        if kind is None:
            items = data.get("batch")
            if not isinstance(items, list) or not items:
                return _error(
                    400, [FieldError(field="batch", reason="batch must be a non-empty list")]
                )
            if len(items) > MAX_BATCH_ITEMS:
                reason = f"batch has {len(items)} events; at most {MAX_BATCH_ITEMS} per request"
                return _error(400, [FieldError(field="batch", reason=reason)])
            defaults = {
                key: data[key] for key in ("context", "sentAt", "integrations") if key in data
            }
            if problem := _defaults_problem(defaults):
                return _error(400, [problem])
        else:
            if len(body) > self.settings.max_event_bytes:
                reason = f"event exceeds {self.settings.max_event_bytes} bytes"
                return _error(413, [FieldError(field="", reason=reason)])
            items, defaults = [data], {}
        if not self.key_limit.admits(len(items)):
            reason = (
                f"batch has {len(items)} events, more than this write key may send at once "
                f"({self.key_limit.burst}); split it"
            )
            return _error(400, [FieldError(field="batch", reason=reason)])
        if wait := self.key_limit.retry_after(source.id, len(items)):
            return _too_many_requests(wait, "write key", "write_key")
        return await self._accept(
            items, kind, defaults, source, origin, request_id, received_at, len(body)
        )

    async def _accept(
        self,
        items: list[Any],
        kind: str | None,
        defaults: dict[str, Any],
        source: ApiKey,
        origin: Origin,
        request_id: str,
        received_at: datetime,
        body_size: int,
    ) -> JSONResponse:
        REQUEST_EVENTS.observe(len(items))
        oldest = oldest_accepted(
            received_at, self.settings.events_retention_days, self.settings.events_max_age_days
        )
        accepted: list[AnalyticsEvent] = []
        rejected: list[tuple[Any, Rejected]] = []
        check_size = body_size > self.settings.max_event_bytes and kind is None
        for index, item in enumerate(items):
            position = index if kind is None else None
            try:
                if check_size and _too_large(item, self.settings.max_event_bytes):
                    reason = f"event exceeds {self.settings.max_event_bytes} bytes"
                    raise Rejected([FieldError(index=position, field="", reason=reason)])
                accepted.append(
                    to_event(
                        item,
                        kind=kind,
                        index=position,
                        received_at=received_at,
                        source=source.name,
                        request_id=request_id,
                        defaults=defaults,
                        oldest=oldest,
                        default_currency=self.settings.default_currency,
                    )
                )
            except Rejected as error:
                # Without its traceback: 2,500 kept frames would make the collector crawl.
                rejected.append((item, error.with_traceback(None)))
        screened = self.screen.screen(accepted, origin)
        try:
            await self.publisher.publish(screened.publish)
        except PublishFailed:
            retry = {"Retry-After": str(self.settings.retry_after_s)}
            reason = "event broker unavailable; nothing from this request was stored, retry later"
            return _error(503, [FieldError(field="", reason=reason)], headers=retry)
        self.screen.published(screened.publish)
        screened.count()
        if not rejected:
            return JSONResponse(Accepted().model_dump())
        letters = [
            self._dead_letter(item, error, defaults, origin, source, request_id)
            for item, error in rejected
        ]
        await self.publisher.dead_letter(letters, request_id)
        log.info(
            "events rejected",
            extra={"request_id": request_id, "rejected": len(rejected), "accepted": len(accepted)},
        )
        errors = [error for _, rejection in rejected for error in rejection.errors]
        status = 413 if kind is not None and errors[0].reason.startswith("event exceeds") else 400
        return _error(status, errors, accepted=len(accepted))

    def _dead_letter(
        self,
        item: Any,
        rejection: Rejected,
        defaults: dict[str, Any],
        origin: Origin,
        source: ApiKey,
        request_id: str,
    ) -> DeadLetter:
        too_large = rejection.errors[0].reason.startswith("event exceeds")
        # A too-large event is not copied (the letter must stay a bounded message); any
        # other one is made encodable first (it may hold what failed validation).
        payload = (
            None
            if too_large
            else self.screen.dead_letter_payload(carried(item), carried(defaults), origin)
        )
        return dead_letter_for(
            payload,
            rejection.errors,
            code=rejection.code,
            reason="too_large" if too_large else rejection.code.value,
            source=source.name,
            request_id=request_id,
        )


def _too_large(item: Any, limit: int) -> bool:
    try:
        return len(json.dumps(item)) > limit
    except RecursionError:
        return False  # refused for its depth instead


def _defaults_problem(defaults: dict[str, Any]) -> FieldError | None:
    """Why a batch's shared fields make the whole request unacceptable, if they do."""
    if errors := shape_errors(defaults, None):
        return errors[0]
    if len(json.dumps(defaults)) > MAX_BATCH_DEFAULTS_BYTES:
        reason = (
            f"context, sentAt and integrations of a batch exceed {MAX_BATCH_DEFAULTS_BYTES} bytes"
        )
        return FieldError(field="context", reason=reason)
    return None


def create_app(settings: IngestSettings | None = None) -> FastAPI:
    settings = settings or IngestSettings()
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: asyncpg.Pool = await create_pool(settings)
        producer = await start_producer(settings, client_id="lookout-ingest")
        state["pool"] = pool
        state["ingest"] = Ingest(
            settings, KeyCache(pool, settings.write_key_cache_s), EventPublisher(producer, settings)
        )
        try:
            yield
        finally:
            # Flushes whatever is still batched; requests still waiting get their acks.
            await producer.stop()
            await pool.close()
            state["ingest"].screen.close()

    app = FastAPI(
        title="Lookout ingest",
        version=distribution_version("lookout-ingest"),
        description="Segment-compatible tracking API. A 200 means every accepted event "
        "is durably in Kafka.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    # Browser trackers post from the product's own origins. Write keys are public by
    # nature (they ship in the page), and no cookies are read, so any origin may call.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["POST"],
        allow_headers=["Authorization", "Content-Type", "Content-Encoding", "X-Request-Id"],
        allow_credentials=False,
        max_age=86400,
    )
    add_probe_routes(
        app,
        "ingest",
        lambda: {
            "postgres": lambda: database_reachable(state["pool"]),
            "kafka": lambda: broker_reachable(settings),
        },
    )
    responses = {
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

    for path, kind in (("track", "track"), ("page", "page"), ("identify", "identify")):
        app.add_api_route(
            f"/v1/{path}",
            _endpoint(state, kind),
            methods=["POST"],
            response_model=Accepted,
            responses=responses,
            summary=f"Record one {kind} call",
            tags=["tracking"],
        )
    app.add_api_route(
        "/v1/batch",
        _endpoint(state, None),
        methods=["POST"],
        response_model=Accepted,
        responses=responses,
        summary="Record up to 500 KB of track, page and identify calls",
        tags=["tracking"],
    )
    return app


def _endpoint(state: dict[str, Any], kind: str | None):
    async def endpoint(request: Request) -> JSONResponse:
        return await state["ingest"].handle(request, kind)

    return endpoint
