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
async def ingest(settings: LookoutSettings, service_factory) -> IngestUnderTest:
    connection = await asyncpg.connect(settings.dsn())
    try:
        write_key = await create_key(connection, Role.INGEST, "integration front end")
        admin_key = await create_key(connection, Role.ADMIN, "integration admin")
    finally:
        await connection.close()
    service = service_factory("lookout_ingest", settings_env(settings))
    return IngestUnderTest(service, write_key, admin_key, settings)
