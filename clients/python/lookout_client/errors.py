"""What `on_error` receives: one exception per drop, naming the reason and the messages.

None of these is ever raised into the application by `track`, `identify`, `page` or
`flush`; they are handed to `on_error` and the messages they carry are gone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

log = logging.getLogger("lookout_client")

ErrorHandler = Callable[["LookoutClientError"], object]


class LookoutClientError(Exception):
    """Messages were dropped. `reason` never contains property or trait values."""

    def __init__(
        self,
        reason: str,
        messages: Sequence[Mapping[str, Any]] = (),
        *,
        status: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.messages = [dict(message) for message in messages]
        self.status = status

    @property
    def message_ids(self) -> list[str]:
        return [str(message.get("messageId")) for message in self.messages]


class InvalidMessage(LookoutClientError):
    """The call's arguments could not make a message (no user or anonymous id, a value
    that is not JSON, an unknown helper stage...). Nothing was queued."""


class MessageTooLarge(LookoutClientError):
    """The message is over ingest's per-event limit; it was never sent."""


class QueueFull(LookoutClientError):
    """`max_queue` messages were already waiting; the newest one was dropped."""


class ClientClosed(LookoutClientError):
    """The call came after `close()`."""


class Rejected(LookoutClientError):
    """Ingest refused these messages (400); the rest of their batch was stored.

    `reasons` maps each rejected `messageId` to ingest's `field: reason` lines.
    """

    def __init__(
        self,
        reason: str,
        messages: Sequence[Mapping[str, Any]],
        reasons: Mapping[str, list[str]],
        *,
        status: int | None = 400,
    ) -> None:
        super().__init__(reason, messages, status=status)
        self.reasons = dict(reasons)


class Unauthorized(LookoutClientError):
    """Ingest refused the write key (401/403): retrying would not help."""


class DeliveryFailed(LookoutClientError):
    """The batch could not be delivered: retries ran out, or ingest gave an answer that
    retrying cannot change."""


def report(on_error: ErrorHandler | None, error: LookoutClientError) -> None:
    """Log the drop at debug level and hand it to `on_error`; an `on_error` that raises
    is logged, never propagated."""
    log.debug(
        "dropped %d message(s): %s: %s",
        len(error.messages),
        type(error).__name__,
        error.reason,
    )
    if on_error is None:
        return
    try:
        on_error(error)
    except Exception:  # the application's handler must not break the client
        log.warning("on_error raised while reporting %s", type(error).__name__, exc_info=True)
