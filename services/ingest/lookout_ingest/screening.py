"""Between validation and Kafka: which of a request's events are published, and in what
form.

In order, an event is dropped when its person refused analytics consent, when a bot
sent it, or when its id was already published (recently, or earlier in the same
request); what remains has the geo policy applied, personal data scrubbed, and then its
derived fields added (`enrich.py`). Dropped events are still acknowledged: the client
has nothing to retry. Only counts are kept of them, never their content.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter as Metric

from lookout_common.contracts.events import AnalyticsEvent
from lookout_common.infra.settings import IngestSettings
from lookout_ingest.bots import BotFilter, user_agent_of
from lookout_ingest.dedupe import RecentIds
from lookout_ingest.enrich import Enricher
from lookout_ingest.envelope import replaced
from lookout_ingest.geo import GeoDatabase
from lookout_ingest.pii import Scrubber
from lookout_ingest.privacy import apply_geo_consent, consent_of, counted_name

UNCONSENTED = Metric(
    "lookout_ingest_unconsented_events_total",
    "Events not published because the person refused analytics consent (only counted)",
    ["event"],
)
BOTS = Metric(
    "lookout_ingest_bot_events_total", "Events not published because a bot or crawler sent them"
)
DUPLICATES = Metric(
    "lookout_ingest_duplicate_events_total",
    "Events acknowledged but not published again: their messageId was just published",
)
REDACTIONS = Metric(
    "lookout_ingest_redactions_total",
    "Values replaced before publishing, by kind (email, phone, card, key)",
    ["kind"],
)


@dataclass(frozen=True)
class Origin:
    """What the request itself says about where its events come from (kept in memory)."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass
class Screened:
    publish: list[AnalyticsEvent] = field(default_factory=list)
    unconsented: Counter[str] = field(default_factory=Counter)
    bots: int = 0
    duplicates: int = 0
    redactions: Counter[str] = field(default_factory=Counter)

    def count(self) -> None:
        """Add this request's counts to the service's metrics."""
        for event, count in self.unconsented.items():
            UNCONSENTED.labels(event).inc(count)
        for kind, count in self.redactions.items():
            REDACTIONS.labels(kind).inc(count)
        if self.bots:
            BOTS.inc(self.bots)
        if self.duplicates:
            DUPLICATES.inc(self.duplicates)


class Screen:
    """The policy, built once from the settings; `recent` outlives requests."""

    def __init__(self, settings: IngestSettings) -> None:
        self.bots = BotFilter(settings.bot_extra_patterns)
        self.deny_keys = tuple(settings.pii_deny_keys)
        self.recent = RecentIds(settings.dedupe_cache_size)
        self.enricher = Enricher(GeoDatabase.open(settings.geoip_database))

    def close(self) -> None:
        """Release the GeoIP database."""
        self.enricher.close()

    def screen(self, events: Sequence[AnalyticsEvent], origin: Origin) -> Screened:
        result = Screened()
        scrubber = Scrubber(self.deny_keys)
        in_request: set[tuple[str, str]] = set()
        # A request's events mostly share one user agent: each is matched once.
        bot_agents: dict[str | None, bool] = {}
        for event in events:
            consent = consent_of(event.context)
            if not consent.analytics:
                result.unconsented[counted_name(event.event)] += 1
                continue
            user_agent = user_agent_of(event.context, origin.user_agent)
            bot = bot_agents.get(user_agent)
            if bot is None:
                bot = bot_agents[user_agent] = self.bots.is_bot(user_agent)
            if bot:
                result.bots += 1
                continue
            key = (event.source, event.event_id)
            if key in self.recent or key in in_request:
                result.duplicates += 1
                continue
            in_request.add(key)
            located = apply_geo_consent(
                event.context,
                event.properties,
                event.traits,
                geo=consent.geo,
                request_ip=origin.ip,
            )
            # Located by its whole address, which only `located` holds (never published).
            context, properties = self.enricher.derived(
                event.event,
                scrubber.mapping(located.context),
                scrubber.mapping(located.properties),
                located.address,
                geo=consent.geo,
                event_id=event.event_id,
            )
            traits = scrubber.mapping(located.traits)
            result.publish.append(
                replaced(event, context=context, properties=properties, traits=traits)
            )
        result.redactions = scrubber.redactions
        return result

    def published(self, events: Sequence[AnalyticsEvent]) -> None:
        """Remember ids Kafka has acknowledged (never before: a 503's retry is no duplicate)."""
        for event in events:
            self.recent.add((event.source, event.event_id))

    def dead_letter_payload(self, raw: Any, defaults: dict[str, Any], origin: Origin) -> Any:
        """A rejected event as operators may see it on the DLQ: same rules as a published
        one (nothing at all without analytics consent)."""
        if not isinstance(raw, dict):
            return Scrubber(self.deny_keys).value(raw)
        context = raw.get("context", defaults.get("context"))
        context = context if isinstance(context, dict) else {}
        consent = consent_of(context)
        if not consent.analytics:
            return None
        properties, traits = raw.get("properties"), raw.get("traits")
        located = apply_geo_consent(
            context,
            properties if isinstance(properties, dict) else {},
            traits if isinstance(traits, dict) else {},
            geo=consent.geo,
            request_ip=origin.ip,
        )
        payload = dict(raw)
        if "context" in raw or located.context:
            payload["context"] = located.context
        if isinstance(properties, dict):
            payload["properties"] = located.properties
        if isinstance(traits, dict):
            payload["traits"] = located.traits
        return Scrubber(self.deny_keys).value(payload)
