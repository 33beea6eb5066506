"""Schemathesis checks loaded with SCHEMATHESIS_HOOKS=support.schemathesis_hooks."""

from __future__ import annotations

import schemathesis

# FastAPI parses a JSON body before it runs the key's dependency: bytes that are not JSON
# are refused first (400, or 422 `json_invalid`). Nothing is done either way.
UNPARSEABLE = ("error parsing the body", "JSON decode error")


@schemathesis.check
def admin_operation_refused(ctx, response, case) -> None:
    """Every request to an admin operation made with a non-admin key answers 403 (401 when
    the generated request dropped the key; 400 or 422 for a body that is not JSON)."""
    if response.request.method != case.operation.method.upper():
        return  # a probe with another method (TRACE…): its 405 is not an admin operation
    if response.status_code in (400, 422) and any(text in response.text for text in UNPARSEABLE):
        return
    sent_key = response.request.headers.get("Authorization")  # what went over the wire
    expected = 403 if sent_key and sent_key.startswith("Bearer lk_") else 401
    if response.status_code != expected:
        raise AssertionError(
            f"{case.method} {case.path} answered {response.status_code}, expected {expected}"
        )
