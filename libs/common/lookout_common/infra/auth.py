"""API-key authentication for every Lookout HTTP API: `Authorization: Bearer <key>`, one role
per key. The app must set `app.state.keys` to a `KeyCache`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lookout_common.infra.apikeys import ApiKey, KeyCache, Role

bearer = HTTPBearer(auto_error=False, description="An admin or viewer API key")

READ_ROLES = frozenset({Role.ADMIN, Role.VIEWER})

# The answers `require` may give, for an endpoint's OpenAPI `responses`.
# Typed as FastAPI's `responses=` takes them.
AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked API key"},
    403: {"description": "The key's role may not use this endpoint"},
}
ADMIN_ROLES = frozenset({Role.ADMIN})


def require(roles: frozenset[Role]) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency that returns the caller's key: 401 without a valid key, 403 for a
    key whose role may not use the endpoint."""

    async def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> ApiKey:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "missing API key: send Authorization: Bearer <key>",
                headers=challenge,
            )
        keys: KeyCache = request.app.state.keys
        key = await keys.lookup(credentials.credentials)
        if key is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key", headers=challenge
            )
        if key.role not in roles:
            allowed = " or ".join(sorted(role.value for role in roles))
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"a {key.role.value} key cannot do this; needs {allowed}"
            )
        return key

    return dependency


# Route parameters: `key: Reader` (admin or viewer) and `key: Admin` (admin only).
Reader = Annotated[ApiKey, Depends(require(READ_ROLES))]
Admin = Annotated[ApiKey, Depends(require(ADMIN_ROLES))]
