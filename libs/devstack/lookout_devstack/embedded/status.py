"""`lookout status`: what a running stack is doing, read from its processes, the
broker and Postgres: processes and ports, consumer lag, last backup, open incidents."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from lookout_common.contracts.topics import Topic, group_name, topic_name
from lookout_common.infra.db import connect
from lookout_common.infra.kafka import client_options
from lookout_common.infra.settings import AggregatorSettings


@dataclass
class Status:
    processes: list[tuple[str, int | None, str, int | None]] = field(default_factory=list)
    lag: int | None = None
    lag_error: str | None = None
    last_backup: dict | None = None
    last_successful_backup: dict | None = None
    open_incidents: list[dict] = field(default_factory=list)


def process_rows(info: dict) -> list[tuple[str, int | None, str, int | None]]:
    """(name, pid, state, port) of every process the stack file records."""
    import psutil

    ports = info.get("ports") or {}
    rows = []
    for name, record in (info.get("processes") or {}).items():
        try:
            process = psutil.Process(record["pid"])
            alive = abs(process.create_time() - record["started"]) <= 1
            state = process.status() if alive else "gone"
        except psutil.Error:
            state = "gone"
        rows.append((name, record.get("pid"), state, ports.get(name)))
    return rows


async def consumer_lag(settings: AggregatorSettings) -> int:
    """Records on the events topic the aggregator's consumer group has not committed.

    The consumer names the group only to read its committed offsets: it never
    subscribes, so it never joins the group or disturbs its members."""
    topic = topic_name(Topic.EVENTS, settings.topic_prefix)
    consumer = AIOKafkaConsumer(
        **client_options(settings),
        group_id=group_name(settings.group_id, settings.topic_prefix),
        enable_auto_commit=False,
        request_timeout_ms=int(settings.io_timeout_s * 1000),
    )
    await consumer.start()
    try:
        await consumer.topics()  # fetches the metadata of every topic
        partitions = [
            TopicPartition(topic, partition)
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = await consumer.end_offsets(partitions)
        total = 0
        for partition, end in ends.items():
            total += max(end - (await consumer.committed(partition) or 0), 0)
        return total
    finally:
        await consumer.stop()


async def gather(info: dict | None, settings: AggregatorSettings) -> Status:
    status = Status(processes=process_rows(info) if info else [])
    try:
        status.lag = await asyncio.wait_for(consumer_lag(settings), settings.io_timeout_s * 2)
    except Exception as error:  # noqa: BLE001 - any broker failure is shown, not raised
        status.lag_error = f"{type(error).__name__}: {error}"
    connection = await connect(settings)
    try:
        last = await connection.fetchrow(
            "SELECT run_id, status, finished_at, rows, bytes FROM backup_logs"
            " WHERE operation = 'backup' ORDER BY queued_at DESC LIMIT 1"
        )
        good = await connection.fetchrow(
            "SELECT run_id, status, finished_at, rows, bytes FROM backup_logs"
            " WHERE operation = 'backup' AND status = 'succeeded'"
            " ORDER BY finished_at DESC LIMIT 1"
        )
        incidents = await connection.fetch(
            "SELECT id, check_name, critical, status, message, opened_at FROM incidents"
            " WHERE resolved_at IS NULL ORDER BY opened_at"
        )
    finally:
        await connection.close()
    status.last_backup = dict(last) if last else None
    status.last_successful_backup = dict(good) if good else None
    status.open_incidents = [dict(row) for row in incidents]
    return status


def render(info: dict | None, status: Status) -> str:
    lines = []
    if info:
        lines.append(f"stack       {info['data_dir']} (lookout up, pid {info['pid']})")
        lines.append(f"dashboard   {info['dashboard_url']}")
        lines.append("processes")
        for name, pid, state, port in status.processes:
            lines.append(f"  {name:<22} pid {pid or '-':<8} {state:<10} port {port or '-'}")
        for name, restarts in (info.get("restarts") or {}).items():
            lines.append(f"  restarted {name} {restarts['count']}x, last: {restarts['last']}")
    if status.lag is not None:
        lines.append(f"consumer lag {status.lag} events not yet aggregated")
    else:
        lines.append(f"consumer lag unknown ({status.lag_error})")
    for label, run in (
        ("last backup", status.last_backup),
        ("last good  ", status.last_successful_backup),
    ):
        if run is None:
            lines.append(f"{label} none")
        else:
            lines.append(
                f"{label} {run['run_id']} {run['status']} at {run['finished_at']}"
                f" ({run['rows']:,} rows, {run['bytes']:,} bytes)"
            )
    lines.append(f"open incidents {len(status.open_incidents)}")
    for incident in status.open_incidents:
        severity = "critical" if incident["critical"] else "warning"
        lines.append(
            f"  #{incident['id']} {incident['check_name']} {incident['status']} ({severity})"
            f" since {incident['opened_at']}: {incident['message']}"
        )
    return "\n".join(lines)
