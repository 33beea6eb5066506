"""A real ingest process on the suite's broker and a fresh database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from support.db import create_keys
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
