"""Small GeoLite2-format databases for tests, written with mmdb-writer."""

from __future__ import annotations

from pathlib import Path

from mmdb_writer import MMDBWriter
from netaddr import IPSet


def city_record(country: str, city: str) -> dict:
    """A record in the GeoLite2-City layout (the fields ingest reads, plus neighbours)."""
    return {
        "city": {"geoname_id": 1, "names": {"en": city, "de": city}},
        "country": {"geoname_id": 2, "iso_code": country, "names": {"en": country}},
        "location": {"latitude": 1.5, "longitude": 2.5},
    }


def write_mmdb(
    path: Path, networks: dict[str, dict], *, database_type: str = "GeoLite2-City", ipv6=True
) -> Path:
    """An MMDB at `path` mapping each network (CIDR) to its record; IPv4 maps into IPv6."""
    writer = MMDBWriter(
        ip_version=6 if ipv6 else 4,
        database_type=database_type,
        languages=["en"],
        ipv4_compatible=ipv6,
    )
    for network, record in networks.items():
        writer.insert_network(IPSet([network]), record)
    writer.to_db_file(str(path))
    return path
