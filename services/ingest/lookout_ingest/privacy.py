"""What an event may carry to Kafka: the person's consent, a truncated IP, no location
without geo consent.

Consent is read from `context.consent` (Segment's consent object):
`{"analytics": bool, "geo": bool}`, or the same names inside `categoryPreferences`
(any case). Analytics consent is assumed unless `analytics` is present and not
`true` (first-party product analytics; a refusal wins, even a malformed one). Geo
consent is given only by `geo: true`.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass
from typing import Any

from lookout_common.contracts.events import IDENTIFY_EVENT, EventType

# Removed from `context` without geo consent (`geo` is ingest's own, derived again later).
CONTEXT_GEO_KEYS = frozenset({"location", "ip", "geo"})
# Removed from the top level of `properties` and `traits` without geo consent, compared
# ignoring case, `_` and `-` (so `geoLocation` and `geo_location` are the same key).
GEO_KEYS = frozenset(
    {
        "location",
        "geo",
        "geolocation",
        "coordinates",
        "coords",
        "latitude",
        "longitude",
        "lat",
        "lng",
        "lon",
    }
)
IPV4_PREFIX, IPV6_PREFIX = 24, 48
_KNOWN_EVENTS = frozenset({*(member.value for member in EventType), IDENTIFY_EVENT})


@dataclass(frozen=True)
class Consent:
    analytics: bool = True
    geo: bool = False


def consent_of(context: Any) -> Consent:
    """The consent an event's `context` declares (see the module docstring for defaults)."""
    declared = context.get("consent") if isinstance(context, dict) else None
    if not isinstance(declared, dict):
        return Consent()
    choices = {str(key).lower(): value for key, value in declared.items()}
    preferences = declared.get("categoryPreferences")
    if isinstance(preferences, dict):
        for key, value in preferences.items():
            choices.setdefault(str(key).lower(), value)
    analytics = "analytics" not in choices or choices["analytics"] is True
    return Consent(analytics=analytics, geo=choices.get("geo") is True)


@functools.lru_cache(maxsize=8192)
def normalized_key(key: str) -> str:
    """`key` as deny and geo lists compare it; events repeat a few keys, so the latest
    8,192 are remembered (at most 256 characters each: about 2 MB)."""
    return key.lower().replace("_", "").replace("-", "")


def truncate_ip(value: Any) -> str | None:
    """The network of an address: IPv4 to its /24 (a.b.c.0), IPv6 to its /48; None if invalid.

    An IPv4-mapped IPv6 address is treated as the IPv4 address it carries.
    """
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False).network_address)


def client_ip(peer: str | None, forwarded_for: str | None, trust_forwarded_for: bool) -> str | None:
    """The address the request came from, before truncation (kept in memory only).

    With `trust_forwarded_for`, the last valid X-Forwarded-For entry: the one the
    proxy in front of ingest appended. Earlier entries are the client's own claims.
    """
    if trust_forwarded_for and forwarded_for:
        for entry in reversed(forwarded_for.split(",")):
            candidate = entry.strip()
            try:
                ipaddress.ip_address(candidate)
            except ValueError:
                continue
            return candidate
    return peer


def counted_name(event: str) -> str:
    """The `event` label of a metric: the product's event names, else `custom` (bounded)."""
    return event if event in _KNOWN_EVENTS else "custom"


def _without_geo(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if normalized_key(key) not in GEO_KEYS}


@dataclass(frozen=True)
class Located:
    """Context, properties and traits as they may travel, and the whole address the
    published `context.ip` was truncated from (to locate; never published)."""

    context: dict[str, Any]
    properties: dict[str, Any]
    traits: dict[str, Any]
    address: str | None = None


def apply_geo_consent(
    context: dict[str, Any],
    properties: dict[str, Any],
    traits: dict[str, Any],
    *,
    geo: bool,
    request_ip: str | None,
) -> Located:
    """With geo consent, `context.ip` becomes the truncated address (the client's own
    `context.ip` when it sent one, else the request's); without it there is no IP and no
    location at all.

    A `context.ip` that is not an address is dropped, not replaced by the request's
    address: a back end relaying a user's event would otherwise lend it its own.
    """
    kept = {key: value for key, value in context.items() if key not in CONTEXT_GEO_KEYS}
    if not geo:
        return Located(kept, _without_geo(properties), _without_geo(traits))
    if "location" in context:
        kept["location"] = context["location"]
    sent_ip = context.get("ip")
    address = sent_ip if sent_ip is not None else request_ip
    ip = truncate_ip(address)
    if ip is None or address is None:
        return Located(kept, properties, traits)
    kept["ip"] = ip
    return Located(kept, properties, traits, address.strip())
