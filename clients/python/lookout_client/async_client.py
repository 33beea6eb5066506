"""`AsyncClient`: the same client for asyncio back ends, with one background task that
sends. Use it from one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone

import httpx

from lookout_client.base import BaseClient
from lookout_client.delivery import Attempt, Delivery, Outcome, read_answer, unreachable
from lookout_client.errors import report
from lookout_client.messages import Draft, Queued
from lookout_client.outbox import request_body

log = logging.getLogger("lookout_client")


class AsyncClient(BaseClient[Awaitable[str | None], httpx.AsyncBaseTransport]):
    """Sends analytics to Lookout's ingest from an asyncio back end, in batches, from a
    background task. Every call is awaited (`await client.track(...)`) and none raises:
    dropped messages go to `on_error` (a plain function) and a debug log line.

    Use `async with AsyncClient(...)`, or `await close()` before the loop ends, so that
    what is queued is sent: a task cancelled with its loop sends nothing more.
    """

    def _set_up_sender(self) -> None:
        # Created on first use, inside the running loop.
        self._wake: asyncio.Event | None = None
        self._hurry: asyncio.Event | None = None
        self._progress: asyncio.Condition | None = None
        self._task: asyncio.Task[None] | None = None

    def _started(self) -> None:
        """Start the sending task in the running loop, once."""
        if self._task is not None:
            return
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._progress = asyncio.Condition()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="lookout-client")

    async def _submit(self, compose: Callable[[], Draft]) -> str | None:
        prepared = self._prepared(compose)
        if prepared is None:
            return None
        refused = self._outbox.add(prepared)
        if refused is not None:
            report(self.on_error, refused)
            return None
        self._started()
        # The task may be asleep with nothing to wait for: let it recompute.
        self._signal(hurry=False)
        return prepared.message_id

    def _signal(self, *, hurry: bool) -> None:
        if self._wake is not None:
            self._wake.set()
        if hurry and self._hurry is not None:
            self._hurry.set()

    async def flush(self, timeout: float | None = None) -> bool:
        """Send everything queued so far and wait until each message is delivered or
        dropped (retries included). Returns False if `timeout` seconds passed first."""
        target = self._outbox.request_flush()
        if self._outbox.flushed(target):
            return True
        if asyncio.current_task() is self._task:
            return False  # called from on_error: waiting here would wait for itself
        self._started()
        self._signal(hurry=True)
        return await self._wait_settled(target, timeout)

    async def close(self, timeout: float | None = None) -> bool:
        """Stop taking messages, deliver what is queued, stop the task. Later calls are
        dropped with `ClientClosed`. Returns False if `timeout` seconds passed first."""
        self._outbox.close()
        if self._task is None:
            return True
        self._signal(hurry=True)
        if asyncio.current_task() is self._task:
            return False
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except asyncio.TimeoutError:
            log.warning(
                "lookout client closed with %d message(s) still undelivered",
                len(self._outbox.pending),
            )
            return False
        except Exception:  # the sender ended with an error: close() still must not raise
            log.exception("lookout client's sender failed")
            return False
        return True

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _wait_settled(self, target: int, timeout: float | None) -> bool:
        assert self._progress is not None
        assert self._task is not None
        progress, task = self._progress, self._task

        async def settled() -> None:
            async with progress:
                await progress.wait_for(lambda: self._outbox.flushed(target) or task.done())

        try:
            await asyncio.wait_for(settled(), timeout)
        except asyncio.TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        assert self._progress is not None
        try:
            await self._send_until_closed()
        finally:
            # Wakes flush() waiters even if this task ends early; they check task.done().
            async with self._progress:
                self._progress.notify_all()

    async def _send_until_closed(self) -> None:
        assert self._wake is not None
        assert self._progress is not None
        async with httpx.AsyncClient(
            transport=self._transport, timeout=self.options.timeout_s
        ) as http:
            while True:
                while not self._outbox.due():
                    self._wake.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self._outbox.seconds_until_due())
                if self._outbox.finished:
                    return
                batch = self._outbox.take()
                try:
                    await self._deliver(http, batch)
                except Exception:  # a bug here must not stop delivery for good
                    log.exception("lookout client failed delivering a batch")
                    self._report_failed_delivery(batch)
                self._outbox.settle(len(batch))
                async with self._progress:
                    self._progress.notify_all()

    async def _deliver(self, http: httpx.AsyncClient, batch: list[Queued]) -> None:
        delivery = Delivery(batch, self.options.retry_policy)
        while (attempt := delivery.next_attempt()) is not None:
            await self._pause(attempt)
            outcome = await self._post(http, attempt.messages)
            log.debug(
                "batch of %d: %s %s", len(attempt.messages), outcome.kind, outcome.status or ""
            )
            for error in delivery.settle(attempt, outcome):
                report(self.on_error, error)

    async def _pause(self, attempt: Attempt) -> None:
        assert self._hurry is not None
        if attempt.wait_s <= 0:
            return
        if attempt.server_asked:
            await asyncio.sleep(attempt.wait_s)
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), attempt.wait_s)
        self._hurry.clear()

    async def _post(self, http: httpx.AsyncClient, messages: list[Queued]) -> Outcome:
        body = request_body(messages, datetime.now(timezone.utc))
        try:
            response = await http.post(
                self.options.batch_url,
                content=body,
                headers=self.options.headers,
                auth=self.options.auth,
            )
        except Exception as error:  # noqa: BLE001 - any transport failure is retried
            return unreachable(error)
        return read_answer(response.status_code, response.headers, response.content, len(messages))
