"""What the e-mail, PagerDuty, Teams and Discord receivers are sent, and which alerts each
receiver takes (routing by severity, source and check; escalations apart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from lookout_health.alerts.model import Alert
from lookout_health.alerts.receivers import (
    RECEIVERS,
    discord_message,
    email_message,
    pagerduty_event,
    routed,
    teams_card,
)

STARTS = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def alert(**changes) -> Alert:
    values = {
        "fingerprint": "health:db-main",
        "event_key": "incident:7:opened:x",
        "source": "health",
        "name": "LookoutCheckUnhealthy",
        "status": "firing",
        "severity": "critical",
        "summary": "db-main is unhealthy",
        "description": "connection refused",
        "labels": {"check": "db-main", "incident": "7"},
        "starts_at": STARTS,
    }
    return Alert(**{**values, **changes})


def receivers(*configs: dict) -> list:
    return RECEIVERS.validate_python(list(configs))


def test_routing_by_severity_source_and_check_pattern() -> None:
    configured = receivers(
        {"name": "all", "kind": "log"},
        {"name": "pager", "kind": "log", "severities": ["critical"]},
        {"name": "dba", "kind": "log", "checks": ["db-*"]},
        {"name": "backups", "kind": "log", "sources": ["backup"]},
    )
    assert routed(configured, alert(), set()) == ["all", "pager", "dba"]
    assert routed(configured, alert(severity="warning"), set()) == ["all", "dba"]
    assert routed(configured, alert(labels={"check": "api"}), set()) == ["all", "pager"]
    backup = alert(source="backup", labels={"run_id": "r1", "operation": "backup"})
    # A receiver that names checks gets no alert without a check.
    assert routed(configured, backup, set()) == ["all", "pager", "backups"]


def test_escalations_go_only_to_escalation_receivers_that_take_them() -> None:
    configured = receivers(
        {"name": "chat", "kind": "log"},
        {"name": "oncall", "kind": "log"},
        {"name": "dba-oncall", "kind": "log", "checks": ["db-*"]},
    )
    escalation = {"oncall", "dba-oncall"}
    assert routed(configured, alert(), escalation) == ["chat"]
    assert routed(configured, alert(escalation=True), escalation) == ["oncall", "dba-oncall"]
    escalated_api = alert(escalation=True, labels={"check": "api"})
    assert routed(configured, escalated_api, escalation) == ["oncall"]


@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"username": "u", "password": "p", "starttls": False}, "no login over a clear"),
        ({"username": "u"}, "username and password go together"),
        ({"to": []}, "at least 1 item"),
        ({"to": ["ops@example.com\r\nBcc: x@evil.test"]}, "String should match pattern"),
        ({"sender": "Ops <ops@example.com>"}, "String should match pattern"),
    ],
)
def test_an_email_receiver_that_would_be_unsafe_is_refused(config: dict, reason: str) -> None:
    base = {"name": "mail", "kind": "email", "host": "smtp.example.com"}
    base |= {"sender": "lookout@example.com", "to": ["ops@example.com"]}
    with pytest.raises(ValidationError, match=reason):
        receivers({**base, **config})


def test_the_email_subject_is_one_line_whatever_the_alert_says() -> None:
    [mail] = receivers(
        {
            "name": "mail",
            "kind": "email",
            "host": "smtp.example.com",
            "sender": "lookout@example.com",
            "to": ["ops@example.com", "dba@example.com"],
        }
    )
    hostile = alert(summary="db is down\r\nBcc: victim@example.com", description="line 1\nline 2")
    message = email_message(mail, hostile)
    assert message["Subject"] == "[Lookout FIRING] [critical] db is down Bcc: victim@example.com"
    assert message["To"] == "ops@example.com, dba@example.com"
    assert message["Bcc"] is None
    body = message.get_content()
    assert "line 1\nline 2" in body
    assert "check: db-main" in body


def test_pagerduty_triggers_then_resolves_the_same_dedup_key() -> None:
    [pager] = receivers({"name": "pd", "kind": "pagerduty", "routing_key": "R" * 32})
    trigger = pagerduty_event(pager, alert())
    assert trigger["routing_key"] == "R" * 32
    assert trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == "health:db-main"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["component"] == "db-main"
    assert trigger["payload"]["source"] == "lookout"
    resolve = pagerduty_event(
        pager, alert(status="resolved", ends_at=STARTS + timedelta(minutes=5))
    )
    assert resolve == {
        "routing_key": "R" * 32,
        "event_action": "resolve",
        "dedup_key": "health:db-main",
    }
    assert "R" * 32 not in repr(pager)


def test_teams_gets_an_adaptive_card_with_the_labels_as_facts() -> None:
    card = teams_card(alert())
    [attachment] = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    title, description, facts = attachment["content"]["body"]
    assert title["text"] == "FIRING: db-main is unhealthy"
    assert title["color"] == "Attention"
    assert description["text"] == "connection refused"
    assert {"title": "check", "value": "db-main"} in facts["facts"]


def test_discord_messages_never_mention_anyone() -> None:
    message = discord_message(alert(summary="@everyone db-main is down", description="<@&123>"))
    assert message["allowed_mentions"] == {"parse": []}
    [embed] = message["embeds"]
    assert embed["title"] == "@everyone db-main is down"
    assert message["content"] == "FIRING [critical]"
