"""Where an event comes from, as a country and maybe a city, for events with geo consent.

Two sources, in this order: the client's own `context.location` (Segment's shape,
`{"country": …, "city": …}`), else its IP address looked up in a MaxMind DB file in the
GeoLite2-City layout (`country.iso_code`, `city.names.en`; GeoLite2-Country files have no
city). A lookup that fails or finds nothing gives no place: never an error.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb
from prometheus_client import Counter

log = logging.getLogger("lookout.ingest.geo")

GEOIP_LOOKUPS = Counter(
    "lookout_ingest_geoip_lookups_total",
    "Client IPs looked up in the GeoIP database, by result (found, unknown, failed)",
    ["result"],
)
COUNTRY_NAME_MAX, CITY_NAME_MAX = 64, 128


@dataclass(frozen=True)
class Place:
    country: str
    city: str | None = None

    def as_context(self) -> dict[str, str | None]:
        """The `context.geo` value published with the event."""
        return {"country": self.country, "city": self.city}


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    return text[:limit] or None


def place_from_location(location: Any) -> Place | None:
    """The place a client declared in `context.location`, if it names a country.

    A two-letter country is taken as an ISO 3166-1 code and upper-cased; a longer
    name ("Germany") is kept as sent.
    """
    if not isinstance(location, dict):
        return None
    country = _text(location.get("country"), COUNTRY_NAME_MAX)
    if country is None:
        return None
    if len(country) == 2 and country.isalpha():
        country = country.upper()
    return Place(country, _text(location.get("city"), CITY_NAME_MAX))


def _record_place(record: Any) -> Place | None:
    if not isinstance(record, dict):
        return None
    country = record.get("country")
    code = country.get("iso_code") if isinstance(country, dict) else None
    if not isinstance(code, str) or not code:
        return None
    city = record.get("city")
    names = city.get("names") if isinstance(city, dict) else None
    name = names.get("en") if isinstance(names, dict) else None
    return Place(code.upper(), _text(name, CITY_NAME_MAX))


class GeoDatabase:
    """One MMDB file, opened once (memory-mapped) for the life of the process."""

    def __init__(self, path: Path) -> None:
        self._reader = maxminddb.open_database(str(path))

    @classmethod
    def open(cls, path: Path | None) -> GeoDatabase | None:
        """The database at `path`; None when unset or unreadable (logged once: ingest then
        runs without IP lookups rather than not at all)."""
        if path is None:
            return None
        try:
            return cls(path)
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
            log.warning(
                "GeoIP database cannot be opened; client IPs will not be located",
                extra={"path": str(path), "error": str(error)},
            )
            return None

    def locate(self, ip: str) -> Place | None:
        """The country (and city, if the file has cities) of `ip`; None when unknown."""
        try:
            address = ipaddress.ip_address(ip)
            if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
                address = address.ipv4_mapped
            record = self._reader.get(address)
        except (ValueError, maxminddb.InvalidDatabaseError):
            # Not an address, an IPv6 address in an IPv4-only file, or a damaged file.
            GEOIP_LOOKUPS.labels("failed").inc()
            return None
        place = _record_place(record)
        GEOIP_LOOKUPS.labels("unknown" if place is None else "found").inc()
        return place

    def close(self) -> None:
        self._reader.close()
