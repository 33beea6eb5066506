"""`lookout up`'s processes: start them in order, record them, stop them in order.

Order matters in both directions. Start: S3 (SeaweedFS), the broker (its log in
S3), Postgres, then (`provision.py`) migrations, topics, keys, then the services
(consumers before ingest). Stop: demo traffic, ingest (no new acks), wait a bounded
time for the aggregator to drain the topic into Postgres, then the other services,
the broker, S3, Postgres. On the durable broker what is not drained stays in its log
and is aggregated on the next start; on the memory broker it would be lost.

Every child dies with `lookout up` (PR_SET_PDEATHSIG), so a kill -9 leaves no
orphan holding ports or locks; a new start over the same data dir clears what a
killed run left and takes the same ports again (`ports.json`).

`up.py` runs the whole sequence; `supervision.py` restarts what dies while it runs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from lookout_common.infra.settings import LookoutSettings
from lookout_devstack.embedded.process import spawn, stop_process
from lookout_devstack.embedded.stackfile import (
    STACK_FILE,
    Ports,
    clear_stale,
    process_record,
    write_private,
)
from lookout_devstack.embedded.watchdog import Watchdog
from lookout_devstack.provision import provision

log = logging.getLogger("lookout.stack")

READY_TIMEOUT_S = 90.0
SERVICE_STOP_TIMEOUT_S = 10.0
BACKUP_BUCKET = "lookout-backups"


@dataclass
class ServiceSpec:
    name: str
    module: str
    preferred_port: int
    port: int = 0
    process: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def default_services() -> list[ServiceSpec]:
    """Every process of the stack, in start order (consumers first, ingest last)."""
    return [
        ServiceSpec("analytics-aggregator", "lookout_aggregator", 8002),
        ServiceSpec("health-monitor", "lookout_health", 8003),
        ServiceSpec("alert-consumer", "lookout_health.alerts", 8005),
        ServiceSpec("backup-worker", "lookout_backup", 8004),
        ServiceSpec("dashboard-api", "lookout_dashboard", 8000),
        ServiceSpec("ingest", "lookout_ingest", 8001),
    ]


class Stack:
    """Owns every child process of one `lookout up`."""

    def __init__(
        self,
        data_dir: Path,
        *,
        host: str = "127.0.0.1",
        broker_storage: str = "s3",
        drain_timeout_s: float = 60.0,
        watchdog: Watchdog | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.host = host
        self.broker_storage = broker_storage
        self.drain_timeout_s = drain_timeout_s
        self.watchdog = watchdog or Watchdog(interval_s=5.0, failures=3, start_grace_s=120.0)
        self.restarts: dict[str, dict] = {}  # name -> {"count", "last"}, shown by `status`
        self.logs = self.data_dir / "logs"
        self.ports: Ports | None = None
        self.wrote_stack_file = False
        self.key_files: dict[str, str] = {}  # setting -> file in the data dir holding it
        self.s3 = None
        self.postgres = None
        self.kafka = None
        self.services = default_services()
        self.env: dict[str, str] = {}
        self.keys: dict[str, str] = {}
        self.stopping = threading.Event()  # tells helper threads (demo traffic) to stop
        # Set by the signal handler. A handler must not call Event.set: if the signal lands
        # while the main thread holds the event's lock, the process deadlocks.
        self.stop_requested = False

    # ---- start -------------------------------------------------------------------------
    def start_infrastructure(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        for left in clear_stale(self.data_dir):
            print(f"  cleared     {left}, left by a killed run")
        self.ports = Ports(self.data_dir, self.host)
        embedded_broker = not os.environ.get("LOOKOUT_KAFKA_BOOTSTRAP")
        embedded_backups = not os.environ.get("LOOKOUT_S3_BUCKET")
        if embedded_backups or (embedded_broker and self.broker_storage == "s3"):
            self._start_s3()
        self.env = {"LOOKOUT_HTTP_HOST": self.host}
        if embedded_broker:
            from lookout_devstack.embedded.kafka import EmbeddedKafka

            durable = self.broker_storage == "s3"
            self.kafka = EmbeddedKafka(
                self.logs,
                port=self.ports.pick("kafka", 9092),
                s3_environment=self.s3.broker_environment() if durable else None,
                die_with_parent=True,
            )
            self.kafka.start()
            storage = "log in S3, durable" if durable else "memory only: drained on stop"
            print(f"  kafka       embedded Tansu, {self.kafka.bootstrap} ({storage})")
        self.env["LOOKOUT_KAFKA_BOOTSTRAP"] = (
            self.kafka.bootstrap if self.kafka else os.environ["LOOKOUT_KAFKA_BOOTSTRAP"]
        )
        database_url = os.environ.get("LOOKOUT_DATABASE_URL")
        if not database_url:
            from lookout_devstack.embedded.postgres import EmbeddedPostgres

            self.postgres = EmbeddedPostgres(
                self.data_dir / "postgres",
                port=self.ports.pick("postgres", 5432),
                die_with_parent=True,
            )
            self.postgres.log_path = self.logs / "postgres.log"
            self.postgres.start()
            database_url = self.postgres.database_url("lookout")
            print(f"  postgres    embedded, {self.postgres.url} (data in {self.postgres.data_dir})")
        self.env["LOOKOUT_DATABASE_URL"] = database_url
        if embedded_backups:
            self.env |= {
                "LOOKOUT_S3_ENDPOINT_URL": self.s3.endpoint_url,
                "LOOKOUT_S3_BUCKET": BACKUP_BUCKET,
                "LOOKOUT_S3_ACCESS_KEY_ID": self.s3.credentials.access_key_id,
                "LOOKOUT_S3_SECRET_ACCESS_KEY": self.s3.credentials.secret_access_key,
            }
            print(f"  backups     embedded S3, bucket {BACKUP_BUCKET}")
        if not os.environ.get("LOOKOUT_BACKUP_KEY"):
            self.env["LOOKOUT_BACKUP_KEY"] = self._backup_key()
            self.key_files["LOOKOUT_BACKUP_KEY"] = "backup.key"
        if not os.environ.get("LOOKOUT_BACKUP_COMMAND_KEY"):  # dashboard-api signs, worker checks
            self.env["LOOKOUT_BACKUP_COMMAND_KEY"] = self._backup_key("backup-command.key")
            self.key_files["LOOKOUT_BACKUP_COMMAND_KEY"] = "backup-command.key"

    def _start_s3(self) -> None:
        from lookout_devstack.embedded.s3 import PORT_NAMES, EmbeddedS3

        preferred = {"s3": 8333}
        for attempt in range(2):
            # Eight ports are checked free, then bound by SeaweedFS a moment later: another
            # program may take one in between, so a failed start retries on fresh ports.
            ports = {
                name: self.ports.pick(name, preferred.get(name), fresh=attempt > 0)
                for name in PORT_NAMES
            }
            self.s3 = EmbeddedS3(
                self.data_dir / "s3",
                ports,
                log_path=self.logs / "seaweedfs.log",
                die_with_parent=True,
            )
            try:
                self.start_s3_buckets()
                break
            except RuntimeError:
                self.s3.stop()
                if attempt > 0:
                    raise
                for name in PORT_NAMES:
                    self.ports.chosen.pop(name, None)
        where = f"{self.s3.endpoint_url} (data in {self.s3.data_dir})"
        print(f"  s3          embedded SeaweedFS, {where}")

    def start_s3_buckets(self) -> None:
        """(Re)start the embedded S3 with the broker's and the backups' buckets."""
        from lookout_devstack.embedded.kafka import BROKER_BUCKET

        self.s3.start([BROKER_BUCKET, BACKUP_BUCKET])

    def _backup_key(self, name: str = "backup.key") -> str:
        """A key of this data dir (the master backup key, the backup command key), made
        once and kept in a 0600 file."""
        path = self.data_dir / name
        if not path.exists():
            write_private(path, base64.b64encode(secrets.token_bytes(32)).decode())
        return path.read_text().strip()

    def prepare(self) -> None:
        """Migrations, topics, the keys and, on the embedded Postgres, the sample product
        database (`provision.py`)."""
        settings = LookoutSettings(
            database_url=self.env["LOOKOUT_DATABASE_URL"],
            kafka_bootstrap=self.env["LOOKOUT_KAFKA_BOOTSTRAP"],
        )
        marketplace = None
        if self.postgres is not None and not os.environ.get("LOOKOUT_BACKUP_SOURCE_URL"):
            marketplace = self.postgres.database_url("marketplace")
        provisioned = asyncio.run(provision(settings, self.data_dir, marketplace))
        self.keys = provisioned.keys
        if provisioned.marketplace_url is not None:
            self.env["LOOKOUT_BACKUP_SOURCE_URL"] = provisioned.marketplace_url

    def start_services(self) -> None:
        for attempt in range(2):
            # Each port is checked free, then bound by its service a moment later: another
            # program may take one in between. Every service knows the others' URLs, so a
            # lost port restarts them all on fresh ports, as `_start_s3` does for its own.
            for service in self.services:
                service.port = self.ports.pick(
                    service.name, service.preferred_port, fresh=attempt > 0
                )
            urls = {s.name: s.url for s in self.services if s.name != "health-monitor"}
            self.env["LOOKOUT_HEALTH_SERVICE_URLS"] = json.dumps(urls)
            by_name = {s.name: s.url for s in self.services}
            self.env["LOOKOUT_HEALTH_MONITOR_URL"] = by_name["health-monitor"]
            self.env["LOOKOUT_BACKUP_WORKER_URL"] = by_name["backup-worker"]
            logged = {s.name: self._log_size(s) for s in self.services}
            for service in self.services:
                self.start_service(service)
            try:
                deadline = time.monotonic() + READY_TIMEOUT_S
                for service in self.services:
                    self._wait_ready(service, deadline)
                return
            except RuntimeError:
                lost = [s for s in self.services if self._lost_port(s, logged[s.name])]
                if attempt > 0 or not lost:
                    raise
                print(f"  port {lost[0].port} was taken before {lost[0].name} bound it; retrying")
                for service in reversed(self.services):
                    stop_process(service.process, timeout=SERVICE_STOP_TIMEOUT_S)
                    self.ports.chosen.pop(service.name, None)

    def _log_size(self, service: ServiceSpec) -> int:
        log = self.logs / f"{service.name}.log"
        return log.stat().st_size if log.exists() else 0

    def _lost_port(self, service: ServiceSpec, since: int) -> bool:
        """Whether `service` exited because its port was taken (its log since `since`)."""
        if service.process.poll() is None:
            return False
        with open(self.logs / f"{service.name}.log", "rb") as log:
            log.seek(since)
            return b"address already in use" in log.read().lower()

    def start_service(self, service: ServiceSpec) -> None:
        env = {**os.environ, **self.env, "LOOKOUT_HTTP_PORT": str(service.port)}
        service.process = spawn(
            [sys.executable, "-m", service.module],
            self.logs / f"{service.name}.log",
            env=env,
            die_with_parent=True,
        )
        self.watchdog.spawned(service.name)

    def _wait_ready(self, service: ServiceSpec, deadline: float) -> None:
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(
                    f"{service.name} exited with {service.process.returncode}; "
                    f"see {self.logs / (service.name + '.log')}"
                )
            try:
                if httpx.get(f"{service.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{service.name} did not become ready; see {self.logs}")

    def processes(self) -> dict[str, object]:
        """Every running child process of the stack, by name."""
        found = {
            "s3": self.s3 and self.s3.process,
            "kafka": self.kafka and self.kafka.process,
            "postgres": self.postgres and self.postgres.process,
        }
        found |= {service.name: service.process for service in self.services}
        return {name: process for name, process in found.items() if process is not None}

    def write_stack_file(self) -> dict:
        """stack.json (0600): what the other `lookout` commands need to attach to this
        stack, and every process, so a later start can clear what a killed run left."""
        by_name = {service.name: service.url for service in self.services}
        info = {
            "dashboard_url": by_name["dashboard-api"],
            "ingest_url": by_name["ingest"],
            **self.keys,
            "services": by_name,
            "database_url": self.env["LOOKOUT_DATABASE_URL"],
            "kafka_bootstrap": self.env["LOOKOUT_KAFKA_BOOTSTRAP"],
            "broker_storage": self.broker_storage if self.kafka is not None else "external",
            "data_dir": str(self.data_dir),
            "pid": os.getpid(),
            "owner": process_record(os.getpid()),
            "processes": {
                name: process_record(process.pid) for name, process in self.processes().items()
            },
            "ports": self.ports.chosen,
            "restarts": self.restarts,
            # Keys stay in their own files (backup.key, …); the CLI reads them from there.
            "env": {name: value for name, value in self.env.items() if name not in self.key_files},
            "key_files": self.key_files,
        }
        write_private(self.data_dir / STACK_FILE, json.dumps(info, indent=2))
        self.wrote_stack_file = True
        return info

    # ---- stop ----------------------------------------------------------------------------
    def stop(self) -> None:
        by_name = {service.name: service for service in self.services}
        ingest = by_name.get("ingest")
        if ingest is not None and ingest.process is not None:
            stop_process(ingest.process, timeout=SERVICE_STOP_TIMEOUT_S)
        aggregator = by_name.get("analytics-aggregator")
        if aggregator is not None and aggregator.process is not None:
            self._drain(aggregator)
        for service in reversed(self.services):
            if service.process is not None:
                stop_process(service.process, timeout=SERVICE_STOP_TIMEOUT_S)
        if self.kafka is not None:
            self.kafka.stop()
        if self.s3 is not None:
            self.s3.stop()
        if self.postgres is not None:
            self.postgres.stop()
        # The URLs in it are dead now; keys.json keeps the keys for the next start. A start
        # refused because another stack runs here never wrote it, so leaves it alone.
        if self.wrote_stack_file:
            (self.data_dir / STACK_FILE).unlink(missing_ok=True)

    def _drain(self, aggregator: ServiceSpec) -> None:
        """Wait up to the drain timeout for the aggregator to store what the broker holds."""
        deadline = time.monotonic() + self.drain_timeout_s
        lag = None
        key = {"Authorization": f"Bearer {self.keys.get('admin_key', '')}"}  # /lag needs one
        while aggregator.process.poll() is None:
            try:
                lag = httpx.get(f"{aggregator.url}/lag", headers=key, timeout=2).json().get("lag")
            except (httpx.HTTPError, ValueError):
                lag = None
            if lag == 0 or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        if lag == 0:
            return
        waited = f"not drained after {self.drain_timeout_s:g} s (lag {lag})"
        if self.kafka is not None and not self.kafka.durable:
            print(f"! aggregator {waited}; the memory broker loses those events", file=sys.stderr)
        else:
            print(
                f"! aggregator {waited}; those events stay in the broker's log and are "
                "aggregated on the next start",
                file=sys.stderr,
            )
