"""Kafka plumbing: how every client connects (SASL, TLS), the FastStream broker factory
and topic administration.

Every producer, consumer and admin client Lookout builds takes its connection from
`client_options` (aiokafka) or `broker_security` (FastStream), both read from the one
`KafkaAuth` of the settings; nothing else names a security protocol.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from typing import Any, Literal, TypedDict

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from faststream.kafka import KafkaBroker
from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)
from pydantic import BaseModel, ConfigDict, SecretStr, model_validator

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.settings import LookoutSettings

log = logging.getLogger(__name__)


class KafkaAuth(BaseModel):
    """How a client authenticates to Kafka and protects the connection."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    @model_validator(mode="after")
    def _complete(self) -> KafkaAuth:
        if self.uses_sasl and (not self.sasl_username or self.sasl_password is None):
            raise ValueError(
                f"security protocol {self.security_protocol} needs a SASL username and password"
            )
        return self

    def credentials(self) -> tuple[str, str]:
        """(username, password) for SASL."""
        if not self.sasl_username or self.sasl_password is None:
            raise ValueError("no SASL username and password")
        return self.sasl_username, self.sasl_password.get_secret_value()

    @property
    def uses_sasl(self) -> bool:
        return self.security_protocol.startswith("SASL_")

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        """A verifying TLS context (system CAs unless `ssl_cafile`), or None without TLS."""
        if not self.uses_tls:
            return None
        context: ssl.SSLContext = create_ssl_context(
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
            certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
            keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
        )
        return context


def kafka_auth(settings: LookoutSettings) -> KafkaAuth:
    """The settings' `LOOKOUT_KAFKA_*` security options as one `KafkaAuth`."""
    return KafkaAuth(
        security_protocol=settings.kafka_security_protocol,
        sasl_mechanism=settings.kafka_sasl_mechanism,
        sasl_username=settings.kafka_sasl_username,
        sasl_password=settings.kafka_sasl_password,
        ssl_cafile=settings.kafka_ssl_cafile,
        ssl_certfile=settings.kafka_ssl_certfile,
        ssl_keyfile=settings.kafka_ssl_keyfile,
    )


def auth_options(auth: KafkaAuth) -> dict[str, Any]:
    """aiokafka keyword arguments for `auth` (producer, consumer and admin client alike)."""
    options: dict[str, Any] = {
        "security_protocol": auth.security_protocol,
        "ssl_context": auth.ssl_context(),
    }
    if auth.uses_sasl:
        username, password = auth.credentials()
        options |= {
            "sasl_mechanism": auth.sasl_mechanism,
            "sasl_plain_username": username,
            "sasl_plain_password": password,
        }
    return options


def client_options(settings: LookoutSettings) -> dict[str, Any]:
    """Bootstrap servers and security for an aiokafka client of this service."""
    return {"bootstrap_servers": settings.kafka_bootstrap, **auth_options(kafka_auth(settings))}


def broker_security(settings: LookoutSettings) -> BaseSecurity | None:
    """The same security as `client_options`, in FastStream's terms."""
    auth = kafka_auth(settings)
    context = auth.ssl_context()
    if not auth.uses_sasl:
        return BaseSecurity(ssl_context=context) if auth.uses_tls else None
    kind = {
        "SCRAM-SHA-512": SASLScram512,
        "SCRAM-SHA-256": SASLScram256,
        "PLAIN": SASLPlaintext,
    }[auth.sasl_mechanism]
    username, password = auth.credentials()
    return kind(username, password, ssl_context=context, use_ssl=auth.uses_tls)


class ProducerOptions(TypedDict):
    acks: Literal["all"]
    linger_ms: int
    max_batch_size: int
    enable_idempotence: bool


PRODUCER_OPTIONS: ProducerOptions = {
    "acks": "all",
    "linger_ms": 2,
    "max_batch_size": 256 * 1024,
    # Off: a retried send may duplicate a record, which the aggregator's event-id
    # dedupe absorbs; Tansu does not implement idempotent producers.
    "enable_idempotence": False,
}


