"""`lookout up` from start to stop: start the stack in order (`stack.py`), prepare it
(`provision.py`), print where everything is, keep it whole (`supervision.py`) until
Ctrl-C or SIGTERM, then stop it in order."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from lookout_devstack.embedded.watchdog import Watchdog
from lookout_devstack.stack import STACK_FILE, Stack
from lookout_devstack.supervision import supervise


def run_stack(
    data_dir: Path,
    *,
    demo: bool = False,
    host: str = "127.0.0.1",
    broker_storage: str = "s3",
    drain_timeout_s: float = 60.0,
    watchdog: Watchdog | None = None,
) -> int:
    """Run until Ctrl-C or SIGTERM; returns the exit code."""
    stack = Stack(
        data_dir,
        host=host,
        broker_storage=broker_storage,
        drain_timeout_s=drain_timeout_s,
        watchdog=watchdog,
    )

    def request_stop(signum: int, frame: object) -> None:
        stack.stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print("Starting Lookout…")
    demo_thread: threading.Thread | None = None
    try:
        stack.start_infrastructure()
        stack.prepare()
        stack.start_services()
        info = stack.write_stack_file()
        print(
            "\nLookout is up.\n"
            f"  dashboard   {info['dashboard_url']}\n"
            f"  ingest      {info['ingest_url']}\n"
            f"  admin key   {info['admin_key']}\n"
            f"  write key   {info['write_key']}\n"
            f"  stack file  {stack.data_dir / STACK_FILE}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        if demo:
            from lookout_devstack.demo import run_demo_in_thread

            demo_thread = run_demo_in_thread(info["ingest_url"], info["write_key"], stack.stopping)
            print("  demo        simulated marketplace traffic is flowing", flush=True)
        supervise(stack)
        return 0
    except (RuntimeError, TimeoutError, OSError) as error:
        print(f"lookout up failed: {error}", file=sys.stderr)
        return 1
    finally:
        stack.stopping.set()
        if demo_thread is not None:
            demo_thread.join(10)
        print("Stopping Lookout…", flush=True)
        stack.stop()
        print("Stopped.", flush=True)
