"""How one batch reaches its end, free of I/O: what ingest's answer means, when to retry
and how long to wait. Each client posts the attempts and sleeps in its own way."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lookout_client.errors import (
    DeliveryFailed,
    LookoutClientError,
    MessageTooLarge,
    Rejected,
    Unauthorized,
)
from lookout_client.messages import Queued

# A Retry-After beyond this is treated as this: a client must not sleep for days.
MAX_RETRY_AFTER_S = 600.0


class IngestError(BaseModel):
    model_config = ConfigDict(extra="ignore")

    index: int | None = None
    field: str = ""
    reason: str = ""

    def describe(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class IngestAnswer(BaseModel):
    """ingest's error body: `{"success": false, "accepted": N, "errors": [...]}`."""

    model_config = ConfigDict(extra="ignore")

    success: bool = False
    accepted: int = 0
    errors: list[IngestError] = Field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What one POST of a batch came to."""

    kind: Literal["delivered", "retry", "rejected", "too_large", "failed"]
    reason: str = ""
    status: int | None = None
    retry_after_s: float | None = None
    # batch index -> ingest's reasons, for "rejected"
    rejected: Mapping[int, list[str]] = field(default_factory=dict)


def retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        seconds = (moment - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _answer(body: bytes) -> IngestAnswer | None:
    try:
        return IngestAnswer.model_validate_json(body)
    except ValidationError:
        return None


def read_answer(status: int, headers: Mapping[str, str], body: bytes, batch_size: int) -> Outcome:
    """Classify ingest's answer to a batch of `batch_size` messages."""
    if 200 <= status < 300:
        return Outcome("delivered", status=status)
    answer = _answer(body)
    reasons = "; ".join(error.describe() for error in answer.errors) if answer else ""
    reason = f"ingest answered {status}" + (f": {reasons}" if reasons else "")
    if status == 408 or status == 429 or status >= 500:
        wait = retry_after(headers.get("retry-after"))
        return Outcome("retry", reason, status, retry_after_s=wait)
    if status in (401, 403):
        return Outcome("failed", reason, status)
    if status == 413:
        return Outcome("too_large", reason, status)
    if status == 400 and answer is not None:
        rejected: dict[int, list[str]] = {}
        for error in answer.errors:
            if error.index is not None and 0 <= error.index < batch_size:
                rejected.setdefault(error.index, []).append(error.describe())
        # Without item indexes the request as a whole was refused: nothing was stored.
        if rejected:
            return Outcome("rejected", reason, status, rejected=rejected)
    return Outcome("failed", reason, status)


def unreachable(error: BaseException) -> Outcome:
    """The POST raised (connection refused, timeout, a failing transport): retry."""
    return Outcome("retry", f"request failed: {type(error).__name__}: {error}")


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 10
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0

    def delay(self, retry: int, draw: Callable[[], float] = random.random) -> float:
        """Exponential backoff with jitter: between half and all of
        `backoff_s * 2**(retry - 1)`, capped at `max_backoff_s`."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2.0 ** (retry - 1))
        return ceiling / 2 + draw() * ceiling / 2


@dataclass
class Attempt:
    """One POST to make, after waiting `wait_s`."""

    messages: list[Queued]
    retries: int = 0
    wait_s: float = 0.0
    # The wait is the server's Retry-After: flush() does not cut it short.
    server_asked: bool = False


class Delivery:
    """Sends one batch to its end: the caller posts each attempt and reports its outcome.

    Every message leaves delivered or with exactly one error to report. A retry resends
    the same messages (same `messageId`s, so ingest de-duplicates), a 413 halves the batch.
    """

    def __init__(
        self,
        messages: list[Queued],
        policy: RetryPolicy,
        draw: Callable[[], float] = random.random,
    ) -> None:
        self.policy = policy
        self.draw = draw
        self.attempts: deque[Attempt] = deque([Attempt(list(messages))] if messages else [])

    def next_attempt(self) -> Attempt | None:
        return self.attempts.popleft() if self.attempts else None

    def settle(self, attempt: Attempt, outcome: Outcome) -> list[LookoutClientError]:
        """Record what `attempt` came to; returns the drops to report."""
        messages = attempt.messages
        wire = [queued.message for queued in messages]
        if outcome.kind == "delivered":
            return []
        if outcome.kind == "rejected":
            dropped = [messages[index] for index in sorted(outcome.rejected)]
            reasons = {
                messages[index].message_id: outcome.rejected[index]
                for index in sorted(outcome.rejected)
            }
            return [
                Rejected(
                    f"ingest rejected {len(dropped)} of {len(messages)} messages "
                    "(the others were stored)",
                    [queued.message for queued in dropped],
                    reasons,
                    status=outcome.status,
                )
            ]
        if outcome.kind == "too_large":
            if len(messages) == 1:
                return [MessageTooLarge(outcome.reason, wire, status=outcome.status)]
            half = len(messages) // 2
            self.attempts.extendleft([Attempt(messages[half:]), Attempt(messages[:half])])
            return []
        if outcome.kind == "failed":
            if outcome.status in (401, 403):
                return [Unauthorized(outcome.reason, wire, status=outcome.status)]
            return [DeliveryFailed(outcome.reason, wire, status=outcome.status)]
        retries = attempt.retries + 1
        if retries > self.policy.max_retries:
            return [
                DeliveryFailed(
                    f"gave up after {retries} attempt(s); last: {outcome.reason}",
                    wire,
                    status=outcome.status,
                )
            ]
        if outcome.retry_after_s is not None:
            wait, server_asked = outcome.retry_after_s, True
        else:
            wait, server_asked = self.policy.delay(retries, self.draw), False
        self.attempts.appendleft(Attempt(messages, retries, wait, server_asked))
        return []
