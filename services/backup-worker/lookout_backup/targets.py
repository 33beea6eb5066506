"""Where backups live: a local directory (the embedded default) or an S3 bucket.

Objects are written as streams with bounded memory: files go to a temporary name, are
fsynced and renamed; S3 objects go up as multipart uploads of `PART` bytes with S3's
own SHA-256 checksum on every part, retried with backoff, aborted on failure.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lookout_backup.names import is_run_id
from lookout_common.infra.settings import BackupWorkerSettings

log = logging.getLogger("lookout.backup")

PART = 8 * 1024 * 1024
CHUNK = 1024 * 1024
# The object that says "this prefix (or directory) is Lookout's": prune touches nothing
# where it is missing. The worker writes it before its first backup there.
MARKER = ".lookout-backups"
MARKER_BODY = b'{"owner": "lookout", "what": "backups of the Lookout backup-worker"}\n'
DELETE_BATCH = 1000  # S3's most keys per DeleteObjects


def _fenced(run_id: str) -> str:
    if not is_run_id(run_id):
        raise ValueError(f"{run_id!r} is not a Lookout run id: not deleting it")
    return run_id


@dataclass(frozen=True)
class StoredObject:
    key: str
    bytes: int
    sha256: str


class Target(Protocol):
    name: str

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject: ...
    def get_stream(self, key: str) -> AsyncIterator[bytes]: ...
    async def put_bytes(self, key: str, data: bytes) -> StoredObject: ...
    async def get_bytes(self, key: str) -> bytes: ...
    async def exists(self, key: str) -> bool: ...
    async def ensure_marker(self) -> None: ...
    async def has_marker(self) -> bool: ...
    async def list_runs(self) -> list[str]: ...
    async def delete_prefix(self, prefix: str) -> int: ...


class LocalTarget:
    def __init__(self, directory: Path) -> None:
        self.root = directory
        self.name = f"file://{directory}"

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key {key!r} escapes the backup directory")
        return path

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".partial")
        digest, size = hashlib.sha256(), 0
        handle = await asyncio.to_thread(temporary.open, "wb")
        try:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.flush)
            await asyncio.to_thread(os.fsync, handle.fileno())
        finally:
            handle.close()
        await asyncio.to_thread(os.replace, temporary, path)
        return StoredObject(key, size, digest.hexdigest())

    async def get_stream(self, key: str) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def put_bytes(self, key: str, data: bytes) -> StoredObject:
        async def one() -> AsyncIterator[bytes]:
            yield data

        return await self.put_stream(key, one())

    async def get_bytes(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).exists)

    async def ensure_marker(self) -> None:
        if not await self.has_marker():
            await self.put_bytes(MARKER, MARKER_BODY)

    async def has_marker(self) -> bool:
        return await asyncio.to_thread((self.root / MARKER).is_file)

    async def list_runs(self) -> list[str]:
        """The run directories (only names that are run ids)."""
        if not self.root.exists():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if is_run_id(p.name) and p.is_dir() and not p.is_symlink()
        )

    async def delete_prefix(self, prefix: str) -> int:
        """Delete one run's directory; refuses any name that is not a run id."""
        path = self._path(_fenced(prefix))
        if not path.exists():
            return 0

        def remove() -> int:
            count = sum(1 for p in path.rglob("*") if p.is_file())
            shutil.rmtree(path)
            return count

        return await asyncio.to_thread(remove)


