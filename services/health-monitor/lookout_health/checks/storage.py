"""`s3`: the bucket answers, and a canary object survives put/get/delete.
`directory`: a local directory accepts a file (the embedded backup target)."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid

import boto3
from botocore.config import Config

from lookout_health.checks.base import ProbeFailed
from lookout_health.config import DirectoryCheck, S3Check


def _s3(check: S3Check) -> str:
    client = boto3.client(
        "s3",
        endpoint_url=check.endpoint_url,
        region_name=check.region,
        aws_access_key_id=check.access_key_id,
        aws_secret_access_key=check.secret_access_key,
        config=Config(
            connect_timeout=check.timeout_s,
            read_timeout=check.timeout_s,
            retries={"max_attempts": 1},
        ),
    )
    client.head_bucket(Bucket=check.bucket)
    if not check.canary:
        return f"Bucket {check.bucket} reachable."
    key = f".lookout-health/canary-{uuid.uuid4().hex}"
    body = uuid.uuid4().bytes
    client.put_object(Bucket=check.bucket, Key=key, Body=body)
    try:
        read = client.get_object(Bucket=check.bucket, Key=key)["Body"].read()
    finally:
        client.delete_object(Bucket=check.bucket, Key=key)
    if read != body:
        raise ProbeFailed(f"canary object in {check.bucket} read back different bytes")
    return f"Bucket {check.bucket} reachable; canary object written, read and deleted."


async def run_s3(check: S3Check) -> str:
    return await asyncio.to_thread(_s3, check)


def _directory(check: DirectoryCheck) -> str:
    check.path.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=check.path, prefix=".lookout-health-") as handle:
        handle.write(b"canary")
        handle.flush()
        os.fsync(handle.fileno())
    usage = os.statvfs(check.path)
    free_gb = usage.f_bavail * usage.f_frsize / 1e9
    return f"Directory {check.path} writable; {free_gb:.1f} GB free."


async def run_directory(check: DirectoryCheck) -> str:
    return await asyncio.to_thread(_directory, check)
