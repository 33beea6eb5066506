"""`lookout up` checks each service's port free, then the service binds it a moment later:
another program can take the port in between. The stack must then start every service
again on fresh ports (each knows the others' URLs) rather than fail."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from lookout_devstack.embedded.process import stop_process
from lookout_devstack.embedded.stackfile import Ports
from lookout_devstack.stack import Stack

SUPPORT = Path(__file__).resolve().parents[2] / "support"


def stand_in_stack(tmp_path: Path) -> Stack:
    """A Stack whose six services are `readyz_server` stand-ins (no broker, no database)."""
    stack = Stack(tmp_path)
    stack.logs.mkdir(parents=True)
    stack.ports = Ports(tmp_path)
    for service in stack.services:
        service.module = "readyz_server"
    stack.env = {"LOOKOUT_HTTP_HOST": "127.0.0.1", "PYTHONPATH": str(SUPPORT)}
    return stack


def test_a_port_taken_between_check_and_bind_restarts_the_services_on_fresh_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = stand_in_stack(tmp_path)
    thief = socket.create_server(("127.0.0.1", 0))  # takes the port after the check
    stolen = thief.getsockname()[1]
    pick = Ports.pick

    def racing_pick(ports: Ports, name: str, preferred: int | None = None, *, fresh=False):
        if name == "backup-worker" and not fresh:
            ports.chosen[name] = stolen
            return stolen
        return pick(ports, name, preferred, fresh=fresh)

    monkeypatch.setattr(Ports, "pick", racing_pick)
    try:
        stack.start_services()
        by_name = {service.name: service for service in stack.services}
        assert by_name["backup-worker"].port != stolen
        assert stack.env["LOOKOUT_BACKUP_WORKER_URL"] == by_name["backup-worker"].url
        for service in stack.services:
            assert service.process.poll() is None, service.name
            assert httpx.get(f"{service.url}/readyz", timeout=5).status_code == 200
        log = (stack.logs / "backup-worker.log").read_text()
        assert f"('127.0.0.1', {stolen})" in log  # the first start did lose the port
    finally:
        thief.close()
        for service in stack.services:
            if service.process is not None:
                stop_process(service.process, timeout=5)


def test_a_service_that_fails_for_another_reason_is_not_retried(tmp_path: Path) -> None:
    stack = stand_in_stack(tmp_path)
    broken = stack.services[0]
    broken.module = "no_such_module_here"
    try:
        with pytest.raises(RuntimeError, match=f"{broken.name} exited"):
            stack.start_services()
        assert (stack.logs / f"{broken.name}.log").read_text().count("No module named") == 1
    finally:
        for service in stack.services:
            if service.process is not None:
                stop_process(service.process, timeout=5)