class S3Target:
    def __init__(
        self,
        client_factory: Callable[[], Any],
        bucket: str,
        prefix: str = "",
        *,
        storage_class: str | None = None,
        server_side_encryption: str | None = None,
        attempts: int = 4,
        backoff_s: float = 0.5,
        page_size: int = 1000,
    ) -> None:
        self._client = client_factory()
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.name = f"s3://{bucket}/{self.prefix}"
        self._extra = {}
        if storage_class:
            self._extra["StorageClass"] = storage_class
        if server_side_encryption:
            self._extra["ServerSideEncryption"] = server_side_encryption
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._page_size = page_size  # entries per listing page (S3 answers at most 1,000)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        """A boto3 call in a thread, retried with exponential backoff."""
        delay = self._backoff_s
        for attempt in range(1, self._attempts + 1):
            try:
                return await asyncio.to_thread(getattr(self._client, method), **kwargs)
            except (BotoCoreError, ClientError) as error:
                code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
                if (
                    code in ("NoSuchKey", "404", "NoSuchBucket", "AccessDenied")
                    or attempt == self._attempts
                ):
                    raise
                log.warning("S3 call failed; retrying", extra={"call": method, "error": str(error)})
                await asyncio.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> StoredObject:
        full_key = self.prefix + key
        upload = await self._call(
            "create_multipart_upload",
            Bucket=self.bucket,
            Key=full_key,
            ChecksumAlgorithm="SHA256",
            **self._extra,
        )
        upload_id = upload["UploadId"]
        digest, size, buffer = hashlib.sha256(), 0, bytearray()
        parts: list[dict[str, Any]] = []

        async def send(data: bytes) -> None:
            number = len(parts) + 1
            checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
            answer = await self._call(
                "upload_part",
                Bucket=self.bucket,
                Key=full_key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
            parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum})

        try:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                buffer.extend(chunk)
                if len(buffer) >= PART:
                    await send(bytes(buffer))
                    buffer.clear()
            if buffer or not parts:
                await send(bytes(buffer))
            await self._call(
                "complete_multipart_upload",
                Bucket=self.bucket,
                Key=full_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            try:
                await asyncio.to_thread(
                    self._client.abort_multipart_upload,
                    Bucket=self.bucket,
                    Key=full_key,
                    UploadId=upload_id,
                )
            except (BotoCoreError, ClientError) as error:
                log.warning("multipart upload not aborted", extra={"error": str(error)})
            raise
        return StoredObject(key, size, digest.hexdigest())

    async def get_stream(self, key: str) -> AsyncIterator[bytes]:
        answer = await self._call("get_object", Bucket=self.bucket, Key=self.prefix + key)
        body = answer["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def put_bytes(self, key: str, data: bytes) -> StoredObject:
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        await self._call(
            "put_object",
            Bucket=self.bucket,
            Key=self.prefix + key,
            Body=data,
            ChecksumSHA256=checksum,
            **self._extra,
        )
        return StoredObject(key, len(data), hashlib.sha256(data).hexdigest())

    async def get_bytes(self, key: str) -> bytes:
        answer = await self._call("get_object", Bucket=self.bucket, Key=self.prefix + key)
        return await asyncio.to_thread(answer["Body"].read)

    async def exists(self, key: str) -> bool:
        try:
            await self._call("head_object", Bucket=self.bucket, Key=self.prefix + key)
            return True
        except ClientError:
            return False

    async def ensure_marker(self) -> None:
        if not await self.has_marker():
            await self.put_bytes(MARKER, MARKER_BODY)

    async def has_marker(self) -> bool:
        return await self.exists(MARKER)

    async def _pages(self, **listing: Any) -> AsyncIterator[dict[str, Any]]:
        """Every page of a listing (S3 answers at most 1,000 entries per call)."""
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = await self._call(
                "list_objects_v2",
                Bucket=self.bucket,
                MaxKeys=self._page_size,
                **listing,
                **extra,
            )
            yield page
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    async def list_runs(self) -> list[str]:
        """The run "folders" under the prefix (only names that are run ids)."""
        names = []
        async for page in self._pages(Prefix=self.prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                name = common["Prefix"][len(self.prefix) :].rstrip("/")
                if is_run_id(name):
                    names.append(name)
        return sorted(names)

    async def delete_prefix(self, prefix: str) -> int:
        """Delete every object of one run, in batches of 1,000; refuses any name that is
        not a run id."""
        folder = f"{self.prefix}{_fenced(prefix)}/"
        deleted = 0
        batch: list[dict[str, str]] = []

        async def flush() -> None:
            nonlocal deleted
            answer = await self._call(
                "delete_objects", Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
            )
            if errors := answer.get("Errors"):
                first = errors[0]
                raise OSError(
                    f"S3 did not delete {len(errors)} objects of {prefix}, e.g."
                    f" {first.get('Key')}: {first.get('Code')} {first.get('Message')}"
                )
            deleted += len(batch)
            batch.clear()

        async for page in self._pages(Prefix=folder):
            for item in page.get("Contents", []):
                batch.append({"Key": item["Key"]})
                if len(batch) == DELETE_BATCH:
                    await flush()
        if batch:
            await flush()
        return deleted


def s3_client_factory(settings: BackupWorkerSettings) -> Callable[[], Any]:
    def make() -> Any:
        return boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id.get_secret_value()
            if settings.s3_access_key_id
            else None,
            aws_secret_access_key=settings.s3_secret_access_key.get_secret_value()
            if settings.s3_secret_access_key
            else None,
            config=Config(
                connect_timeout=settings.io_timeout_s,
                read_timeout=max(settings.io_timeout_s, 60),
                retries={"max_attempts": 1},
            ),
        )

    return make


def open_target(settings: BackupWorkerSettings) -> Target:
    """The S3 bucket when LOOKOUT_S3_BUCKET is set, else LOOKOUT_BACKUP_DIR."""
    if settings.s3_bucket:
        return S3Target(
            s3_client_factory(settings),
            settings.s3_bucket,
            settings.s3_prefix,
            storage_class=settings.s3_storage_class,
            server_side_encryption=settings.s3_server_side_encryption,
        )
    return LocalTarget(settings.backup_dir)
