"""A real ingest process on the suite's broker and a fresh database."""

from __future__ import annotations

import pytest
from support.ingest import IngestUnderTest, ingest_keys
from support.services import settings_env

from lookout_common.infra.settings import LookoutSettings


@pytest.fixture
def ingest_with(settings: LookoutSettings, service_factory):
    """Start a real ingest process (`python -m lookout_ingest`) with extra LOOKOUT_* settings."""

    async def start(**extra_env: str) -> IngestUnderTest:
        write_key, admin_key = await ingest_keys(settings)
        service = service_factory("lookout_ingest", settings_env(settings, **extra_env))
        return IngestUnderTest(service, write_key, admin_key, settings)

    return start


@pytest.fixture
async def ingest(ingest_with) -> IngestUnderTest:
    """A real ingest process with its default settings."""
    return await ingest_with()