def make_producer(settings: LookoutSettings, *, client_id: str) -> AIOKafkaProducer:
    """An aiokafka producer configured exactly like `make_broker`'s (acks=all).

    For hot paths only: FastStream's publish adds about as much CPU per message as
    aiokafka's send itself (measured: ~18k vs ~46k events/s on 2 cores), which would
    halve ingest's throughput. Everything else publishes through FastStream.
    """
    return AIOKafkaProducer(
        **client_options(settings),
        client_id=client_id,
        request_timeout_ms=int(max(settings.io_timeout_s, 30.0) * 1000),
        **PRODUCER_OPTIONS,
    )


def make_broker(settings: LookoutSettings, *, client_id: str) -> KafkaBroker:
    """A FastStream broker whose producer waits for every in-sync replica (acks=all).

    Protocol requests may take up to 30 s (a consumer-group join legitimately waits
    for the rebalance); callers bound user-facing waits themselves (ingest answers
    503 after `publish_timeout_s`).
    """
    return KafkaBroker(
        settings.kafka_bootstrap,
        security=broker_security(settings),
        client_id=client_id,
        request_timeout_ms=int(max(settings.io_timeout_s, 30.0) * 1000),
        **PRODUCER_OPTIONS,
        allow_auto_create_topics=False,
        graceful_timeout=30.0,
        logger=logging.getLogger(f"lookout.{client_id}.faststream"),
        log_level=logging.DEBUG,  # per-message Received/Processed lines only at debug
    )


def make_admin(settings: LookoutSettings, *, timeout_s: float) -> AIOKafkaAdminClient:
    """An admin client with this service's connection and `timeout_s` per request."""
    return AIOKafkaAdminClient(**client_options(settings), request_timeout_ms=int(timeout_s * 1000))


async def ensure_topics(settings: LookoutSettings, topics: list[Topic] | None = None) -> list[str]:
    """Create Lookout's topics that do not exist yet; returns the names created."""
    wanted = [topic_name(topic, settings.topic_prefix) for topic in (topics or list(Topic))]
    admin = make_admin(settings, timeout_s=settings.io_timeout_s)
    await asyncio.wait_for(admin.start(), settings.io_timeout_s)
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in wanted if name not in existing]
        if not missing:
            return []
        try:
            await admin.create_topics(
                [
                    NewTopic(name, settings.topic_partitions, settings.topic_replication)
                    for name in missing
                ]
            )
        except TopicAlreadyExistsError:
            # Another process created them between our list and create: same outcome.
            log.info("topics already created concurrently", extra={"topics": missing})
        return missing
    finally:
        await admin.close()


async def broker_reachable(settings: LookoutSettings) -> bool:
    """True when the bootstrap broker answers a metadata request in time."""
    admin = make_admin(settings, timeout_s=min(settings.io_timeout_s, 3))
    try:
        await asyncio.wait_for(admin.start(), min(settings.io_timeout_s, 3))
        await asyncio.wait_for(admin.list_topics(), min(settings.io_timeout_s, 3))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"; readyz says so
        return False
    finally:
        await admin.close()


async def start_producer(settings: LookoutSettings, *, client_id: str) -> AIOKafkaProducer:
    """A started `make_producer` producer, retrying while Kafka is not up yet."""
    delay = 0.5
    while True:
        producer = make_producer(settings, client_id=client_id)
        try:
            await asyncio.wait_for(producer.start(), max(settings.io_timeout_s, 60.0))
            return producer
        except Exception as error:  # noqa: BLE001 - keep trying; readyz stays red meanwhile
            log.warning("broker not reachable yet", extra={"error": repr(error)})
            await producer.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


async def start_with_retry(broker: KafkaBroker, settings: LookoutSettings) -> None:
    """Start `broker` (producer and subscribers), retrying while Kafka is not up yet.

    A service started before its broker waits here, unready, instead of crashing.
    """
    delay = 0.5
    while True:
        try:
            await asyncio.wait_for(broker.start(), max(settings.io_timeout_s, 60.0))
            return
        except Exception as error:  # noqa: BLE001 - keep trying; readyz stays red meanwhile
            log.warning("broker not reachable yet", extra={"error": repr(error)})
            await broker.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
