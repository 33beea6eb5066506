"""A real ingest process on the suite's broker and a fresh database."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from support.db import create_keys
from support.kafka import read_topic
from support.services import ServiceProcess, settings_env

from lookout_common.apikeys import Role
from lookout_common.settings import LookoutSettings
from lookout_common.topics import Topic, topic_name


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
        records = await read_topic(
            self.settings.kafka_bootstrap, self.topic(Topic.EVENTS), expect=expect
        )
        return {record["event_id"]: record for record in records}

    async def metrics(self) -> str:
        """Ingest's Prometheus metrics as text."""
        async with httpx.AsyncClient(timeout=15) as client:
            return (await client.get(f"{self.url}/metrics")).text


@pytest.fixture
def ingest_with(settings: LookoutSettings, service_factory):
    """Start a real ingest process (`python -m lookout_ingest`) with extra LOOKOUT_* settings."""

    async def start(**extra_env: str) -> IngestUnderTest:
        write_key, admin_key = await create_keys(
            settings.dsn(),
            (Role.INGEST, "integration front end"),
            (Role.ADMIN, "integration admin"),
        )
        service = service_factory("lookout_ingest", settings_env(settings, **extra_env))
        return IngestUnderTest(service, write_key, admin_key, settings)

    return start


@pytest.fixture
async def ingest(ingest_with) -> IngestUnderTest:
    """A real ingest process with its default settings."""
    return await ingest_with()
