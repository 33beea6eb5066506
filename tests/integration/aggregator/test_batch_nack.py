"""A failed batch (NACK) spanning several partitions is delivered again in full: the
aggregator's subscriber options on the pinned FastStream rewind every partition the batch
touched, so no record of another partition is skipped (real Tansu)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaMessage

from lookout_aggregator.bootstrap import batch_options
from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.kafka import make_broker
from lookout_common.infra.settings import AggregatorSettings, LookoutSettings

pytestmark = pytest.mark.integration


async def test_a_nacked_batch_across_partitions_is_redelivered_whole(
    settings: LookoutSettings,
) -> None:
    topic = topic_name(Topic.EVENTS, settings.topic_prefix)
    sent = {(partition, offset) for partition in range(4) for offset in range(10)}
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for partition, offset in sorted(sent):
            value = f"{partition}:{offset}".encode()
            await producer.send_and_wait(topic, value, partition=partition)
    finally:
        await producer.stop()

    options = AggregatorSettings(**settings.model_dump(), batch_timeout_ms=500)
    broker = make_broker(options, client_id="nack-test")
    failed: list[set[int]] = []  # the partitions of each batch that was refused
    stored: list[tuple[int, int]] = []
    done = asyncio.Event()

    @broker.subscriber(topic, group_id=f"nack-{uuid.uuid4().hex[:8]}", **batch_options(options))
    async def consume(message: KafkaMessage) -> None:
        records = list(message.raw_message)
        partitions = {record.partition for record in records}
        if not failed and len(partitions) >= 3:
            failed.append(partitions)
            raise RuntimeError("the transaction failed: nothing of this batch is stored")
        stored.extend((record.partition, record.offset) for record in records)
        if {*stored} >= sent:
            done.set()

    await broker.start()
    try:
        await asyncio.wait_for(done.wait(), 20)
    except TimeoutError:
        pass
    finally:
        await broker.stop()
    assert failed, "no batch spanned 3 partitions: the test proved nothing"
    assert set(stored) == sent  # every record of every partition, after the NACK too
