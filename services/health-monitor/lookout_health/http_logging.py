"""What the HTTP client library may log in the monitor and the alert consumer.

httpx logs every request's full URL at INFO ("HTTP Request: GET
https://user:password@host/…"), and probe URLs and receiver URLs may carry a
password or a token (a Slack webhook URL is itself the secret). The monitor's own
messages are redacted (`lookout_health.checks.redact`); the library's are silenced.
"""

from __future__ import annotations

import logging

HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")


def quiet_http_client_logs() -> None:
    """httpx and httpcore log warnings and errors only, whatever LOOKOUT_LOG_LEVEL says."""
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
