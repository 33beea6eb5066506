"""Lookout's analytics client for Python back ends.

`Client` (threads) and `AsyncClient` (asyncio) queue `track`, `identify` and `page`
calls and send them to ingest's `/v1/batch` in the background, retrying what can be
retried. No call raises into the application: what is dropped goes to `on_error`.
"""

from lookout_client.async_client import AsyncClient
from lookout_client.client import Client
from lookout_client.errors import (
    ClientClosed,
    DeliveryFailed,
    InvalidMessage,
    LookoutClientError,
    MessageTooLarge,
    QueueFull,
    Rejected,
    Unauthorized,
)
from lookout_client.version import __version__

__all__ = [
    "AsyncClient",
    "Client",
    "ClientClosed",
    "DeliveryFailed",
    "InvalidMessage",
    "LookoutClientError",
    "MessageTooLarge",
    "QueueFull",
    "Rejected",
    "Unauthorized",
    "__version__",
]
