"""The admin client's exceptions: every failed call raises a `LookoutAdminError` subclass
chosen by the HTTP status, carrying that status and the API's reasons as
`(field, reason)` pairs (`field` is None when the reason is about the whole request).

The same classes, for the same statuses, as `@lookout/admin`'s errors.js.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import NamedTuple

# FastAPI's error locations start with where the value was; the field is what follows.
_LOCATIONS = ("body", "query", "path", "header")


class Reason(NamedTuple):
    """One reason the API gave: the field it is about (`hour`, `collections.0`) or None."""

    field: str | None
    reason: str


class LookoutAdminError(Exception):
    """A call failed. `status` is the HTTP status, 0 for a network failure or a timeout,
    None when the client refused the request before sending it; `body` is the answer's
    body as the API sent it (parsed JSON, text, or None)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reasons: Sequence[Reason] = (),
        body: object = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reasons: list[Reason] = list(reasons)
        self.body = body


class LookoutAuthenticationError(LookoutAdminError):
    """401: the key is missing, unknown or revoked."""


class LookoutPermissionError(LookoutAdminError):
    """403: the key's role may not do this (viewers read, admins act)."""


class LookoutNotFoundError(LookoutAdminError):
    """404: no such run, schedule, check or incident."""


class LookoutConflictError(LookoutAdminError):
    """409: a schedule of that name exists."""


class LookoutValidationError(LookoutAdminError):
    """400 or 422 from the API (each invalid field with its reason), or a request the
    client refused before sending it (`status` None)."""


class LookoutRateLimitError(LookoutAdminError):
    """429: too many requests for this key. `retry_after` is the seconds the API asked to
    wait (its `Retry-After`), or None when it did not say."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 429,
        reasons: Sequence[Reason] = (),
        body: object = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, reasons=reasons, body=body)
        self.retry_after = retry_after


class LookoutUnavailableError(LookoutAdminError):
    """The API or a worker behind it cannot answer: a 5xx (502: a worker is down, 504:
    too slow), or a network failure or a timeout (`status` 0)."""


def _field_of(location: object) -> str | None:
    if not isinstance(location, list):
        return None
    parts = [
        str(part) for index, part in enumerate(location) if not (index == 0 and part in _LOCATIONS)
    ]
    return ".".join(parts) if parts else None


def reasons_of(body: object) -> list[Reason]:
    """The reasons an error body gives: FastAPI's `detail` (a string, a list of
    validation errors, or `{field, reason}`), or an `errors` list."""
    if isinstance(body, str):
        return [Reason(None, body)] if body else []
    if not isinstance(body, Mapping):
        return []
    detail = body.get("detail")
    if isinstance(detail, str):
        return [Reason(None, detail)]
    if isinstance(detail, list):
        return [
            Reason(_field_of(item.get("loc")), str(item.get("msg", item)))
            if isinstance(item, Mapping)
            else Reason(None, str(item))
            for item in detail
        ]
    if isinstance(detail, Mapping):
        field = detail.get("field")
        reason = detail.get("reason")
        return [
            Reason(
                field if isinstance(field, str) else None,
                reason if isinstance(reason, str) else str(dict(detail)),
            )
        ]
    errors = body.get("errors")
    if isinstance(errors, list):
        found: list[Reason] = []
        for item in errors:
            if not isinstance(item, Mapping):
                found.append(Reason(None, str(item)))
                continue
            field = item.get("field")
            said = item.get("reason", item.get("message", dict(item)))
            found.append(Reason(field if isinstance(field, str) else None, str(said)))
        return found
    return []


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """`Retry-After` as seconds from `now`: delta-seconds or an HTTP date; None when
    absent or unreadable."""
    if value is None or value.strip() == "":
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return max(0.0, (at - (now or datetime.now(timezone.utc))).total_seconds())


def error_for(
    status: int,
    body: object,
    *,
    method: str = "GET",
    path: str = "",
    retry_after: str | None = None,
) -> LookoutAdminError:
    """The exception for an HTTP answer that is not a success."""
    reasons = reasons_of(body)
    said = "; ".join(f"{field}: {reason}" if field else reason for field, reason in reasons)
    message = f"{method} {path} answered HTTP {status}" + (f": {said}" if said else "")
    kind: type[LookoutAdminError]
    if status == 429:
        return LookoutRateLimitError(
            message,
            status=status,
            reasons=reasons,
            body=body,
            retry_after=retry_after_seconds(retry_after),
        )
    if status == 401:
        kind = LookoutAuthenticationError
    elif status == 403:
        kind = LookoutPermissionError
    elif status == 404:
        kind = LookoutNotFoundError
    elif status == 409:
        kind = LookoutConflictError
    elif status in (400, 422):
        kind = LookoutValidationError
    elif status >= 500:
        kind = LookoutUnavailableError
    else:
        kind = LookoutAdminError
    return kind(message, status=status, reasons=reasons, body=body)
