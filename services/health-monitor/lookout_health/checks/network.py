"""`http` (status, time, JSON-path conditions on the body, certificate expiry), `tcp`
(connect, optional exchange), `dns` (resolution, optional expected addresses)."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from datetime import UTC, datetime
from typing import Any

from lookout_health.checks import http_client
from lookout_health.checks.base import ProbeFailed, ProbeOutcome
from lookout_health.checks.tls import expired_in_handshake, expiry_outcome, not_after
from lookout_health.config import DnsCheck, HttpCheck, JsonCondition, TcpCheck
from lookout_health.jsonpath import MISSING, broken, lookup


def failed_conditions(document: Any, conditions: list[JsonCondition]) -> list[str]:
    """Each condition the JSON body breaks, said plainly."""
    problems = []
    for condition in conditions:
        value = lookup(document, condition.path)
        if value is MISSING:
            if condition.present:
                problems.append(f"{condition.path} is missing")
        elif condition.op is not None and (reason := broken(value, condition.op, condition.value)):
            problems.append(f"{condition.path} is {_shown(value)}, {reason}")
    return problems


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


async def run_http(check: HttpCheck) -> str | ProbeOutcome:
    try:
        answer = await http_client.request(
            check.method,
            check.url,
            headers=check.headers,
            body=check.body.encode() if check.body is not None else None,
            ca_file=check.ca_file,
        )
    except ssl.SSLCertVerificationError as error:
        if expired_in_handshake(error):
            raise ProbeFailed(f"certificate of {check.url} has expired") from None
        raise
    except asyncio.IncompleteReadError:
        raise ProbeFailed(f"{check.url} closed the connection before answering whole") from None
    if answer.status not in check.expect_status:
        expected = " or ".join(str(code) for code in check.expect_status)
        raise ProbeFailed(f"HTTP {answer.status} from {check.url}, expected {expected}")
    if check.json_conditions:
        try:
            document = json.loads(answer.body)
        except ValueError:
            raise ProbeFailed(f"{check.url} did not answer JSON") from None
        if problems := failed_conditions(document, check.json_conditions):
            raise ProbeFailed("; ".join(problems))
    message = f"HTTP {answer.status} from {check.url}."
    if check.cert_expires_within_days is None or answer.certificate is None:
        return message
    return expiry_outcome(
        check.url,
        not_after(answer.certificate),
        check.cert_expires_within_days,
        datetime.now(UTC),
        message,
    )


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
    addresses = sorted({str(answer[4][0]) for answer in answers})
    if missing := [a for a in check.expect_addresses if a not in addresses]:
        raise ProbeFailed(
            f"{check.host} resolved to {', '.join(addresses)}; missing {', '.join(missing)}"
        )
    return f"{check.host} resolved to {', '.join(addresses)}."
