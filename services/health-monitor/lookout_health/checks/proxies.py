"""The proxy an `http` check goes through, from the environment as httpx read it:
`HTTP_PROXY` / `HTTPS_PROXY` (or lower case) name it per URL scheme, `NO_PROXY` lists the
hosts and domains reached directly (`*`: all), both read per request by `urllib.request`
(so a changed environment applies to the next run)."""

from __future__ import annotations

import base64
import urllib.request
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True, slots=True)
class Proxy:
    host: str
    port: int
    authorization: str | None  # the `Proxy-Authorization` value, from the proxy URL


def basic_authorization(user: str | None, password: str | None) -> str:
    credentials = f"{unquote(user or '')}:{unquote(password or '')}"
    return "Basic " + base64.b64encode(credentials.encode()).decode("ascii")


def proxy_for(scheme: str, host: str) -> Proxy | None:
    """The proxy the environment names for `scheme` (None when none is, or `NO_PROXY`
    exempts `host`)."""
    url = urllib.request.getproxies_environment().get(scheme)
    if not url or urllib.request.proxy_bypass(host):
        return None
    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{scheme.upper()}_PROXY is not an http:// proxy URL: {parts.scheme}")
    authorization = (
        None if parts.username is None else basic_authorization(parts.username, parts.password)
    )
    return Proxy(parts.hostname, parts.port or 80, authorization)
