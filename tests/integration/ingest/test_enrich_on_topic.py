"""Derived fields of a real ingest process, read back from the real topic: the country and
city of a consenting client's IP from a GeoLite2-City format database, no geography
without consent, the parsed user agent, error fingerprints and normalised queries."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from support.geoip import city_record, write_mmdb
from support.messages import track

pytestmark = pytest.mark.integration

GB_IP = "81.2.69.142"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
STACK = (
    "TypeError: Cannot read properties of undefined (reading 'id')\n"
    "    at renderCart (https://shop.example/static/js/cart.js:{line}:17)\n"
    "    at onClick (https://shop.example/static/js/app.js:3:5)"
)


@pytest.fixture
def geoip_database(tmp_path: Path) -> Path:
    """A GeoLite2-City format MMDB written for this test: 81.2.69.0/24 is London, GB."""
    return write_mmdb(
        tmp_path / "GeoLite2-City-test.mmdb",
        {
            "81.2.69.0/24": city_record("GB", "London"),
            "2001:db8::/32": city_record("DE", "Berlin"),
        },
    )


@pytest.fixture
async def geo_ingest(ingest_with, geoip_database: Path):
    """A real ingest process behind a (pretend) proxy, with the test GeoIP database."""
    return await ingest_with(
        LOOKOUT_GEOIP_DATABASE=str(geoip_database), LOOKOUT_TRUST_FORWARDED_FOR="true"
    )


async def test_consenting_gb_client_arrives_located_without_its_full_ip(geo_ingest) -> None:
    consenting = track(context={"consent": {"analytics": True, "geo": True}})
    refusing = track(context={"consent": {"analytics": True}, "geo": {"country": "FR"}})
    relayed = track(context={"consent": {"geo": True}, "ip": "2001:db8:5:6::1"})
    response = await geo_ingest.post(
        "/v1/batch",
        {"batch": [consenting, refusing, relayed]},
        headers={"X-Forwarded-For": GB_IP},
    )
    assert response.status_code == 200, response.text

    records = await geo_ingest.published(expect=3)
    located = records[consenting["messageId"]]
    assert located["context"]["geo"] == {"country": "GB", "city": "London"}
    assert located["context"]["ip"] == "81.2.69.0"
    assert GB_IP not in json.dumps(located)
    unlocated = records[refusing["messageId"]]
    assert "geo" not in unlocated["context"]
    assert "ip" not in unlocated["context"]
    assert GB_IP not in json.dumps(unlocated)
    # A back end relaying its user's event: the event's own address is the one located.
    relayed_context = records[relayed["messageId"]]["context"]
    assert relayed_context["geo"] == {"country": "DE", "city": "Berlin"}
    assert relayed_context["ip"] == "2001:db8:5::"


async def test_user_agent_and_error_and_search_arrive_enriched(geo_ingest) -> None:
    browser = track(context={"userAgent": CHROME, "ua": {"browser": "spoofed"}})
    errors = [
        track(
            "error_occurred",
            {"message": f"User {user} not found", "type": "TypeError", "stack": stack},
        )
        for user, stack in ((42, STACK.format(line=10)), (7, STACK.format(line=12)))
    ]
    search = track("search_performed", {"query": "  Deep TISSUE massage! "})
    response = await geo_ingest.post("/v1/batch", {"batch": [browser, *errors, search]})
    assert response.status_code == 200, response.text

    records = await geo_ingest.published(expect=4)
    assert records[browser["messageId"]]["context"]["ua"] == {
        "browser": "Chrome",
        "browserVersion": "124.0.0.0",
        "os": "Windows",
        "osVersion": "10",
        "device": "desktop",
    }
    first, second = (records[error["messageId"]]["properties"] for error in errors)
    assert first["topFrame"] == "renderCart (https://shop.example/static/js/cart.js)"
    assert re.fullmatch(r"[0-9a-f]{16}", first["fingerprint"])
    assert first["fingerprint"] == second["fingerprint"]
    assert first["message"] == "User 42 not found"
    assert records[search["messageId"]]["properties"]["queryNormalized"] == "deep tissue massage"
