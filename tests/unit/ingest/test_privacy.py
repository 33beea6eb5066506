"""Privacy and abuse rules of ingest as pure functions: consent, IPs, personal data, bots,
rate limits and the recent-id cache."""

from __future__ import annotations

import pytest
from support.messages import received, track

from lookout_common.infra.settings import IngestSettings
from lookout_ingest.app import create_app
from lookout_ingest.bots import BotFilter, user_agent_of
from lookout_ingest.dedupe import RecentIds
from lookout_ingest.limits import RateLimiter, TokenBucket
from lookout_ingest.pii import Scrubber, luhn_valid
from lookout_ingest.privacy import (
    Consent,
    apply_geo_consent,
    client_ip,
    consent_of,
    counted_name,
    truncate_ip,
)
from lookout_ingest.screening import Origin, Screen

DENY = IngestSettings.model_fields["pii_deny_keys"].default_factory()


# --- IP truncation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0"),
        ("10.1.2.255", "10.1.2.0"),
        (" 198.51.100.9 ", "198.51.100.0"),
        ("2001:db8:abcd:12:34::1", "2001:db8:abcd::"),
        ("2001:0db8:0001:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("::1", "::"),
    ],
)
def test_ip_is_truncated_to_its_24_or_48_network(address, network) -> None:
    assert truncate_ip(address) == network


@pytest.mark.parametrize("value", ["", "not-an-ip", "300.1.2.3", "203.0.113", "1.2.3.4/24", 42])
def test_invalid_ip_truncates_to_nothing(value) -> None:
    assert truncate_ip(value) is None


def test_forwarded_for_is_used_only_when_trusted_and_its_last_valid_entry_wins() -> None:
    assert client_ip("10.0.0.5", "198.51.100.7", trust_forwarded_for=False) == "10.0.0.5"
    assert client_ip("10.0.0.5", "198.51.100.7", trust_forwarded_for=True) == "198.51.100.7"
    spoofed = "1.1.1.1, 198.51.100.7"  # the client claimed 1.1.1.1; the proxy appended
    assert client_ip("10.0.0.5", spoofed, trust_forwarded_for=True) == "198.51.100.7"
    assert client_ip("10.0.0.5", "198.51.100.7, garbage", trust_forwarded_for=True) == (
        "198.51.100.7"
    )
    assert client_ip("10.0.0.5", "garbage", trust_forwarded_for=True) == "10.0.0.5"
    assert client_ip("10.0.0.5", None, trust_forwarded_for=True) == "10.0.0.5"


# --- consent and geo -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "consent"),
    [
        ({}, Consent(analytics=True, geo=False)),
        ({"consent": "yes"}, Consent(analytics=True, geo=False)),
        ({"consent": {}}, Consent(analytics=True, geo=False)),
        ({"consent": {"analytics": True, "geo": True}}, Consent(analytics=True, geo=True)),
        ({"consent": {"analytics": False, "geo": True}}, Consent(analytics=False, geo=True)),
        ({"consent": {"geo": "true"}}, Consent(analytics=True, geo=False)),
        ({"consent": {"analytics": None}}, Consent(analytics=False, geo=False)),
        ({"consent": {"analytics": "false"}}, Consent(analytics=False, geo=False)),
        (
            {"consent": {"categoryPreferences": {"Analytics": False, "Geo": True}}},
            Consent(analytics=False, geo=True),
        ),
    ],
)
def test_consent_defaults_to_analytics_without_geo_and_a_refusal_wins(context, consent) -> None:
    assert consent_of(context) == consent


def test_without_geo_consent_every_location_field_and_the_ip_are_removed() -> None:
    located = apply_geo_consent(
        {"ip": "203.0.113.77", "location": {"city": "Berlin"}, "locale": "de-DE"},
        {"path": "/", "location": "Berlin", "Latitude": 52.5, "lng": 13.4, "geo_location": {}},
        {"plan": "free", "coordinates": [52.5, 13.4]},
        geo=False,
        request_ip="198.51.100.7",
    )
    assert located.context == {"locale": "de-DE"}
    assert located.properties == {"path": "/"}
    assert located.traits == {"plan": "free"}


