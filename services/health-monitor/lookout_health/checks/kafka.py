"""`kafka`: cluster metadata, and optionally a canary produced and read back."""

from __future__ import annotations

import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from lookout_common.infra.kafka import auth_options
from lookout_health.checks.base import ProbeFailed
from lookout_health.config import KafkaCheck


def _connection(check: KafkaCheck) -> dict[str, Any]:
    """The checked broker's address and the check's SASL/TLS, for any aiokafka client."""
    return {"bootstrap_servers": check.bootstrap, **auth_options(check.auth)}


async def run_kafka(check: KafkaCheck) -> str:
    timeout_ms = int(check.timeout_s * 1000)
    admin = AIOKafkaAdminClient(**_connection(check), request_timeout_ms=timeout_ms)
    try:
        await admin.start()
        topics = await admin.list_topics()
    finally:
        await admin.close()
    if check.canary_topic is None:
        return f"Metadata answered: {len(topics)} topics."
    if check.canary_topic not in topics:
        raise ProbeFailed(f"canary topic {check.canary_topic} does not exist")
    return await _canary(check, timeout_ms)


async def _canary(check: KafkaCheck, timeout_ms: int) -> str:
    token = uuid.uuid4().hex.encode()
    producer = AIOKafkaProducer(**_connection(check), acks="all", request_timeout_ms=timeout_ms)
    await producer.start()
    try:
        sent = await producer.send_and_wait(check.canary_topic, token, partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        **_connection(check), enable_auto_commit=False, request_timeout_ms=timeout_ms
    )
    await consumer.start()
    try:
        partition = TopicPartition(check.canary_topic, sent.partition)
        consumer.assign([partition])
        consumer.seek(partition, sent.offset)
        record = await consumer.getone(partition)
    finally:
        await consumer.stop()
    if record.value != token:
        raise ProbeFailed(f"canary read back at offset {sent.offset} does not match what was sent")
    return f"Canary produced and consumed at {check.canary_topic}[{sent.partition}]@{sent.offset}."
