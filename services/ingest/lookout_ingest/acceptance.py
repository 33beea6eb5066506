"""Acceptance of one tracking request, free of HTTP: an `IngestRequest` in, an `Outcome` out.

An outcome is `STORED` only once Kafka acknowledged every accepted event (acks=all); a
broker that does not answer gives `BROKER_UNAVAILABLE` and nothing is reported as stored.
`lookout_ingest.routes` maps outcomes to HTTP answers.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from prometheus_client import Counter

from lookout_common.contracts.events import AnalyticsEvent, DeadLetter, FieldError
from lookout_common.contracts.timebounds import oldest_accepted
from lookout_common.infra.apikeys import ApiKey, Role
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.body import BodyRefused, decoded, parse_plain_json
from lookout_ingest.bounds import MAX_BATCH_ITEMS, carried, fits, shape_errors
from lookout_ingest.limits import RateLimiter
from lookout_ingest.messages import Rejected, to_event
from lookout_ingest.privacy import client_ip
from lookout_ingest.publisher import REQUEST_EVENTS, PublishFailed, dead_letter_for
from lookout_ingest.screening import Origin, Screen
from lookout_ingest.shared_limits import BucketTable, SharedRateLimiter

log = logging.getLogger("lookout.ingest")

RATE_LIMITED = Counter(
    "lookout_ingest_rate_limited_requests_total",
    "Requests refused with 429, by the limit they exceeded (ip, write_key)",
    ["limit"],
)

MAX_REQUEST_ID_CHARS = 128
MAX_WRITE_KEY_CHARS = 256
# Batch-wide `context`, `sentAt` and `integrations` are copied into every event: kept
# small so that 2,500 events do not each carry (and validate) a large copy.
MAX_BATCH_DEFAULTS_BYTES = 8 * 1024


class KeyLookup(Protocol):
    """Where write keys are checked (`lookout_common.infra.apikeys.KeyCache`)."""

    async def lookup(self, key: str) -> ApiKey | None: ...


class Publisher(Protocol):
    """Where accepted events and dead letters go (`lookout_ingest.publisher.EventPublisher`)."""

    async def publish(self, events: Sequence[AnalyticsEvent]) -> None: ...

    async def dead_letter(self, letters: Sequence[DeadLetter], request_id: str) -> None: ...


@dataclass(frozen=True)
class IngestRequest:
    """One tracking call as the transport received it."""

    kind: str | None  # the endpoint's type ("track", "page", "identify"); None for a batch
    body: bytes  # as sent, at most the request limit (maybe gzipped)
    received_at: datetime
    request_id: str
    origin: Origin
    content_encoding: str = ""
    authorization: str = ""  # the Authorization header, "" when absent


class Verdict(StrEnum):
    STORED = "stored"
    MALFORMED = "malformed"  # the request as a whole cannot be read
    INVALID = "invalid"  # some events were refused; the others are stored
    UNAUTHENTICATED = "unauthenticated"  # no write key, or one that is unknown or revoked
    BAD_CREDENTIALS = "bad_credentials"  # an Authorization header that is not Basic credentials
    TOO_LARGE = "too_large"
    UNSUPPORTED_ENCODING = "unsupported_encoding"
    RATE_LIMITED = "rate_limited"
    BROKER_UNAVAILABLE = "broker_unavailable"


@dataclass(frozen=True)
class Outcome:
    """What became of a request: `accepted` events stored, the `errors` of the rest, and
    when to retry (rate limited, broker unavailable)."""

    verdict: Verdict
    errors: list[FieldError] = field(default_factory=list)
    accepted: int = 0
    retry_after_s: int | None = None

    @classmethod
    def refused(
        cls, verdict: Verdict, reason: str, field: str = "", *, retry_after_s: int | None = None
    ) -> Outcome:
        """A refusal of the whole request: nothing of it was stored."""
        errors = [FieldError(index=None, field=field, reason=reason)]
        return cls(verdict, errors, retry_after_s=retry_after_s)


def request_id_of(header: str | None) -> str:
    """The client's `X-Request-Id` when it is 1 to 128 printable ASCII characters (it is
    copied into every event and log line), else a new one."""
    if header and len(header) <= MAX_REQUEST_ID_CHARS and all(" " < c <= "~" for c in header):
        return header
    return uuid.uuid4().hex


class BadCredentials(Exception):
    """An Authorization header that is not valid Basic credentials."""


def write_key_from(authorization: str, data: dict[str, Any]) -> str | None:
    """Segment's two ways: HTTP Basic with the key as user name, or `writeKey` in the body."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            decoded_credentials = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise BadCredentials from None
        user, _, _ = decoded_credentials.partition(":")
        return user or None
    key = data.get("writeKey")
    if not isinstance(key, str) or not key or len(key) > MAX_WRITE_KEY_CHARS:
        return None
    return key if key.isascii() else None  # keys are ASCII; this also refuses surrogates