def test_with_geo_consent_the_sent_ip_is_kept_truncated_and_location_stays() -> None:
    located = apply_geo_consent(
        {"ip": "203.0.113.77", "location": {"city": "Berlin"}},
        {"location": "Berlin"},
        {},
        geo=True,
        request_ip="198.51.100.7",
    )
    assert located.context == {"ip": "203.0.113.0", "location": {"city": "Berlin"}}
    assert located.properties == {"location": "Berlin"}


def test_with_geo_consent_and_no_sent_ip_the_request_ip_is_used_truncated() -> None:
    located = apply_geo_consent({}, {}, {}, geo=True, request_ip="2001:db8:abcd:12::9")
    assert located.context == {"ip": "2001:db8:abcd::"}


def test_an_invalid_sent_ip_is_dropped_not_replaced_by_the_request_ip() -> None:
    located = apply_geo_consent({"ip": "unknown"}, {}, {}, geo=True, request_ip="198.51.100.7")
    assert located.context == {}


def test_metric_label_is_the_product_event_name_or_custom() -> None:
    assert counted_name("booking_completed") == "booking_completed"
    assert counted_name("identify") == "identify"
    assert counted_name("user-42 clicked") == "custom"


# --- personal data ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("mail john.doe+spa@example.co.uk now", "mail [redacted:email] now"),
        ("a@b.io, c@d.de", "[redacted:email], [redacted:email]"),
        ("call +49 30 1234 5678 today", "call [redacted:phone] today"),
        ("+4915112345678", "[redacted:phone]"),
        ("(030) 1234-5678", "[redacted:phone]"),
        ("555-123-4567", "[redacted:phone]"),
        ("+1 (555) 123-4567.", "[redacted:phone]."),
        ("card 4111 1111 1111 1111 ok", "card [redacted:card] ok"),
        ("4111-1111-1111-1111", "[redacted:card]"),
        ("5555555555554444", "[redacted:card]"),
        ("378282246310005", "[redacted:card]"),
    ],
)
def test_personal_data_inside_strings_is_replaced(text, scrubbed) -> None:
    assert Scrubber(DENY).text(text) == scrubbed


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-25",
        "2026-11-25 12:00:00",
        "2026-11-25T12:00:00.000Z",
        "25.11.2026 14:30",
        "1,299,999.00 EUR",
        "1 299 999.00",
        "EUR 123 456 789",
        "550e8400-e29b-41d4-a716-446655440000",
        "12345678-1234-1234-1234-123456789012",
        "4111 1111 1111 1112",  # not Luhn-valid
        "4111111111111112",
        "1732540800000",  # a millisecond timestamp
        "123456789",
        "192.168.100.200",
        "/therapists/123456789/reviews",
        "Mozilla/5.0 (Linux; Android 13; SM-G991B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.6099.144 Mobile Safari/537.36",
        "user@localhost",
        "@therapist_anna",
        "email",
    ],
)
def test_dates_prices_ids_and_other_numbers_are_left_alone(text) -> None:
    scrubber = Scrubber(DENY)
    assert scrubber.text(text) == text
    assert not scrubber.redactions


def test_luhn() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")


@pytest.mark.parametrize(
    "key", ["password", "Password", "card_number", "cardNumber", "CARD-NUMBER", "e_mail", "IBAN"]
)
def test_deny_listed_keys_match_ignoring_case_underscores_and_dashes(key) -> None:
    scrubber = Scrubber(["password", "card_number", "email", "iban"])
    assert scrubber.mapping({key: {"any": "value"}}) == {key: "[redacted]"}


@pytest.mark.parametrize("key", ["passwordHint", "tokens", "method", "emailVerified"])
def test_other_keys_are_not_denied(key) -> None:
    assert Scrubber(DENY).mapping({key: "kept"}) == {key: "kept"}


def test_scrubbing_goes_through_nested_dicts_and_lists_and_counts_by_kind() -> None:
    scrubber = Scrubber(DENY)
    value = {
        "form": {"password": "hunter2", "notes": ["reach me on +44 20 7946 0958", 5, None]},
        "contacts": [{"mail": "anna@example.com"}, {"email": "typo-no-at"}],
        "count": 3,
    }
    assert scrubber.value(value) == {
        "form": {"password": "[redacted]", "notes": ["reach me on [redacted:phone]", 5, None]},
        "contacts": [{"mail": "[redacted:email]"}, {"email": "[redacted]"}],
        "count": 3,
    }
    assert scrubber.redactions == {"key": 2, "phone": 1, "email": 1}


