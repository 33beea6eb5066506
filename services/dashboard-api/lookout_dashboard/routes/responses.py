"""The error answers dashboard-api's operations document, typed as FastAPI's `responses=`
takes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lookout_common.infra.auth import AUTH_ERRORS

Responses = dict[int | str, dict[str, Any]]


def responses(*parts: Mapping[int, Mapping[str, Any]] | Responses) -> Responses:
    """The answers of every part, in order; a later part's answer for a status code
    replaces an earlier one's in its place (as `{**first, **second}` does)."""
    merged: Responses = {}
    for part in parts:
        for code, answer in part.items():
            merged[code] = dict(answer)
    return merged


# A key's refusals (401, 403), as every /api/v1 operation may answer them.
AUTH = responses(AUTH_ERRORS)
# The analytics endpoints: a key's refusals and a range or granularity that is not allowed.
RANGE_ERRORS = responses(
    AUTH_ERRORS,
    {422: {"description": "Invalid range or granularity (the reason names the field)"}},
)
