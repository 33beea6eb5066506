"""What a data dir says about its stack: the ports it used (`ports.json`, so a restart
gets the same ones back) and the running stack (`stack.json`: URLs, keys, settings and
every process), which the other `lookout` commands attach to."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from lookout_devstack.embedded.process import free_port, port_open

STACK_FILE = "stack.json"
PORTS_FILE = "ports.json"


class StackRunning(RuntimeError):
    """Another `lookout up` is alive over the same data dir."""


class NoStack(RuntimeError):
    """No running stack to attach to, and no settings naming external services."""


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds keys), atomically."""
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


class Ports:
    """Each component's port: last run's if still free, else the preferred one, else any."""

    def __init__(self, data_dir: Path, host: str = "127.0.0.1") -> None:
        self.path = data_dir / PORTS_FILE
        self.host = host
        self.previous = read_json(self.path)
        self.chosen: dict[str, int] = {}

    def pick(self, name: str, preferred: int | None = None, *, fresh: bool = False) -> int:
        """`fresh`: any free port (the usual one was lost to another program meanwhile)."""
        taken = set(self.chosen.values())
        candidates = () if fresh else (self.previous.get(name), preferred)
        for candidate in candidates:
            if candidate and candidate not in taken and not port_open(self.host, candidate, 0.2):
                self.chosen[name] = candidate
                break
        else:
            port = free_port(self.host)
            while port in taken:
                port = free_port(self.host)
            self.chosen[name] = port
        self.save()
        return self.chosen[name]

    def save(self) -> None:
        write_private(self.path, json.dumps({**self.previous, **self.chosen}, indent=2))


def process_record(pid: int) -> dict:
    """A process's id and start time: together they name it even after its id is reused."""
    import psutil

    return {"pid": pid, "started": psutil.Process(pid).create_time()}


def _same_process(record: dict):
    import psutil

    try:
        process = psutil.Process(record["pid"])
        if abs(process.create_time() - record["started"]) > 1:
            return None
        # A killed child whose new parent (PID 1 of a container, say) never reaps it.
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process
    except (psutil.Error, KeyError, TypeError):
        return None


def running_stack(data_dir: Path) -> dict | None:
    """The stack file of a `lookout up` still alive over `data_dir`, else None."""
    info = read_json(data_dir / STACK_FILE)
    owner = info.get("owner")
    if owner and _same_process(owner) is not None:
        return info
    return None


def clear_stale(data_dir: Path) -> list[str]:
    """Before a start: refuse if a stack is alive here; otherwise kill what a killed run
    left behind (its recorded children) and drop its stack file. Returns what was killed."""
    if (info := running_stack(data_dir)) is not None:
        raise StackRunning(
            f"a stack is already running on {data_dir} (lookout up, pid {info['owner']['pid']})"
        )
    import psutil

    info = read_json(data_dir / STACK_FILE)
    killed, left = [], []
    for name, record in (info.get("processes") or {}).items():
        process = _same_process(record)
        # Postgres clears its own lock (EmbeddedPostgres: postmaster.pid), gracefully.
        if process is None or name == "postgres":
            continue
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        killed.append(f"{name} (pid {process.pid})")
        left.append(process)
    psutil.wait_procs(left, timeout=10)
    (data_dir / STACK_FILE).unlink(missing_ok=True)
    return killed


def external_settings_given() -> bool:
    """True when the environment or `.env` names Lookout's database or broker."""
    from lookout_common.infra.settings import LookoutSettings

    return bool({"database_url", "kafka_bootstrap"} & LookoutSettings().model_fields_set)


def attach(data_dir: Path | None) -> dict | None:
    """Point this process's settings at the stack running over `data_dir` (default
    `.lookout`) and return its stack file; None when no data dir was named and the
    settings name external services. NoStack when there is nothing to talk to."""
    if data_dir is None:
        if external_settings_given():
            return None
        data_dir = Path(".lookout")
    data_dir = data_dir.resolve()
    info = running_stack(data_dir)
    if info is None:
        raise NoStack(
            f"no running stack in {data_dir} (start one with `lookout up --data-dir "
            f"{data_dir}`), and neither LOOKOUT_DATABASE_URL nor LOOKOUT_KAFKA_BOOTSTRAP is set"
        )
    os.environ.update(info.get("env") or {})
    for name, file_name in (info.get("key_files") or {}).items():
        os.environ[name] = (data_dir / file_name).read_text().strip()
    return info
