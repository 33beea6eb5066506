"""Where alerts go: a generic JSON webhook, a Slack-compatible webhook, Prometheus
Alertmanager's v2 API, e-mail over SMTP (STARTTLS), PagerDuty's Events API v2, Microsoft
Teams and Discord webhooks, or the log. Each `send` raises on failure so it is retried.
A receiver may take only some alerts: by severity, by source and by check name."""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
import hmac
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Annotated, Any, Literal, NotRequired, TypedDict

import httpx
from pydantic import AfterValidator, BaseModel, Field, SecretStr, TypeAdapter, model_validator

from lookout_health.alerts.model import Alert

log = logging.getLogger("lookout.alerts")


def _http_url(value: str) -> str:
    """An http(s) URL with a host that httpx can send to; refused at start-up otherwise."""
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as error:
        raise ValueError(f"not a URL: {error}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


def _ascii_headers(value: dict[str, str]) -> dict[str, str]:
    for name, header in value.items():
        if not (name + header).isascii() or not (name + header).isprintable():
            raise ValueError(f"header {name!r}: only printable ASCII can be sent")
    return value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


Severity = Literal["critical", "warning"]
Source = Literal["health", "backup"]


class ReceiverBase(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,62}$")
    timeout_s: float = Field(10.0, gt=0)
    # Routing: unset takes every alert; a list takes only the alerts it names.
    severities: list[Severity] | None = Field(None, description="Only these severities")
    sources: list[Source] | None = Field(None, description="Only alerts from these sources")
    checks: list[Annotated[str, Field(min_length=1, max_length=200)]] | None = Field(
        None,
        description="Only health alerts of these checks (shell-style patterns such as 'db-*');"
        " a receiver with checks gets no backup alerts",
    )

    def accepts(self, alert: Alert) -> bool:
        """Whether this receiver's routing takes `alert`."""
        if self.severities is not None and alert.severity not in self.severities:
            return False
        if self.sources is not None and alert.source not in self.sources:
            return False
        if self.checks is not None:
            check = alert.labels.get("check")
            if check is None or not any(fnmatch.fnmatchcase(check, p) for p in self.checks):
                return False
        return True


class WebhookReceiver(ReceiverBase):
    kind: Literal["webhook"]
    url: HttpUrl
    headers: Annotated[dict[str, str], AfterValidator(_ascii_headers)] = Field(default_factory=dict)
    secret: str | None = Field(None, description="Signs the body: X-Lookout-Signature sha256=…")


class SlackReceiver(ReceiverBase):
    kind: Literal["slack"]
    url: HttpUrl


class AlertmanagerReceiver(ReceiverBase):
    kind: Literal["alertmanager"]
    url: HttpUrl = Field(description="Alertmanager base URL, e.g. http://alertmanager:9093")
    generator_url: str | None = None


class LogReceiver(ReceiverBase):
    kind: Literal["log"]


MailAddress = Annotated[str, Field(pattern=r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9.-]{1,253}$")]


class EmailReceiver(ReceiverBase):
    """A plain-text mail per alert. STARTTLS is on by default and certificates are
    verified (against `ca_file` when the server's CA is private); credentials are never
    sent over a connection that was not upgraded."""

    kind: Literal["email"]
    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$")
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    ca_file: str | None = Field(None, description="PEM bundle that verifies the server")
    username: str | None = None
    password: SecretStr | None = None
    sender: MailAddress
    to: list[MailAddress] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _no_login_in_clear(self) -> EmailReceiver:
        if self.username is not None and not self.starttls:
            raise ValueError("username needs starttls: true (no login over a clear connection)")
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together")
        return self


class PagerDutyReceiver(ReceiverBase):
    """PagerDuty's Events API v2: trigger, then resolve, deduplicated by fingerprint."""

    kind: Literal["pagerduty"]
    routing_key: SecretStr = Field(description="The service integration's routing key")
    url: HttpUrl = "https://events.pagerduty.com/v2/enqueue"


class TeamsReceiver(ReceiverBase):
    """A Microsoft Teams incoming webhook (Workflows): an Adaptive Card per alert."""

    kind: Literal["teams"]
    url: HttpUrl


class DiscordReceiver(ReceiverBase):
    """A Discord channel webhook; the alert's text can never mention anyone."""

    kind: Literal["discord"]
    url: HttpUrl


Receiver = Annotated[
    WebhookReceiver
    | SlackReceiver
    | AlertmanagerReceiver
    | LogReceiver
    | EmailReceiver
    | PagerDutyReceiver
    | TeamsReceiver
    | DiscordReceiver,
    Field(discriminator="kind"),
]
RECEIVERS = TypeAdapter(list[Receiver])


def routed(receivers: list[Receiver], alert: Alert, escalation: set[str]) -> list[str]:
    """The names of the receivers that get `alert`: those whose routing takes it, among the
    escalation receivers for an escalation and among the others otherwise."""
    return [
        receiver.name
        for receiver in receivers
        if receiver.accepts(alert) and (receiver.name in escalation) == alert.escalation
    ]


class DeliveryFailed(Exception):
    """The receiver did not take the alert; it is retried with backoff."""


def slack_text(alert: Alert) -> str:
    marker = (
        ":large_green_circle: RESOLVED" if alert.status == "resolved" else ":red_circle: FIRING"
    )
    return f"{marker} [{alert.severity}] {alert.summary}\n{alert.description}"


class AlertmanagerAlert(TypedDict):
    """One alert as Alertmanager's v2 API (`POST /api/v2/alerts`) takes it."""

    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str
    endsAt: NotRequired[str]
    generatorURL: NotRequired[str]


def alertmanager_payload(alert: Alert, generator_url: str | None) -> list[AlertmanagerAlert]:
    item: AlertmanagerAlert = {
        "labels": {
            "alertname": alert.name,
            "severity": alert.severity,
            "service": "lookout",
            "fingerprint": alert.fingerprint,
            **alert.labels,
        },
        "annotations": {"summary": alert.summary, "description": alert.description},
        "startsAt": alert.starts_at.isoformat(),
    }
    if alert.ends_at is not None:
        item["endsAt"] = alert.ends_at.isoformat()
    if generator_url:
        item["generatorURL"] = generator_url
    return [item]


def _one_line(text: str, limit: int) -> str:
    """Text for a header or a title: no line breaks (no header injection), at most `limit`."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def email_message(receiver: EmailReceiver, alert: Alert) -> EmailMessage:
    state = "RESOLVED" if alert.status == "resolved" else "FIRING"
    message = EmailMessage()
    message["Subject"] = _one_line(f"[Lookout {state}] [{alert.severity}] {alert.summary}", 200)
    message["From"] = receiver.sender
    message["To"] = ", ".join(receiver.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="lookout")
    lines = [
        f"{state}: {alert.summary}",
        "",
        alert.description,
        "",
        f"severity: {alert.severity}",
        f"source: {alert.source}",
        f"since: {alert.starts_at.isoformat()}",
        *(f"{key}: {value}" for key, value in sorted(alert.labels.items())),
    ]
    if alert.ends_at is not None:
        lines.append(f"resolved at: {alert.ends_at.isoformat()}")
    message.set_content("\n".join(lines))
    return message


def _send_mail(receiver: EmailReceiver, message: EmailMessage) -> None:
    with smtplib.SMTP(receiver.host, receiver.port, timeout=receiver.timeout_s) as smtp:
        smtp.ehlo()
        if receiver.starttls:
            smtp.starttls(context=ssl.create_default_context(cafile=receiver.ca_file))
            smtp.ehlo()
        if receiver.username is not None and receiver.password is not None:
            smtp.login(receiver.username, receiver.password.get_secret_value())
        smtp.send_message(message)


def pagerduty_event(receiver: PagerDutyReceiver, alert: Alert) -> dict[str, Any]:
    event: dict[str, Any] = {
        "routing_key": receiver.routing_key.get_secret_value(),
        "event_action": "resolve" if alert.status == "resolved" else "trigger",
        "dedup_key": alert.fingerprint,
    }
    if alert.status != "resolved":
        event["payload"] = {
            "summary": _one_line(alert.summary, 1024),
            "source": "lookout",
            "severity": alert.severity,
            "timestamp": alert.starts_at.isoformat(),
            "component": alert.labels.get("check", alert.source),
            "group": alert.source,
            "class": alert.name,
            "custom_details": {"description": alert.description, **alert.labels},
        }
    return event


def teams_card(alert: Alert) -> dict[str, Any]:
    resolved = alert.status == "resolved"
    facts = [
        {"title": "severity", "value": alert.severity},
        {"title": "source", "value": alert.source},
        {"title": "since", "value": alert.starts_at.isoformat()},
        *({"title": key, "value": value} for key, value in sorted(alert.labels.items())),
    ]
    card = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": _one_line(f"{'RESOLVED' if resolved else 'FIRING'}: {alert.summary}", 300),
                "weight": "Bolder",
                "color": "Good" if resolved else "Attention",
                "wrap": True,
            },
            {"type": "TextBlock", "text": alert.description[:2000], "wrap": True},
            {"type": "FactSet", "facts": facts},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


def discord_message(alert: Alert) -> dict[str, Any]:
    resolved = alert.status == "resolved"
    return {
        "content": _one_line(f"{'RESOLVED' if resolved else 'FIRING'} [{alert.severity}]", 100),
        "embeds": [
            {
                "title": _one_line(alert.summary, 256),
                "description": alert.description[:4000],
                "color": 0x2E7D32 if resolved else 0xC62828,
                "timestamp": (alert.ends_at or alert.starts_at).isoformat(),
                "fields": [
                    {"name": key, "value": value[:1024] or "-", "inline": True}
                    for key, value in sorted(alert.labels.items())[:25]
                ],
            }
        ],
        # Alert text comes from check names and probe messages: it never pings anyone.
        "allowed_mentions": {"parse": []},
    }


async def send(receiver: Receiver, alert: Alert, client: httpx.AsyncClient) -> None:
    """Deliver one alert; raises DeliveryFailed with a reason when it was not taken."""
    if isinstance(receiver, LogReceiver):
        log.warning(alert.summary, extra={"alert": alert.model_dump(mode="json")})
        return
    if isinstance(receiver, EmailReceiver):
        try:
            await asyncio.to_thread(_send_mail, receiver, email_message(receiver, alert))
        except (smtplib.SMTPException, OSError, ValueError) as error:
            raise DeliveryFailed(f"SMTP: {type(error).__name__}: {error}") from None
        return
    try:
        request = _request(receiver, alert, client)
    except (httpx.InvalidURL, ValueError) as error:
        # What the receiver's settings make unsendable is this receiver's failure, never
        # the delivery loop's.
        raise DeliveryFailed(f"cannot build the request: {type(error).__name__}: {error}") from None
    try:
        response = await client.send(request)
    except httpx.HTTPError as error:
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from None
    if response.status_code >= 300:
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:200]}")


def _request(receiver: Receiver, alert: Alert, client: httpx.AsyncClient) -> httpx.Request:
    if isinstance(receiver, WebhookReceiver):
        body = alert.model_dump_json().encode()
        headers = {"Content-Type": "application/json", **receiver.headers}
        if receiver.secret:
            digest = hmac.new(receiver.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Lookout-Signature"] = f"sha256={digest}"
        return client.build_request("POST", receiver.url, content=body, headers=headers)
    if isinstance(receiver, SlackReceiver):
        return client.build_request("POST", receiver.url, json={"text": slack_text(alert)})
    if isinstance(receiver, PagerDutyReceiver):
        return client.build_request("POST", receiver.url, json=pagerduty_event(receiver, alert))
    if isinstance(receiver, TeamsReceiver):
        return client.build_request("POST", receiver.url, json=teams_card(alert))
    if isinstance(receiver, DiscordReceiver):
        return client.build_request("POST", receiver.url, json=discord_message(alert))
    if not isinstance(receiver, AlertmanagerReceiver):  # email and log never get here
        raise ValueError(f"no HTTP request for a {receiver.kind} receiver")
    url = f"{receiver.url.rstrip('/')}/api/v2/alerts"
    payload = alertmanager_payload(alert, receiver.generator_url)
    return client.build_request("POST", url, json=payload)
