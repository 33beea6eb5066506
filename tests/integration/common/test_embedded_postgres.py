"""The embedded PostgreSQL authenticates every connection: a generated password
(scram-sha-256) kept 0600 beside the data directory, carried by its URLs; a data
directory made before passwords gets one on its next start."""

from __future__ import annotations

import shutil
from pathlib import Path

import asyncpg
import pytest
from support.resolve import scratch_dir

from lookout_devstack.embedded.postgres import EmbeddedPostgres

pytestmark = pytest.mark.integration


@pytest.fixture
def directory():
    path = scratch_dir("lookout-test-pg-auth-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _refused(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=10)
    except asyncpg.InvalidPasswordError:
        return True
    await connection.close()
    return False


async def test_a_new_server_wants_its_generated_password(directory: Path) -> None:
    server = EmbeddedPostgres(directory / "data", durable=False)
    server.start()
    try:
        assert oct(server.password_file.stat().st_mode & 0o777) == "0o600"
        assert len(server.password) >= 24
        connection = await asyncpg.connect(server.url)
        method = await connection.fetchval(
            "SELECT auth_method FROM pg_hba_file_rules WHERE type = 'host' LIMIT 1"
        )
        await connection.close()
        assert method == "scram-sha-256"
        anyone = f"postgresql://postgres@127.0.0.1:{server.port}/postgres"
        assert await _refused(anyone)
        assert await _refused(anyone.replace("postgres@", "postgres:guess@"))
    finally:
        server.stop()


async def test_a_trust_data_directory_gets_a_password_on_start(directory: Path) -> None:
    server = EmbeddedPostgres(directory / "data", durable=False)
    server.start()
    server.stop()
    # Make it look like a data directory from before passwords.
    hba = server.data_dir / "pg_hba.conf"
    hba.write_text(hba.read_text().replace("scram-sha-256", "trust"))
    server.password_file.unlink()
    server.start()
    try:
        assert server.password_file.exists()
        connection = await asyncpg.connect(server.url)
        await connection.close()
        assert await _refused(f"postgresql://postgres@127.0.0.1:{server.port}/postgres")
        rules = [line for line in hba.read_text().splitlines() if not line.startswith("#")]
        assert not any("trust" in rule for rule in rules)
    finally:
        server.stop()
