"""What a check's message may not show. Messages reach viewers, the `health.checks.v1`
topic, incidents and Slack, so before a message leaves its probe: URLs lose their
credentials, query string and fragment, and every secret of the check (each value a
`${VAR}` put into its config, passwords in its URL or DSN, S3 keys, header values) is
replaced by `***`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

from lookout_health.config import CheckBase

REDACTED = "***"
# Shorter values hide nothing and, replaced everywhere, would garble every message (a
# `${DEBUG}` of "1" would take every digit 1 out of every message).
MIN_SECRET_LENGTH = 4
# A URL inside a message: a scheme, then everything up to whitespace or a closing mark,
# less the punctuation that ends a sentence.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]{0,15}://[^\s'\"<>()\[\]{}]*[^\s'\"<>()\[\]{},.;:!?]")


def redact_url(url: str) -> str:
    """`url` without user, password, query string or fragment (`?…` marks a dropped query)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED  # not a URL we can take apart: show none of it
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    if parts.username is not None or parts.password is not None:
        netloc = f"{REDACTED}@{netloc}"
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def secrets_of(check: CheckBase) -> set[str]:
    """Every value of `check` that its messages must never show."""
    found = set(check.expanded)
    for name in ("url", "dsn"):
        value = getattr(check, name, None)
        if isinstance(value, str):
            try:
                parts = urlsplit(value)
                found |= {parts.password or "", parts.username or ""}
            except ValueError:
                found.add(value)
    for name in ("access_key_id", "secret_access_key", "body"):
        value = getattr(check, name, None)
        if isinstance(value, str):
            found.add(value)
    headers = getattr(check, "headers", None) or {}
    found |= set(headers.values())
    auth = getattr(check, "auth", None)
    if auth is not None and auth.sasl_password is not None:
        found.add(auth.sasl_password.get_secret_value())
    return {value for value in found if len(value) >= MIN_SECRET_LENGTH}


def redact(message: str, secrets: Iterable[str]) -> str:
    """`message` with each secret replaced, then its URLs reduced (`redact_url`)."""
    # One pass, longest first: a secret containing another is replaced whole, and no
    # replacement is scanned again.
    ordered = sorted(
        {secret for secret in secrets if len(secret) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    )
    if ordered:
        message = re.sub("|".join(map(re.escape, ordered)), REDACTED, message)
    return _URL.sub(lambda match: redact_url(match.group(0)), message)
