"""Child processes the embedded stack owns: started in their own session so a
terminal's Ctrl-C reaches only `lookout up`, which then stops them in order."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def spawn(
    argv: list[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` in a new session with stdout and stderr appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log_file:
        return subprocess.Popen(
            argv,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            user=user,
            cwd=cwd,
            start_new_session=True,
        )


def stop_process(
    process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 20.0
) -> int | None:
    """Signal the process's group, wait up to `timeout`, then SIGKILL what is left."""
    if process.poll() is not None:
        return process.returncode
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return process.poll()
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        return process.wait(5)


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    """Poll `predicate` until it is true; TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