def test_settings_accept_deny_keys_comma_separated(monkeypatch) -> None:
    monkeypatch.setenv("LOOKOUT_PII_DENY_KEYS", "password, pin")
    monkeypatch.setenv("LOOKOUT_BOT_EXTRA_PATTERNS", '["internal-monitor/\\\\d+"]')
    settings = IngestSettings()
    assert settings.pii_deny_keys == ["password", "pin"]
    assert settings.bot_extra_patterns == ["internal-monitor/\\d+"]


# --- bots ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
        "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
        "Twitterbot/1.0",
        "some-crawler 0.1",
        "ExampleSpider",
        "a bot",
    ],
)
def test_known_and_self_declared_bots_are_recognised(agent) -> None:
    assert BotFilter().is_bot(agent)


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.6099.28 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 Chrome/119.0 Mobile",
        "curl/8.5.0",
        "python-requests/2.31.0",
        "python-httpx/0.27.0",
        "",
        None,
    ],
)
def test_browsers_headless_chrome_and_http_libraries_are_not_bots(agent) -> None:
    assert not BotFilter().is_bot(agent)


def test_extra_bot_patterns_are_added() -> None:
    assert BotFilter([r"uptime-checker/\d+"]).is_bot("Uptime-Checker/3")
    assert not BotFilter().is_bot("Uptime-Checker/3")


def test_event_user_agent_wins_over_the_request_header() -> None:
    assert user_agent_of({"userAgent": "Googlebot/2.1"}, "curl/8") == "Googlebot/2.1"
    assert user_agent_of({}, "curl/8") == "curl/8"
    assert user_agent_of({"userAgent": 5}, None) is None


# --- rate limits -----------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_spends_its_burst_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=10, burst=20, now=0.0)
    assert bucket.take(20, now=0.0) == 0
    assert bucket.take(1, now=0.0) == pytest.approx(0.1)
    assert bucket.take(5, now=0.5) == 0  # 5 tokens refilled in half a second
    assert bucket.take(5, now=0.5) == pytest.approx(0.5)


def test_every_event_of_a_batch_is_charged_not_at_most_the_burst() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=10, burst=100, clock=clock)
    assert limiter.retry_after("key", 100) == 0
    clock.now += 1.0  # 10 tokens back
    assert limiter.retry_after("key", 100) == 9  # 90 more to wait for, at 10 a second
    assert limiter.retry_after("key", 10) == 0


def test_a_request_costing_more_than_the_burst_is_never_admitted() -> None:
    limiter = RateLimiter(rate=10, burst=20, clock=FakeClock())
    assert limiter.admits(20)
    assert not limiter.admits(21)
    with pytest.raises(ValueError, match="exceeds the burst"):
        limiter.retry_after("key", 21)
    assert RateLimiter(rate=0, burst=20, clock=FakeClock()).admits(10_000)


def test_rate_limiter_answers_whole_seconds_per_client() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=0.5, burst=2, clock=clock)
    assert limiter.retry_after("203.0.113.7") == 0
    assert limiter.retry_after("203.0.113.7") == 0
    assert limiter.retry_after("203.0.113.7") == 2  # one token in 2 s
    assert limiter.retry_after("198.51.100.1") == 0  # another client has its own bucket
    clock.now += 2
    assert limiter.retry_after("203.0.113.7") == 0


def test_retry_after_is_at_least_one_second() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1000, burst=1, clock=clock)
    assert limiter.retry_after("key") == 0
    assert limiter.retry_after("key") == 1


def test_rate_zero_disables_the_limit() -> None:
    limiter = RateLimiter(rate=0, burst=1, clock=FakeClock())
    assert all(limiter.retry_after("key", 10_000) == 0 for _ in range(100))


