"""The queue both clients share, without locks or waiting (the sync client holds a lock
around it, the async one runs it on one event loop): what is due to be sent, in batches
that respect ingest's request limit, and how far delivery has come for `flush()`."""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime

from lookout_client.errors import ClientClosed, LookoutClientError, QueueFull
from lookout_client.messages import Queued, utc_iso

# `{"batch": [...], "sentAt": "..."}` around the messages, with the longest `sentAt`.
REQUEST_OVERHEAD = len(json.dumps({"batch": [], "sentAt": "2026-01-01T00:00:00.000000Z"}))
SEPARATOR = ", "


def request_body(batch: Sequence[Queued], sent_at: datetime) -> bytes:
    """The `/v1/batch` body: each message's bytes exactly as queued, and the send time."""
    items = SEPARATOR.join(queued.body for queued in batch)
    return f'{{"batch": [{items}], "sentAt": {json.dumps(utc_iso(sent_at))}}}'.encode()


class Outbox:
    """Queued messages and the counters that tell when a batch is due and when a flush
    is done. Messages leave in order and each batch is settled before the next is taken,
    so `settled >= n` means the first n messages queued have been delivered or dropped."""

    def __init__(
        self,
        *,
        flush_at: int,
        flush_interval_s: float,
        max_queue: int,
        max_request_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.flush_at = flush_at
        self.flush_interval_s = flush_interval_s
        self.max_queue = max_queue
        self.max_request_bytes = max_request_bytes
        self.clock = clock
        self.pending: deque[Queued] = deque()
        self.enqueued = 0
        self.taken = 0
        self.settled = 0
        self.flush_target = 0
        self.closing = False

    def add(self, queued: Queued) -> LookoutClientError | None:
        """Queue a message, or say why it was dropped (closed client, full queue)."""
        if self.closing:
            return ClientClosed("the client is closed", [queued.message])
        if len(self.pending) >= self.max_queue:
            return QueueFull(
                f"{self.max_queue} messages already queued; the newest was dropped",
                [queued.message],
            )
        self.pending.append(queued)
        self.enqueued += 1
        return None

    def due(self) -> bool:
        """Whether a batch should be taken now (or, with nothing left, the worker stop)."""
        if not self.pending:
            return self.closing
        return (
            self.closing
            or len(self.pending) >= self.flush_at
            or self.taken < self.flush_target
            or self.clock() - self.pending[0].queued_at >= self.flush_interval_s
        )

    def seconds_until_due(self) -> float | None:
        """How long the worker may sleep before the interval makes a batch due (None: until
        woken)."""
        if not self.pending:
            return None
        return max(0.0, self.pending[0].queued_at + self.flush_interval_s - self.clock())

    @property
    def finished(self) -> bool:
        return self.closing and not self.pending

    def take(self) -> list[Queued]:
        """The next batch: at most `flush_at` messages and `max_request_bytes` of body."""
        batch: list[Queued] = []
        size = REQUEST_OVERHEAD
        while self.pending and len(batch) < self.flush_at:
            extra = len(self.pending[0].body) + (len(SEPARATOR) if batch else 0)
            if batch and size + extra > self.max_request_bytes:
                break
            batch.append(self.pending.popleft())
            size += extra
        self.taken += len(batch)
        return batch

    def settle(self, count: int) -> None:
        """`count` taken messages reached their end (delivered or dropped)."""
        self.settled += count

    def request_flush(self) -> int:
        """Make everything queued so far due now; `flushed(target)` tells when it is done."""
        self.flush_target = max(self.flush_target, self.enqueued)
        return self.enqueued

    def flushed(self, target: int) -> bool:
        return self.settled >= target

    def close(self) -> int:
        """Take no more messages; everything queued is due. Returns the flush target."""
        self.closing = True
        return self.request_flush()
