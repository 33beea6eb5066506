"""`Client`: the thread-safe, synchronous client, with one background thread that sends."""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

import httpx

from lookout_client.base import BaseClient
from lookout_client.delivery import Attempt, Delivery, Outcome, read_answer, unreachable
from lookout_client.errors import report
from lookout_client.messages import Draft, Queued
from lookout_client.outbox import request_body

log = logging.getLogger("lookout_client")


class Client(BaseClient[str | None, httpx.BaseTransport]):
    """Sends analytics to Lookout's ingest from a back end, in batches, off the caller's
    thread. No call raises: dropped messages go to `on_error` (and a debug log line).

    Use it as a context manager, or call `close()` before exit, so that what is queued is
    sent; an unclosed client is closed at interpreter exit.
    """

    def _set_up_sender(self) -> None:
        self._changed = threading.Condition()
        # Set by flush() and close(): cuts a backoff pause short (not a server's Retry-After).
        self._hurry = threading.Event()
        self._worker = threading.Thread(target=self._run, name="lookout-client", daemon=True)
        self._worker.start()
        atexit.register(self.close)

    def _submit(self, compose: Callable[[], Draft]) -> str | None:
        prepared = self._prepared(compose)
        if prepared is None:
            return None
        with self._changed:
            refused = self._outbox.add(prepared)
            # The worker may be asleep with nothing to wait for: let it recompute.
            self._changed.notify_all()
        if refused is not None:
            report(self.on_error, refused)
            return None
        return prepared.message_id

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued so far and wait until each message is delivered or
        dropped (retries included). Returns False if `timeout` seconds passed first."""
        if threading.current_thread() is self._worker:
            return False  # called from on_error: waiting here would wait for itself
        with self._changed:
            target = self._outbox.request_flush()
            self._changed.notify_all()
        self._hurry.set()
        with self._changed:
            return self._changed.wait_for(
                lambda: self._outbox.flushed(target) or not self._worker.is_alive(), timeout
            )

    def close(self, timeout: float | None = None) -> bool:
        """Stop taking messages, deliver what is queued, stop the thread. Later calls are
        dropped with `ClientClosed`. Returns False if `timeout` seconds passed first."""
        atexit.unregister(self.close)
        with self._changed:
            self._outbox.close()
            self._changed.notify_all()
        self._hurry.set()
        if threading.current_thread() is self._worker:
            return False
        self._worker.join(timeout)
        if self._worker.is_alive():
            log.warning(
                "lookout client closed with %d message(s) still undelivered",
                len(self._outbox.pending),
            )
            return False
        return True

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> None:
        with httpx.Client(transport=self._transport, timeout=self.options.timeout_s) as http:
            while True:
                with self._changed:
                    while not self._outbox.due():
                        self._changed.wait(self._outbox.seconds_until_due())
                    if self._outbox.finished:
                        return
                    batch = self._outbox.take()
                try:
                    self._deliver(http, batch)
                except Exception:  # a bug here must not stop delivery for good
                    log.exception("lookout client failed delivering a batch")
                    self._report_failed_delivery(batch)
                with self._changed:
                    self._outbox.settle(len(batch))
                    self._changed.notify_all()

    def _deliver(self, http: httpx.Client, batch: list[Queued]) -> None:
        delivery = Delivery(batch, self.options.retry_policy)
        while (attempt := delivery.next_attempt()) is not None:
            self._pause(attempt)
            outcome = self._post(http, attempt.messages)
            log.debug(
                "batch of %d: %s %s", len(attempt.messages), outcome.kind, outcome.status or ""
            )
            for error in delivery.settle(attempt, outcome):
                report(self.on_error, error)

    def _pause(self, attempt: Attempt) -> None:
        if attempt.wait_s <= 0:
            return
        if attempt.server_asked:
            time.sleep(attempt.wait_s)
        else:
            self._hurry.wait(attempt.wait_s)
        self._hurry.clear()

    def _post(self, http: httpx.Client, messages: list[Queued]) -> Outcome:
        body = request_body(messages, datetime.now(timezone.utc))
        try:
            response = http.post(
                self.options.batch_url,
                content=body,
                headers=self.options.headers,
                auth=self.options.auth,
            )
        except Exception as error:  # noqa: BLE001 - any transport failure is retried
            return unreachable(error)
        return read_answer(response.status_code, response.headers, response.content, len(messages))
