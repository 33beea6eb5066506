"""`http` (status, time and JSON body conditions), `tcp` (connect, optional exchange),
`dns` (resolution, optional expected addresses)."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import httpx

from lookout_health.checks.base import ProbeFailed
from lookout_health.config import DnsCheck, HttpCheck, JsonCondition, TcpCheck

_MISSING = object()


def _lookup(document: Any, path: str) -> Any:
    value = document
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def failed_conditions(document: Any, conditions: list[JsonCondition]) -> list[str]:
    """Each condition the JSON body breaks, said plainly."""
    problems = []
    for condition in conditions:
        value = _lookup(document, condition.path)
        if value is _MISSING:
            if condition.present:
                problems.append(f"{condition.path} is missing")
        elif condition.equals is not None and value != condition.equals:
            problems.append(f"{condition.path} is {value!r}, expected {condition.equals!r}")
    return problems


_clients: dict[asyncio.AbstractEventLoop, httpx.AsyncClient] = {}


def _client() -> httpx.AsyncClient:
    """One pooled client per event loop: a client per run would rebuild TLS contexts and
    connections every time (measured: the main CPU cost of a thousand checks)."""
    loop = asyncio.get_running_loop()
    if loop not in _clients:
        _clients[loop] = httpx.AsyncClient(
            follow_redirects=False,
            limits=httpx.Limits(max_connections=1000, max_keepalive_connections=200),
        )
    return _clients[loop]


async def run_http(check: HttpCheck) -> str:
    response = await _client().request(
        check.method,
        check.url,
        headers=check.headers,
        content=check.body,
        timeout=check.timeout_s,
    )
    if response.status_code not in check.expect_status:
        expected = " or ".join(str(code) for code in check.expect_status)
        raise ProbeFailed(f"HTTP {response.status_code} from {check.url}, expected {expected}")
    if check.json_conditions:
        try:
            document = response.json()
        except ValueError:
            raise ProbeFailed(f"{check.url} did not answer JSON") from None
        if problems := failed_conditions(document, check.json_conditions):
            raise ProbeFailed("; ".join(problems))
    return f"HTTP {response.status_code} from {check.url}."


async def run_tcp(check: TcpCheck) -> str:
    reader, writer = await asyncio.open_connection(check.host, check.port)
    try:
        if check.send is not None:
            writer.write(check.send.encode())
            await writer.drain()
        if check.expect is not None:
            expected = check.expect.encode()
            received = await reader.readexactly(len(expected))
            if received != expected:
                raise ProbeFailed(f"{check.host}:{check.port} answered {received!r}")
    finally:
        writer.close()
    return f"Connected to {check.host}:{check.port}."


async def run_dns(check: DnsCheck) -> str:
    loop = asyncio.get_running_loop()
    answers = await loop.getaddrinfo(check.host, None, type=socket.SOCK_STREAM)
    addresses = sorted({answer[4][0] for answer in answers})
    if missing := [a for a in check.expect_addresses if a not in addresses]:
        raise ProbeFailed(
            f"{check.host} resolved to {', '.join(addresses)}; missing {', '.join(missing)}"
        )
    return f"{check.host} resolved to {', '.join(addresses)}."
