"""ingest's settings: acknowledgement wait, body limits, privacy, deduplication, rate
limits, bot filtering and IP geolocation."""

import re
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from lookout_common.infra.settings.base import LookoutSettings, list_or_commas


class IngestSettings(LookoutSettings):
    http_port: int = 8001
    publish_timeout_s: float = Field(
        5.0, gt=0, description="How long ingest waits for Kafka's ack before answering 503"
    )
    retry_after_s: int = Field(5, ge=1, description="Retry-After sent with a 503")
    max_event_bytes: int = Field(32 * 1024, description="Largest single event (Segment: 32 KB)")
    max_request_bytes: int = Field(
        500 * 1024, description="Largest request body after gunzip (Segment: 500 KB)"
    )
    write_key_cache_s: float = Field(30.0, ge=0, description="How long a checked key is cached")
    events_retention_days: int | None = Field(
        None, ge=1, description="The aggregator's raw-event retention: older events are refused"
    )
    events_max_age_days: int | None = Field(
        None,
        ge=1,
        le=36_500,
        description="Events older than this (or than the retention, if nearer) are refused; "
        "unset = the retention, else 1095 days (the aggregator reads the same setting)",
    )
    default_currency: str = Field(
        "IDR",
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 currency of a booking that names none (the marketplace's own)",
    )
    trust_forwarded_for: bool = Field(
        False,
        description="Take the client IP from X-Forwarded-For (its last entry); only behind a "
        "proxy that appends the address it saw",
    )
    pii_deny_keys: Annotated[list[str], NoDecode] = Field(
        # Secrets and identifiers that have no place in analytics.
        default_factory=lambda: [
            "password",
            "passwd",
            "secret",
            "token",
            "access_token",
            "refresh_token",
            "api_key",
            "ssn",
            "card_number",
            "cvv",
            "cvc",
            "iban",
            "email",
        ],
        description="Keys whose value is always replaced by [redacted] (comma separated or a "
        "JSON list; case, _ and - are ignored when matching)",
    )
    dedupe_cache_size: int = Field(
        100_000, ge=0, description="Recent (write key, messageId) pairs remembered; 0 disables"
    )
    key_rate_per_s: float = Field(
        1000.0, ge=0, description="Events per second each write key may send; 0 disables"
    )
    key_burst: int = Field(
        2500, ge=1, description="Events a write key may send at once (a larger batch is a 400)"
    )
    ip_rate_per_s: float = Field(
        200.0, ge=0, description="Requests per second each client IP may send; 0 disables"
    )
    ip_burst: int = Field(400, ge=1, description="Requests a client IP may send at once")
    bot_extra_patterns: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="More user agent regexes (case-insensitive) whose events are dropped as bots "
        "(comma separated or a JSON list)",
    )
    geoip_database: Path | None = Field(
        None,
        description="GeoLite2-City or -Country format MMDB that locates client IPs of events with "
        "geo consent; unset = no IP lookup",
    )

    @field_validator("pii_deny_keys", "bot_extra_patterns", mode="before")
    @classmethod
    def _list_or_commas(cls, value: Any) -> Any:
        return list_or_commas(value)

    @field_validator("bot_extra_patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"bot pattern {pattern!r} is not a regex: {error}") from error
        return value

    @field_validator("geoip_database", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # `LOOKOUT_GEOIP_DATABASE=` (as a Makefile writes it when there is no file) is unset.
        return None if isinstance(value, str) and not value.strip() else value
