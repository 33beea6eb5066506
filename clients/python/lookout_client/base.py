"""What both clients are built from: their settings, `on_error`, the transport, the
outbox and the calls. Each adds how it sends (a thread, or an asyncio task) in
`_set_up_sender`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import httpx

from lookout_client.calls import Result, TrackingCalls
from lookout_client.errors import DeliveryFailed, ErrorHandler, LookoutClientError, report
from lookout_client.messages import Draft, Queued, prepare
from lookout_client.options import MAX_EVENT_BYTES, MAX_REQUEST_BYTES, ClientOptions
from lookout_client.outbox import Outbox

# `Client` takes an httpx transport, `AsyncClient` an async one.
Transport = TypeVar("Transport", httpx.BaseTransport, httpx.AsyncBaseTransport)


class BaseClient(TrackingCalls[Result], Generic[Result, Transport]):
    """The constructor both clients share: `Result` is what their calls return,
    `Transport` the kind of httpx transport they take."""

    def __init__(
        self,
        write_key: str,
        endpoint: str,
        *,
        flush_at: int = 100,
        flush_interval_s: float = 5.0,
        max_queue: int = 10_000,
        max_retries: int = 10,
        timeout_s: float = 10.0,
        on_error: ErrorHandler | None = None,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        max_event_bytes: int = MAX_EVENT_BYTES,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        transport: Transport | None = None,
    ) -> None:
        self.options = ClientOptions(
            write_key=write_key,
            endpoint=endpoint,
            flush_at=flush_at,
            flush_interval_s=flush_interval_s,
            max_queue=max_queue,
            max_retries=max_retries,
            timeout_s=timeout_s,
            backoff_s=backoff_s,
            max_backoff_s=max_backoff_s,
            max_event_bytes=max_event_bytes,
            max_request_bytes=max_request_bytes,
        )
        self.on_error = on_error
        self._transport: Transport | None = transport
        self._outbox = Outbox(
            flush_at=flush_at,
            flush_interval_s=flush_interval_s,
            max_queue=max_queue,
            max_request_bytes=max_request_bytes,
        )
        self._set_up_sender()

    def _set_up_sender(self) -> None:
        """The client's own sending state, once the settings are known to be good."""
        raise NotImplementedError

    def _prepared(self, compose: Callable[[], Draft]) -> Queued | None:
        """The call's message, or None once the reason it cannot be built is reported."""
        prepared = prepare(compose, self.options.max_event_bytes)
        if isinstance(prepared, LookoutClientError):
            report(self.on_error, prepared)
            return None
        return prepared

    def _report_failed_delivery(self, batch: list[Queued]) -> None:
        """A bug broke off delivering `batch`: report the batch as dropped."""
        report(
            self.on_error,
            DeliveryFailed("internal error while delivering", [q.message for q in batch]),
        )