def test_rate_limiter_forgets_the_least_recently_used_client_past_its_size() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rate=1, burst=1, max_clients=2, clock=clock)
    assert limiter.retry_after("a") == 0
    assert limiter.retry_after("b") == 0
    assert limiter.retry_after("a") == 1  # "a" is now the most recently used
    assert limiter.retry_after("c") == 0  # "b" is forgotten
    assert limiter.retry_after("a") == 1
    assert limiter.retry_after("b") == 0  # a fresh bucket


# --- recent ids ------------------------------------------------------------------------


def test_recent_ids_forget_the_oldest_past_their_size() -> None:
    recent = RecentIds(size=2)
    for message_id in ("m1", "m2", "m3"):
        recent.add(("web", message_id))
    assert ("web", "m1") not in recent
    assert ("web", "m2") in recent
    assert ("web", "m3") in recent
    assert ("server", "m3") not in recent  # ids are per write key
    assert len(recent) == 2


def test_recent_ids_of_size_zero_remember_nothing() -> None:
    recent = RecentIds(size=0)
    recent.add(("web", "m1"))
    assert ("web", "m1") not in recent


# --- the screen as a whole -------------------------------------------------------------


def event(message_id: str, context: dict | None = None, **fields):
    booking = {"therapistId": "t-1", "serviceType": "thai", "location": "Berlin"}
    return received(
        track("booking_attempt", booking, messageId=message_id, context=context or {}, **fields)
    )


def test_screen_drops_unconsented_bot_and_duplicate_events_and_cleans_the_rest() -> None:
    screen = Screen(IngestSettings())
    screen.published([event("already")])
    events = [
        event("refused", {"consent": {"analytics": False}}),
        event("crawler", {"userAgent": "Googlebot/2.1"}),
        event("already"),
        event("kept", {"ip": "203.0.113.77", "consent": {"geo": True}}, traits={"pin": "1"}),
        event("kept"),  # the same id again in one request
        event("no-geo", {"ip": "203.0.113.77", "location": {"city": "Berlin"}}),
        event("pii", {}, userId="u-1", traits={"email": "anna@example.com"}),
    ]
    screened = screen.screen(events, Origin(ip="198.51.100.7", user_agent="Mozilla/5.0"))

    published = {e.event_id: e for e in screened.publish}
    assert list(published) == ["kept", "no-geo", "pii"]
    assert screened.unconsented == {"booking_attempt": 1}
    assert (screened.bots, screened.duplicates) == (1, 2)
    assert published["kept"].context == {"ip": "203.0.113.0", "consent": {"geo": True}}
    assert published["kept"].properties["location"] == "Berlin"
    assert published["no-geo"].context == {}
    assert "location" not in published["no-geo"].properties
    assert published["pii"].traits == {"email": "[redacted]"}
    assert screened.redactions == {"key": 1}


def test_screen_takes_the_request_user_agent_when_the_event_has_none() -> None:
    screened = Screen(IngestSettings()).screen(
        [event("m1")], Origin(user_agent="Mozilla/5.0 (compatible; bingbot/2.0)")
    )
    assert screened.publish == []
    assert screened.bots == 1


def test_dead_letter_payload_follows_the_same_rules() -> None:
    screen = Screen(IngestSettings())
    origin = Origin(ip="198.51.100.7")
    raw = {
        "type": "track",
        "properties": {"note": "call 555-123-4567", "lat": 1.5},
        "context": {"ip": "203.0.113.77"},
    }
    assert screen.dead_letter_payload(raw, {}, origin) == {
        "type": "track",
        "properties": {"note": "call [redacted:phone]"},
        "context": {},
    }
    refused = {"type": "track", "context": {"consent": {"analytics": False}}}
    assert screen.dead_letter_payload(refused, {}, origin) is None
    in_batch = {"type": "track"}
    batch_defaults = {"context": {"consent": {"analytics": False}}}
    assert screen.dead_letter_payload(in_batch, batch_defaults, origin) is None
    assert screen.dead_letter_payload("password=a@b.io", {}, origin) == "password=[redacted:email]"


def test_openapi_documents_the_429() -> None:
    paths = create_app(IngestSettings()).openapi()["paths"]
    for path in ("/v1/track", "/v1/page", "/v1/identify", "/v1/batch"):
        assert "429" in paths[path]["post"]["responses"]
