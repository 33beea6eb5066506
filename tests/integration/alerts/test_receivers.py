"""The e-mail, PagerDuty, Teams and Discord receivers through the real alert consumer:
mail to a real local SMTP server (aiosmtpd) that requires STARTTLS and a login, the
others to real HTTP servers on loopback, each taking only the alerts its routing names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from support.alerts import Receiver, consumer_env, incident, publish
from support.certificates import valid_for
from support.wait import eventually

from lookout_common.contracts.topics import Topic
from lookout_devstack.embedded.process import free_port

pytestmark = pytest.mark.integration


class Mailbox:
    """What the SMTP server accepted, and the sessions it saw."""

    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []
        self.tls_sessions = 0

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        if session.ssl is not None:
            self.tls_sessions += 1
        self.messages.append((envelope, message_from_bytes(envelope.content)))
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and auth_data.login == b"lookout"
    good = good and auth_data.password == b"mail-s3cret"
    return AuthResult(success=good)


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[tuple[Mailbox, int, Path]]:
    """A real SMTP server on loopback with a self-signed certificate; STARTTLS and
    authentication are required before any mail is taken."""
    certificate = valid_for(tmp_path, "smtp", days=30)
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=authenticate,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield mailbox, port, certificate.cert_file
    finally:
        controller.stop()


async def test_each_receiver_gets_the_alerts_its_routing_names(
    settings, service_factory, smtp_server
) -> None:
    mailbox, smtp_port, ca_file = smtp_server
    async with Receiver() as pagerduty, Receiver() as teams, Receiver() as discord:
        receivers = [
            {
                "name": "mail",
                "kind": "email",
                "host": "127.0.0.1",
                "port": smtp_port,
                "ca_file": str(ca_file),
                "username": "lookout",
                "password": "mail-s3cret",
                "sender": "lookout@example.com",
                "to": ["ops@example.com", "dba@example.com"],
                "checks": ["db-*"],
            },
            {
                "name": "pager",
                "kind": "pagerduty",
                "url": pagerduty.url,
                "routing_key": "k" * 32,
                "severities": ["critical"],
            },
            {"name": "teams", "kind": "teams", "url": teams.url},
            {"name": "discord", "kind": "discord", "url": discord.url, "severities": ["warning"]},
        ]
        service_factory("lookout_health.alerts", consumer_env(settings, receivers))
        db_down = incident("opened", incident_id=1, check="db-main")
        search_slow = incident("opened", incident_id=2, check="search", critical=False)
        await publish(settings, Topic.HEALTH_INCIDENTS, db_down, search_slow)
        db_back = incident(
            "resolved",
            incident_id=1,
            check="db-main",
            opened_at=db_down.opened_at,
            resolved_at=datetime.now(UTC),
            duration_s=120.0,
            at=datetime.now(UTC) + timedelta(seconds=1),
        )
        await publish(settings, Topic.HEALTH_INCIDENTS, db_back)

        async def delivered() -> bool:
            return (
                len(mailbox.messages) == 2
                and len(pagerduty.bodies) == 2
                and len(teams.bodies) == 3
                and len(discord.bodies) == 1
            )

        await eventually(delivered, timeout=60)
        await asyncio.sleep(1)  # nothing more arrives

    # E-mail: db-* only, over STARTTLS after the login, to every recipient.
    assert mailbox.tls_sessions == 2
    # Each receiver's deliveries are retried on their own, so their order is not asserted.
    subjects = sorted(message["Subject"] for _, message in mailbox.messages)
    assert subjects == [
        "[Lookout FIRING] [critical] db-main is unhealthy",
        "[Lookout RESOLVED] [critical] db-main recovered after 120 s",
    ]
    envelope, _ = mailbox.messages[0]
    assert envelope.rcpt_tos == ["ops@example.com", "dba@example.com"]
    # PagerDuty: critical only, triggered then resolved under one dedup key.
    assert sorted(body["event_action"] for body in pagerduty.bodies) == ["resolve", "trigger"]
    assert {body["dedup_key"] for body in pagerduty.bodies} == {"health:db-main"}
    [trigger] = [body for body in pagerduty.bodies if body["event_action"] == "trigger"]
    assert trigger["payload"]["component"] == "db-main"
    # Teams: everything, as Adaptive Cards.
    titles = sorted(b["attachments"][0]["content"]["body"][0]["text"] for b in teams.bodies)
    assert titles == [
        "FIRING: db-main is unhealthy",
        "FIRING: search is unhealthy",
        "RESOLVED: db-main recovered after 120 s",
    ]
    # Discord: warnings only, never mentioning anyone.
    [message] = discord.bodies
    assert message["embeds"][0]["title"] == "search is unhealthy"
    assert message["allowed_mentions"] == {"parse": []}