def _rate_limited(retry_after: int, limit: str, label: str) -> Outcome:
    RATE_LIMITED.labels(label).inc()
    reason = f"rate limit of this {limit} exceeded; nothing was stored, retry after {retry_after} s"
    return Outcome.refused(Verdict.RATE_LIMITED, reason, retry_after_s=retry_after)


def _limiter(name: str, rate: float, burst: int, shared: BucketTable | None) -> RateLimiter:
    """The in-process limiter of one worker, or one on the workers' `shared` table."""
    if shared is None:
        return RateLimiter(rate, burst)
    return SharedRateLimiter(name, rate, burst, shared)


class Ingest:
    """Request handling shared by the four endpoints."""

    def __init__(
        self,
        settings: IngestSettings,
        keys: KeyLookup,
        publisher: Publisher,
        shared_limits: BucketTable | None = None,
    ) -> None:
        self.settings = settings
        self.keys = keys
        self.publisher = publisher
        self.screen = Screen(settings)
        # Each write key's bucket counts events (a batch spends its size): the key's
        # whole product shares it. Each IP's bucket counts requests: a browser batching
        # events is one visitor, and it is checked before the body is even read. With
        # several workers, `shared_limits` holds the buckets of all of them.
        self.key_limit = _limiter(
            "write_key", settings.key_rate_per_s, settings.key_burst, shared_limits
        )
        self.ip_limit = _limiter("ip", settings.ip_rate_per_s, settings.ip_burst, shared_limits)

    def close(self) -> None:
        self.screen.close()

    def origin(self, peer: str | None, forwarded_for: str | None, user_agent: str | None) -> Origin:
        """Where a request comes from: X-Forwarded-For only when the settings trust it."""
        ip = client_ip(peer, forwarded_for, self.settings.trust_forwarded_for)
        return Origin(ip=ip, user_agent=user_agent)

    def admit(self, origin: Origin) -> Outcome | None:
        """The refusal of a client IP over its rate, checked before the body is read."""
        if wait := self.ip_limit.retry_after(origin.ip or ""):
            return _rate_limited(wait, "client IP", "ip")
        return None

    async def authenticate(self, authorization: str, data: dict[str, Any]) -> ApiKey | Outcome:
        try:
            key = write_key_from(authorization, data)
        except BadCredentials:
            reason = "Authorization header is not valid Basic credentials"
            return Outcome.refused(Verdict.BAD_CREDENTIALS, reason)
        if key is None:
            reason = "missing write key: send it as the Basic auth user name or as writeKey"
            return Outcome.refused(Verdict.UNAUTHENTICATED, reason, "writeKey")
        found = await self.keys.lookup(key)
        if found is None or found.role is not Role.INGEST:
            return Outcome.refused(
                Verdict.UNAUTHENTICATED, "unknown or revoked write key", "writeKey"
            )
        return found

    async def accept(self, request: IngestRequest) -> Outcome:
        """Validate, screen and publish the request's events; see the module docstring."""
        try:
            body = decoded(request.body, request.content_encoding, self.settings.max_request_bytes)
            data, plain = parse_plain_json(body)
        except BodyRefused as refused:
            verdict = (
                Verdict.TOO_LARGE
                if refused.too_large
                else Verdict.UNSUPPORTED_ENCODING
                if refused.unsupported
                else Verdict.MALFORMED
            )
            return Outcome.refused(verdict, refused.reason)
        source = await self.authenticate(request.authorization, data)
        if isinstance(source, Outcome):
            return source
        if request.kind is None:
            items = data.get("batch")
            if not isinstance(items, list) or not items:
                return Outcome.refused(Verdict.MALFORMED, "batch must be a non-empty list", "batch")
            if len(items) > MAX_BATCH_ITEMS:
                reason = f"batch has {len(items)} events; at most {MAX_BATCH_ITEMS} per request"
                return Outcome.refused(Verdict.MALFORMED, reason, "batch")
            defaults: dict[str, Any] = {
                key: data[key] for key in ("context", "sentAt", "integrations") if key in data
            }
            if problem := _defaults_problem(defaults):
                return Outcome(Verdict.MALFORMED, [problem])
        else:
            if len(body) > self.settings.max_event_bytes:
                reason = f"event exceeds {self.settings.max_event_bytes} bytes"
                return Outcome.refused(Verdict.TOO_LARGE, reason)
            items, defaults = [data], {}
        if not self.key_limit.admits(len(items)):
            reason = (
                f"batch has {len(items)} events, more than this write key may send at once "
                f"({self.key_limit.burst}); split it"
            )
            return Outcome.refused(Verdict.MALFORMED, reason, "batch")
        if wait := self.key_limit.retry_after(source.id, len(items)):
            return _rate_limited(wait, "write key", "write_key")
        return await self._publish(items, defaults, source, request, len(body), plain)

    async def _publish(
        self,
        items: list[Any],
        defaults: dict[str, Any],
        source: ApiKey,
        request: IngestRequest,
        body_size: int,
        plain: bool,
    ) -> Outcome:
        REQUEST_EVENTS.observe(len(items))
        kind, limit = request.kind, self.settings.max_event_bytes
        oldest = oldest_accepted(
            request.received_at,
            self.settings.events_retention_days,
            self.settings.events_max_age_days,
        )
        accepted: list[AnalyticsEvent] = []
        rejected: list[tuple[Any, Rejected]] = []
        check_size = body_size > limit and kind is None
        for index, item in enumerate(items):
            position = index if kind is None else None
            try:
                if check_size and _too_large(item, limit):
                    reason = f"event exceeds {limit} bytes"
                    raise Rejected([FieldError(index=position, field="", reason=reason)])
                accepted.append(
                    to_event(
                        item,
                        kind=kind,
                        index=position,
                        received_at=request.received_at,
                        source=source.name,
                        request_id=request.request_id,
                        defaults=defaults,
                        oldest=oldest,
                        default_currency=self.settings.default_currency,
                        # Text without surrogates: one quick pass proves most items in
                        # bounds; the others are named by shape_errors as before.
                        bounded=plain and fits(item),
                    )
                )
            except Rejected as error:
                # Without its traceback: 2,500 kept frames would make the collector crawl.
                rejected.append((item, error.with_traceback(None)))
        screened = self.screen.screen(accepted, request.origin)
        try:
            await self.publisher.publish(screened.publish)
        except PublishFailed:
            reason = "event broker unavailable; nothing from this request was stored, retry later"
            return Outcome.refused(
                Verdict.BROKER_UNAVAILABLE, reason, retry_after_s=self.settings.retry_after_s
            )
        self.screen.published(screened.publish)
        screened.count()
        if not rejected:
            return Outcome(Verdict.STORED, accepted=len(accepted))
        letters = [
            self._dead_letter(item, error, defaults, request.origin, source, request.request_id)
            for item, error in rejected
        ]
        await self.publisher.dead_letter(letters, request.request_id)
        log.info(
            "events rejected",
            extra={
                "request_id": request.request_id,
                "rejected": len(rejected),
                "accepted": len(accepted),
            },
        )
        errors = [error for _, rejection in rejected for error in rejection.errors]
        too_large = kind is not None and errors[0].reason.startswith("event exceeds")
        return Outcome(
            Verdict.TOO_LARGE if too_large else Verdict.INVALID, errors, accepted=len(accepted)
        )

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
