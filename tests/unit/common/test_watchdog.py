"""`lookout up`'s watchdog rule (embedded/watchdog.py): when a service child is due for a
restart, and what its probe of a real HTTP server reports."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lookout_devstack.embedded.watchdog import ChildHealth, Watchdog, probe

THRESHOLD = 3
GRACE_S = 120.0


def _record(health: ChildHealth, outcomes: list[bool], now: float = 1.0) -> list[bool]:
    return [health.record(ok, "503", now, THRESHOLD, GRACE_S) for ok in outcomes]


def test_a_ready_child_is_due_after_the_threshold_of_failures_in_a_row() -> None:
    health = ChildHealth(spawned_at=0.0)
    assert _record(health, [True, False, False, False]) == [False, False, False, True]


def test_a_healthy_answer_ends_the_streak() -> None:
    health = ChildHealth(spawned_at=0.0)
    assert _record(health, [True, False, False, True, False, False]) == [False] * 6


def test_a_child_still_starting_is_left_alone_until_the_grace_ends() -> None:
    health = ChildHealth(spawned_at=0.0)
    assert _record(health, [False] * 10, now=GRACE_S - 1) == [False] * 10
    assert _record(health, [False] * THRESHOLD, now=GRACE_S) == [False, False, True]


class _Failing(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"status": "failing", "failing_loops": ["config-reload"]}).encode()
        self.send_response(503 if self.path == "/healthz" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_service() -> Iterator[str]:
    """A real HTTP server whose /healthz answers 503 with a failing loop, as a Lookout
    service's does."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_probe_reports_a_503_and_its_failing_loops(failing_service: str) -> None:
    assert probe(failing_service, 2) == (
        False,
        "/healthz answered 503 (failing loops: config-reload)",
    )


def test_watchdog_names_a_ready_service_that_keeps_answering_503(failing_service: str) -> None:
    watchdog = Watchdog(interval_s=0.05, failures=THRESHOLD, start_grace_s=GRACE_S)
    watchdog.spawned("health-monitor")
    watchdog.children["health-monitor"].answered = True  # it was ready once
    deadline = time.monotonic() + 10
    due: list[tuple[str, str]] = []
    try:
        while not due:
            assert time.monotonic() < deadline
            due = watchdog.due({"health-monitor": failing_service})
            time.sleep(0.01)
    finally:
        watchdog.close()
    assert due == [
        (
            "health-monitor",
            "/healthz answered 503 (failing loops: config-reload), 3 probes in a row",
        )
    ]
