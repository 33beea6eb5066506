"""Fields ingest derives for each published event: the parsed user agent, the country and
city (with geo consent only), error fingerprints and normalised search queries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.geoip import city_record, write_mmdb
from support.messages import received, track

from lookout_common.infra.settings import IngestSettings
from lookout_ingest.enrich import (
    Enricher,
    error_fingerprint,
    normalized_message,
    normalized_query,
    top_frame,
)
from lookout_ingest.geo import GeoDatabase, place_from_location
from lookout_ingest.privacy import apply_geo_consent
from lookout_ingest.screening import Origin, Screen
from lookout_ingest.useragent import parse_user_agent

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
CHROME_ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
SAMSUNG_TV = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36"
)
GEO = {"consent": {"geo": True}}


def event(name: str = "x_event", properties: dict | None = None, context: dict | None = None):
    return received(track(name, properties, messageId=f"m-{name}", context=context or {}))


@pytest.fixture(scope="module")
def city_db(tmp_path_factory) -> Path:
    """A small GeoLite2-City format MMDB (IPv6 tree, IPv4 mapped into it)."""
    return write_mmdb(
        tmp_path_factory.mktemp("geoip") / "city.mmdb",
        {
            "81.2.69.0/24": city_record("GB", "London"),
            "2001:db8::/32": city_record("DE", "Berlin"),
            "192.0.2.0/24": {"country": {"iso_code": "fr"}},
            "198.51.100.0/24": {"continent": {"code": "EU"}},
        },
    )


@pytest.fixture(scope="module")
def country_db(tmp_path_factory) -> Path:
    """A GeoLite2-Country format MMDB for IPv4 only: countries, no cities."""
    return write_mmdb(
        tmp_path_factory.mktemp("geoip") / "country.mmdb",
        {"81.2.69.0/24": {"country": {"iso_code": "GB"}}},
        database_type="GeoLite2-Country",
        ipv6=False,
    )


@pytest.fixture
def enricher(city_db: Path):
    enricher = Enricher(GeoDatabase.open(city_db))
    yield enricher
    enricher.close()


# --- user agent --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_WINDOWS, ("Chrome", "124.0.0.0", "Windows", "10", "desktop")),
        (FIREFOX_WINDOWS, ("Firefox", "125.0", "Windows", "10", "desktop")),
        (SAFARI_IPHONE, ("Mobile Safari", "17.4.1", "iOS", "17.4.1", "mobile")),
        (SAFARI_IPAD, ("Mobile Safari", "16.6", "iOS", "16.6", "tablet")),
        (CHROME_ANDROID_PHONE, ("Chrome Mobile", "124.0.6367.82", "Android", "14", "mobile")),
        (CHROME_ANDROID_TABLET, ("Chrome", "123.0.0.0", "Android", "13", "tablet")),
        (SAFARI_MAC, ("Safari", "17.4", "Mac OS X", "10.15.7", "desktop")),
        (SAMSUNG_TV, ("Samsung Internet", "4.0", "Tizen", "6.0", "other")),
        ("curl/8.5.0", ("curl", "8.5.0", "Other", None, "other")),
        ("something odd", ("Other", None, "Other", None, "other")),
    ],
)
def test_user_agent_is_parsed_into_browser_os_and_device_class(user_agent, expected) -> None:
    browser, browser_version, os, os_version, device = expected
    assert parse_user_agent(user_agent).as_context() == {
        "browser": browser,
        "browserVersion": browser_version,
        "os": os,
        "osVersion": os_version,
        "device": device,
    }


def test_repeated_user_agent_is_answered_from_the_cache_with_a_fresh_dict() -> None:
    first, second = parse_user_agent(CHROME_WINDOWS), parse_user_agent(CHROME_WINDOWS)
    assert first is second
    published = first.as_context()
    published["browser"] = "changed by a caller"
    assert parse_user_agent(CHROME_WINDOWS).as_context()["browser"] == "Chrome"


def test_client_sent_ua_is_overwritten_by_the_parsed_user_agent(enricher) -> None:
    spoofed = {"browser": "Netscape", "device": "mainframe", "extra": 1}
    enriched = enricher.enrich(
        event(context={"userAgent": SAFARI_IPHONE, "ua": spoofed}), client_ip=None, geo=False
    )
    assert enriched.context["ua"] == {
        "browser": "Mobile Safari",
        "browserVersion": "17.4.1",
        "os": "iOS",
        "osVersion": "17.4.1",
        "device": "mobile",
    }
    assert enriched.context["userAgent"] == SAFARI_IPHONE


@pytest.mark.parametrize("user_agent", [None, "", 42])
def test_without_a_user_agent_there_is_no_ua_and_a_client_sent_one_is_removed(
    enricher, user_agent
) -> None:
    context = {"ua": {"browser": "Netscape"}, "locale": "de-DE"}
    if user_agent is not None:
        context["userAgent"] = user_agent
    enriched = enricher.enrich(event(context=context), client_ip=None, geo=False)
    assert "ua" not in enriched.context
    assert enriched.context["locale"] == "de-DE"


# --- geography ---------------------------------------------------------------------------


def test_ip_of_a_consenting_event_is_located_in_the_database(enricher) -> None:
    assert enricher.enrich(event(context=GEO), "81.2.69.142", geo=True).context["geo"] == {
        "country": "GB",
        "city": "London",
    }
    assert enricher.enrich(event(context=GEO), "2001:db8:1::7", geo=True).context["geo"] == {
        "country": "DE",
        "city": "Berlin",
    }
    assert enricher.enrich(event(context=GEO), "::ffff:81.2.69.9", geo=True).context["geo"] == {
        "country": "GB",
        "city": "London",
    }


def test_record_without_a_city_gives_the_country_upper_cased_and_no_city(enricher) -> None:
    assert enricher.enrich(event(context=GEO), "192.0.2.10", geo=True).context["geo"] == {
        "country": "FR",
        "city": None,
    }


@pytest.mark.parametrize("ip", ["198.51.100.4", "203.0.113.9", "127.0.0.1", "not-an-ip", ""])
def test_unknown_or_invalid_ip_gives_no_geo_and_no_error(enricher, ip) -> None:
    enriched = enricher.enrich(event(context={**GEO, "geo": {"country": "XX"}}), ip, geo=True)
    assert "geo" not in enriched.context


def test_client_location_wins_over_the_ip(enricher) -> None:
    context = {**GEO, "location": {"country": "de", "city": "  Munich ", "latitude": 48.1}}
    enriched = enricher.enrich(event(context=context), "81.2.69.142", geo=True)
    assert enriched.context["geo"] == {"country": "DE", "city": "Munich"}
    assert enriched.context["location"] == context["location"]


@pytest.mark.parametrize(
    ("location", "geo"),
    [
        ({"country": "Germany"}, {"country": "Germany", "city": None}),
        ({"country": "gb", "city": 7}, {"country": "GB", "city": None}),
        ({"city": "Paris"}, {"country": "GB", "city": "London"}),  # no country: the IP
        ({"country": ""}, {"country": "GB", "city": "London"}),
        ("Berlin", {"country": "GB", "city": "London"}),
    ],
)
def test_client_location_counts_only_when_it_names_a_country(enricher, location, geo) -> None:
    enriched = enricher.enrich(
        event(context={**GEO, "location": location}), "81.2.69.142", geo=True
    )
    assert enriched.context["geo"] == geo


def test_without_geo_consent_there_is_no_geo_even_from_a_location_or_a_client(enricher) -> None:
    context = {"location": {"country": "DE", "city": "Berlin"}, "geo": {"country": "FR"}}
    enriched = enricher.enrich(event(context=context), "81.2.69.142", geo=False)
    assert "geo" not in enriched.context


def test_country_database_gives_countries_and_ipv6_there_is_no_error(country_db) -> None:
    enricher = Enricher(GeoDatabase.open(country_db))
    try:
        assert enricher.enrich(event(context=GEO), "81.2.69.1", geo=True).context["geo"] == {
            "country": "GB",
            "city": None,
        }
        assert "geo" not in enricher.enrich(event(context=GEO), "2001:db8::1", geo=True).context
    finally:
        enricher.close()


def test_missing_or_damaged_database_means_no_ip_lookup(tmp_path) -> None:
    damaged = tmp_path / "damaged.mmdb"
    damaged.write_bytes(b"not a maxmind database")
    assert GeoDatabase.open(tmp_path / "missing.mmdb") is None
    assert GeoDatabase.open(damaged) is None
    assert GeoDatabase.open(None) is None
    enriched = Enricher(None).enrich(event(context=GEO), "81.2.69.142", geo=True)
    assert "geo" not in enriched.context


def test_place_and_address_rules() -> None:
    assert place_from_location({"country": "us", "city": "New  York"}).as_context() == {
        "country": "US",
        "city": "New York",
    }
    assert place_from_location({"country": None}) is None
    # The address located is the one the published `context.ip` was truncated from.
    assert locate({"ip": " 81.2.69.1 "}, "10.0.0.1") == ("81.2.69.1", "81.2.69.0")
    assert locate({"ip": 12}, "10.0.0.1") == (None, None)  # a bad ip is not replaced
    assert locate({}, "10.0.0.1") == ("10.0.0.1", "10.0.0.0")
    assert locate({"ip": None}, "10.0.0.1") == ("10.0.0.1", "10.0.0.0")


def locate(context: dict, request_ip: str) -> tuple[str | None, str | None]:
    located = apply_geo_consent(context, {}, {}, geo=True, request_ip=request_ip)
    return located.address, located.context.get("ip")


def test_screen_locates_the_full_ip_then_publishes_only_its_network(city_db) -> None:
    screen = Screen(IngestSettings(geoip_database=city_db))
    try:
        events = [
            event("from-request", context=GEO),
            event("sent-ip", context={**GEO, "ip": "2001:db8:aa:bb::1"}),
            event("no-consent", context={"ip": "81.2.69.142", "geo": {"country": "FR"}}),
        ]
        screened = screen.screen(events, Origin(ip="81.2.69.142"))
    finally:
        screen.close()
    published = {e.event_id: e.context for e in screened.publish}
    assert published["m-from-request"] == {
        "consent": {"geo": True},
        "ip": "81.2.69.0",
        "geo": {"country": "GB", "city": "London"},
    }
    assert published["m-sent-ip"]["ip"] == "2001:db8:aa::"
    assert published["m-sent-ip"]["geo"] == {"country": "DE", "city": "Berlin"}
    assert published["m-no-consent"] == {}


def test_dead_letter_without_geo_consent_drops_a_client_geo(city_db) -> None:
    screen = Screen(IngestSettings(geoip_database=city_db))
    try:
        raw = {"type": "track", "context": {"geo": {"country": "FR"}, "locale": "fr-FR"}}
        payload = screen.dead_letter_payload(raw, {}, Origin(ip="81.2.69.142"))
    finally:
        screen.close()
    assert payload["context"] == {"locale": "fr-FR"}


# --- error fingerprints ------------------------------------------------------------------

V8_STACK = (
    "TypeError: Cannot read properties of undefined (reading 'id')\n"
    "    at renderCart (https://shop.example/static/js/main.3f9a1c2b.js:2:10412)\n"
    "    at HTMLButtonElement.onclick (https://shop.example/checkout:1:1)"
)
GECKO_STACK = (
    "renderCart@https://shop.example/static/js/main.js:2:10412\n@https://shop.example/app.js:1:1"
)
PYTHON_STACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/web.py", line 10, in handle\n'
    "    return load(user_id)\n"
    '  File "/srv/app/users.py", line 42, in load\n'
    "    raise LookupError(user_id)\n"
    "LookupError: 42"
)


@pytest.mark.parametrize(
    ("stack", "frame"),
    [
        (V8_STACK, "renderCart (https://shop.example/static/js/main.<hash>.js)"),
        (
            "Error: x\n    at https://a.example/app.js:10:5",
            "<anonymous> (https://a.example/app.js)",
        ),
        ("Error\n    at async loadUser (file:///srv/u.mjs:12:3)", "loadUser (file:///srv/u.mjs)"),
        ("    at Object.<anonymous> (/srv/index.js:5:9)", "Object.<anonymous> (/srv/index.js)"),
        (
            "    at eval (eval at run (https://a.example/a.js:3:4), <anonymous>:1:1)",
            "eval (https://a.example/a.js)",
        ),
        (GECKO_STACK, "renderCart (https://shop.example/static/js/main.js)"),
        ("global code@https://a.example/app.js?v=3:1:30", "global code (https://a.example/app.js)"),
        ("@https://a.example/app.js:1:30", "<anonymous> (https://a.example/app.js)"),
        (
            "forEach@[native code]\nrender@https://a.example/a.js:1:2",
            "render (https://a.example/a.js)",
        ),
        (PYTHON_STACK, "load (/srv/app/users.py)"),
        ("no frames in here", None),
        ("TypeError: bad@value", None),
    ],
)
def test_top_frame_is_read_from_v8_firefox_safari_and_python_stacks(stack, frame) -> None:
    assert top_frame(stack) == frame


@pytest.mark.parametrize(
    ("message", "normalized"),
    [
        ("User 42 not found", "User <num> not found"),
        ("Order 'A-17' failed", "Order <str> failed"),
        ('Can\'t find therapist "anna"', "Can't find therapist <str>"),
        ("booking 550e8400-e29b-41d4-a716-446655440000 missing", "booking <uuid> missing"),
        ("object 507f1f77bcf86cd799439011 at 0xDEADbeef", "object <hex> at <hex>"),
        ("took  1.25 s\n(timeout)", "took <num> s (timeout)"),
    ],
)
def test_error_message_is_normalised_with_placeholders(message, normalized) -> None:
    assert normalized_message(message) == normalized


def test_same_error_with_different_ids_and_shifted_lines_has_one_fingerprint() -> None:
    first = error_fingerprint(
        "LookupError", "User 42 not found", top_frame(V8_STACK.replace(":2:10412", ":2:99"))
    )
    second = error_fingerprint("LookupError", "User 7 not found", top_frame(V8_STACK))
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{16}", first)


def test_different_top_frame_type_or_message_gives_another_fingerprint() -> None:
    base = error_fingerprint("TypeError", "User 42 not found", top_frame(V8_STACK))
    other_frame = V8_STACK.replace("renderCart", "renderMenu")
    assert error_fingerprint("TypeError", "User 7 not found", top_frame(other_frame)) != base
    assert error_fingerprint("RangeError", "User 42 not found", top_frame(V8_STACK)) != base
    assert error_fingerprint("TypeError", "Cart 42 is empty", top_frame(V8_STACK)) != base
    assert error_fingerprint("TypeError", "User 42 not found", None) != base


@pytest.mark.parametrize(
    ("stack", "frame"),
    [
        (V8_STACK, "renderCart (https://shop.example/static/js/main.<hash>.js)"),
        (GECKO_STACK, "renderCart (https://shop.example/static/js/main.js)"),
        (PYTHON_STACK, "load (/srv/app/users.py)"),
    ],
)
def test_error_event_gets_fingerprint_and_top_frame_over_client_values(
    enricher, stack, frame
) -> None:
    properties = {
        "message": "User 42 not found",
        "type": "LookupError",
        "stack": stack,
        "fingerprint": "client-chosen",
        "topFrame": "client-chosen",
    }
    enriched = enricher.enrich(event("error_occurred", properties), client_ip=None, geo=False)
    assert enriched.properties["topFrame"] == frame
    assert enriched.properties["fingerprint"] == error_fingerprint(
        "LookupError", "User 7 not found", frame
    )
    assert enriched.properties["message"] == "User 42 not found"


def test_error_event_without_stack_has_a_null_top_frame(enricher) -> None:
    enriched = enricher.enrich(
        event("error_occurred", {"message": "Card declined"}), None, geo=False
    )
    assert enriched.properties["topFrame"] is None
    assert enriched.properties["fingerprint"] == error_fingerprint(None, "Card declined", None)


def test_other_events_keep_their_own_fingerprint_property(enricher) -> None:
    enriched = enricher.enrich(event("device_paired", {"fingerprint": "abc"}), None, geo=False)
    assert enriched.properties == {"fingerprint": "abc"}


# --- search normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "normalized"),
    [
        ("  Thai   MASSAGE!! ", "thai massage"),
        ('"Deep Tissue"', "deep tissue"),
        ("\uff34\uff48\uff41\uff49", "thai"),  # full-width letters (NFKC)
        ("¿Straße?", "strasse"),  # case folding
        ("hot\tstone\nmassage", "hot stone massage"),
        ("...", ""),
        ("(thai", "thai"),
        ("massage (60 min)", "massage (60 min)"),
        ("massage for [redacted:email]", "massage for [redacted:email]"),
        ("c++", "c++"),
        ("A" * 300, "a" * 200),
    ],
)
def test_search_query_is_normalised(query, normalized) -> None:
    assert normalized_query(query) == normalized


def test_search_event_gets_query_normalized_over_a_client_value(enricher) -> None:
    properties = {"query": "  Thai MASSAGE, Berlin! ", "queryNormalized": "spoofed"}
    enriched = enricher.enrich(event("search_performed", properties), None, geo=False)
    assert enriched.properties["queryNormalized"] == "thai massage, berlin"
    assert enriched.properties["query"] == "  Thai MASSAGE, Berlin! "


def test_empty_geoip_setting_means_no_database(monkeypatch) -> None:
    monkeypatch.setenv("LOOKOUT_GEOIP_DATABASE", "")
    assert IngestSettings().geoip_database is None
    monkeypatch.setenv("LOOKOUT_GEOIP_DATABASE", "/srv/geoip/GeoLite2-City.mmdb")
    assert IngestSettings().geoip_database == Path("/srv/geoip/GeoLite2-City.mmdb")
