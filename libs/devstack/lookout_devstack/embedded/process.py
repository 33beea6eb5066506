"""Child processes the embedded stack owns: started in their own session so a
terminal's Ctrl-C reaches only `lookout up`, which then stops them in order.

A child can also be tied to its parent's life (Linux PR_SET_PDEATHSIG): when
`lookout up` is killed -9 it cannot stop anything, so the kernel does.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import threading
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


PR_SET_PDEATHSIG = 1


def _parent_death_hook(sig: int):
    """A preexec_fn asking the kernel to send `sig` to the child when this process dies.

    The signal follows the *thread* that forked, so only the main thread may use it.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    prctl = libc.prctl
    parent = os.getpid()

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the request was made
            os.kill(os.getpid(), sig)

    return hook


def spawn(
    argv: list[str],
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
    die_with_parent: bool = False,
    death_signal: int = signal.SIGKILL,
) -> subprocess.Popen[bytes]:
    """Start `argv` in a new session with stdout and stderr appended to `log_path`.

    `die_with_parent`: the child gets `death_signal` when this process dies (Linux; the
    caller must be the main thread, see `_parent_death_hook`).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    preexec = None
    if die_with_parent and sys.platform == "linux":
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("die_with_parent children must be spawned by the main thread")
        preexec = _parent_death_hook(death_signal)
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
            preexec_fn=preexec,
        )


def stop_process(
    process: subprocess.Popen[bytes], *, sig: int = signal.SIGTERM, timeout: float = 20.0
) -> int | None:
    """Signal the process's group, wait up to `timeout`, then SIGKILL what is left.

    A stopped (SIGSTOP) group is continued after the signal, so that it can act on it."""
    if process.poll() is not None:
        return process.returncode
    try:
        os.killpg(process.pid, sig)
        os.killpg(process.pid, signal.SIGCONT)
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
