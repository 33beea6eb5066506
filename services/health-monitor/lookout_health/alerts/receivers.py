"""Where alerts go: a generic JSON webhook, a Slack-compatible webhook, Prometheus
Alertmanager's v2 API, or the log. Each `send` raises on failure so it is retried."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated, Literal

import httpx
from pydantic import AfterValidator, BaseModel, Field, TypeAdapter

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


class ReceiverBase(BaseModel):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]{0,62}$")
    timeout_s: float = Field(10.0, gt=0)


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


Receiver = Annotated[
    WebhookReceiver | SlackReceiver | AlertmanagerReceiver | LogReceiver,
    Field(discriminator="kind"),
]
RECEIVERS = TypeAdapter(list[Receiver])


class DeliveryFailed(Exception):
    """The receiver did not take the alert; it is retried with backoff."""


def slack_text(alert: Alert) -> str:
    marker = (
        ":large_green_circle: RESOLVED" if alert.status == "resolved" else ":red_circle: FIRING"
    )
    return f"{marker} [{alert.severity}] {alert.summary}\n{alert.description}"


def alertmanager_payload(alert: Alert, generator_url: str | None) -> list[dict]:
    item = {
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


async def send(receiver: Receiver, alert: Alert, client: httpx.AsyncClient) -> None:
    """Deliver one alert; raises DeliveryFailed with a reason when it was not taken."""
    if isinstance(receiver, LogReceiver):
        log.warning(alert.summary, extra={"alert": alert.model_dump(mode="json")})
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
    url = f"{receiver.url.rstrip('/')}/api/v2/alerts"
    payload = alertmanager_payload(alert, receiver.generator_url)
    return client.build_request("POST", url, json=payload)
