"""A real ingest process on the suite's broker and a fresh database."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import pytest
from support.services import ServiceProcess, settings_env

from lookout_common.apikeys import Role, create_key
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


@pytest.fixture
def ingest_with(settings: LookoutSettings, service_factory):
    """Start a real ingest process (`python -m lookout_ingest`) with extra LOOKOUT_* settings."""

    async def start(**extra_env: str) -> IngestUnderTest:
        connection = await asyncpg.connect(settings.dsn())
        try:
            write_key = await create_key(connection, Role.INGEST, "integration front end")
            admin_key = await create_key(connection, Role.ADMIN, "integration admin")
        finally:
            await connection.close()
        service = service_factory("lookout_ingest", settings_env(settings, **extra_env))
        return IngestUnderTest(service, write_key, admin_key, settings)

    return start


@pytest.fixture
async def ingest(ingest_with) -> IngestUnderTest:
    """A real ingest process with its default settings."""
    return await ingest_with()
