"""Every built-in check kind against a real dependency, run on demand through the API."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import boto3
import httpx
import pytest

from lookout_common.contracts.topics import Topic, topic_name

pytestmark = pytest.mark.integration


async def test_each_check_kind_reports_what_it_found(monitor, s3, tmp_path: Path) -> None:
    bucket = f"lookout-health-{uuid.uuid4().hex[:8]}"
    client = boto3.client(
        "s3",
        endpoint_url=s3.url,
        region_name=s3.region,
        aws_access_key_id=s3.access_key_id,
        aws_secret_access_key=s3.secret_access_key,
    )
    await asyncio.to_thread(client.create_bucket, Bucket=bucket)
    settings = monitor.settings
    canary = topic_name(Topic.HEALTH_CANARY, settings.topic_prefix)
    monitor.config_path.write_text(
        f"""checks:
  - {{name: lookout-db, kind: postgres, dsn: "{settings.dsn()}", interval_s: 3600}}
  - name: lookout-tables
    kind: table
    dsn: "{settings.dsn()}"
    tables: [api_keys, user_analytics]
    interval_s: 3600
  - name: missing-tables
    kind: table
    dsn: "{settings.dsn()}"
    tables: [api_keys, therapists_archive]
    interval_s: 3600
  - {{name: broker, kind: kafka, bootstrap: "{settings.kafka_bootstrap}",
      canary_topic: "{canary}", interval_s: 3600}}
  - name: backups
    kind: s3
    bucket: {bucket}
    endpoint_url: {s3.url}
    region: {s3.region}
    access_key_id: {s3.access_key_id}
    secret_access_key: {s3.secret_access_key}
    interval_s: 3600
  - {{name: no-bucket, kind: s3, bucket: absent-{bucket}, endpoint_url: "{s3.url}",
      access_key_id: {s3.access_key_id}, secret_access_key: {s3.secret_access_key},
      interval_s: 3600}}
  - {{name: scratch, kind: directory, path: "{tmp_path / "backups"}", interval_s: 3600}}
  - {{name: resolver, kind: dns, host: localhost, interval_s: 3600}}
  - {{name: payments, kind: custom, function: "custom_probe:payments_provider",
      interval_s: 3600}}
  - {{name: ledger, kind: custom, function: "custom_probe:broken_dependency",
      interval_s: 3600, critical: false}}
"""
    )
    monitor.env["PYTHONPATH"] = str(Path(__file__).parent)
    monitor.start()
    ran = await monitor.post("/api/v1/health/checks/run")
    assert ran.status_code == 200
    results = {r["service"]: r for r in ran.json()}
    healthy = {name for name, r in results.items() if r["status"] == "healthy"}
    assert healthy == {
        "lookout-db",
        "lookout-tables",
        "broker",
        "backups",
        "scratch",
        "resolver",
        "payments",
    }
    assert results["lookout-db"]["message"].startswith("Connected successfully. Found ")
    assert results["lookout-tables"]["message"] == "All 2 tables readable."
    assert "therapists_archive" in results["missing-tables"]["message"]
    assert results["broker"]["message"].startswith(f"Canary produced and consumed at {canary}")
    assert "canary object written, read and deleted" in results["backups"]["message"]
    assert results["no-bucket"]["status"] == "degraded"  # first failure of three
    assert results["resolver"]["message"].startswith("localhost resolved to ")
    assert results["payments"]["message"] == "payments provider answered"
    assert results["ledger"]["message"] == "RuntimeError: ledger replica is read-only"
    assert all(r["responseTime"] > 0 for r in results.values())

    leftovers = await asyncio.to_thread(client.list_objects_v2, Bucket=bucket)
    assert leftovers.get("KeyCount", 0) == 0  # the canary object was deleted

    async with httpx.AsyncClient() as http:
        metrics = (await http.get(f"{monitor.service.url}/metrics")).text
    # The scheduled first run may have happened too (first runs are spread over 10 s).
    samples = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("lookout_health_check")
    }
    assert samples['lookout_health_check_results_total{check="resolver",status="healthy"}'] >= 1
    assert samples['lookout_health_check_results_total{check="no-bucket",status="degraded"}'] >= 1
    assert samples['lookout_health_check_seconds_count{check="broker"}'] >= 1
