"""Alert-consumer test helpers: a real HTTP receiver on loopback, incident events, the
consumer's environment and publishing to its topics."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from lookout_common.contracts.health_events import CheckStatus, IncidentEvent
from lookout_common.contracts.topics import Topic, topic_name
from support.services import settings_env


class Receiver:
    """A real HTTP server on loopback recording every JSON body; can be made to fail."""

    def __init__(self) -> None:
        self.bodies: list = []
        self.failures_left = 0
        self.server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def _answer(self, reader, writer) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            body = await reader.readexactly(length)
            if self.failures_left > 0:
                self.failures_left -= 1
                status = b"503 Service Unavailable"
            else:
                self.bodies.append(json.loads(body))
                status = b"200 OK"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
        writer.close()

    async def __aenter__(self) -> Receiver:
        self.server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info) -> None:
        self.server.close()


def incident(action: str, incident_id: int = 1, **changes) -> IncidentEvent:
    opened = datetime.now(UTC) - timedelta(minutes=2)
    resolved = action == "resolved"
    values = {
        "incident_id": incident_id,
        "check": "auth-service",
        "action": action,
        "status": CheckStatus.HEALTHY if resolved else CheckStatus.UNHEALTHY,
        "critical": True,
        "message": "HTTP 500 from auth",
        "opened_at": opened,
        "resolved_at": datetime.now(UTC) if resolved else None,
        "duration_s": 120.0 if resolved else None,
        "at": datetime.now(UTC),
    }
    return IncidentEvent(**{**values, **changes})


async def publish(settings, topic: Topic, *models) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for model in models:
            await producer.send_and_wait(
                topic_name(topic, settings.topic_prefix), model.model_dump_json().encode()
            )
    finally:
        await producer.stop()


def consumer_env(settings, receivers: list[dict]) -> dict[str, str]:
    return settings_env(
        settings,
        LOOKOUT_ALERT_RECEIVERS=json.dumps(receivers),
        LOOKOUT_ALERT_POLL_S="0.2",
        LOOKOUT_ALERT_RETRY_BASE_S="0.3",
        LOOKOUT_ALERT_RETRY_MAX_S="1",
    )
