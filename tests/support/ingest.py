"""A real ingest process under test: its keys, its answers and what it put on Kafka."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.apikeys import Role
from lookout_common.infra.settings import LookoutSettings
from support.db import create_keys
from support.kafka import read_topic
from support.services import ServiceProcess


async def ingest_keys(
    settings: LookoutSettings, source: str = "integration front end"
) -> tuple[str, str]:
    """A new (write key named `source`, admin key) pair in the settings' database."""
    write_key, admin_key = await create_keys(
        settings.dsn(), (Role.INGEST, source), (Role.ADMIN, "integration admin")
    )
    return write_key, admin_key


@dataclass
class IngestUnderTest:
    service: ServiceProcess
    write_key: str
    admin_key: str
    settings: LookoutSettings

    @property
    def url(self) -> str:
        return self.service.url

    def topic(self, topic: Topic) -> str:
        return topic_name(topic, self.settings.topic_prefix)

    async def post(self, path: str, body: dict, **kwargs) -> httpx.Response:
        """Ingest's answer to `body` POSTed to `path` with the write key."""
        async with httpx.AsyncClient(timeout=15) as client:
            return await client.post(
                f"{self.url}{path}", json=body, auth=(self.write_key, ""), **kwargs
            )

    async def published(self, expect: int) -> dict[str, dict]:
        """The events on the events topic by event id, once `expect` of them are there."""
        return {record["event_id"]: record for record in await self.records(expect)}

    async def copies(self, expect: int, settle: float = 1.5) -> dict[str, list[dict]]:
        """Every record on the events topic by event id, a list each (to see duplicates):
        `expect` of them, then whatever arrives in the next `settle` seconds."""
        by_id: dict[str, list[dict]] = {}
        for record in await self.records(expect, settle):
            by_id.setdefault(record["event_id"], []).append(record)
        return by_id

    async def records(self, expect: int, settle: float = 0.5) -> list[dict]:
        return await read_topic(
            self.settings.kafka_bootstrap, self.topic(Topic.EVENTS), expect=expect, settle=settle
        )

    async def metrics(self) -> str:
        """Ingest's Prometheus metrics as text."""
        async with httpx.AsyncClient(timeout=15) as client:
            return (await client.get(f"{self.url}/metrics")).text
