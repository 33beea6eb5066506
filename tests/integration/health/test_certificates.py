"""Certificate expiry on `tls` and `http` checks, against real local TLS servers with
self-signed certificates made here: one valid for a year, one expiring in 5 days, one
expired."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from support.certificates import Certificate, valid_for

from lookout_health.config import parse_config
from lookout_health.monitor import probe

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def https_server(certificate: Certificate) -> AsyncIterator[int]:
    """A real HTTPS server on loopback answering `{"status": "ok"}`; yields its port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, OSError):
            await reader.readuntil(b"\r\n\r\n")
            body = b'{"status": "ok"}'
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=certificate.server_context())
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def certificates(tmp_path: Path) -> dict[str, Certificate]:
    return {
        "valid": valid_for(tmp_path, "valid", 365),
        "soon": valid_for(tmp_path, "soon", 5),
        "expired": valid_for(tmp_path, "expired", -2),
    }


async def test_tls_check_passes_degrades_and_fails_by_expiry(certificates) -> None:
    found = {}
    for name, certificate in certificates.items():
        async with https_server(certificate) as port:
            config = parse_config(
                f"checks:\n  - {{name: {name}, kind: tls, host: 127.0.0.1, port: {port},"
                f" server_name: localhost, ca_file: '{certificate.cert_file}',"
                f" cert_expires_within_days: 14, timeout_s: 5}}\n"
            )
            found[name] = await probe(config.checks[0])
    valid, soon, expired = found["valid"], found["soon"], found["expired"]
    assert valid.succeeded
    assert not valid.degraded
    assert "Certificate valid until" in valid.message
    assert soon.succeeded
    assert soon.degraded
    assert "expires in 5.0 days" in soon.message
    assert not expired.succeeded
    day = certificates["expired"].not_after.date().isoformat()
    assert expired.message == f"certificate of localhost:{port} expired on {day}"


async def test_tls_check_refuses_an_untrusted_certificate(certificates) -> None:
    async with https_server(certificates["valid"]) as port:
        config = parse_config(
            f"checks:\n  - {{name: t, kind: tls, host: 127.0.0.1, port: {port},"
            f" server_name: localhost, timeout_s: 5}}\n"
        )
        run = await probe(config.checks[0])
    assert not run.succeeded
    assert run.message.startswith(f"certificate of localhost:{port} not trusted")


async def test_http_check_watches_its_certificate(certificates) -> None:
    found = {}
    for name, certificate in certificates.items():
        async with https_server(certificate) as port:
            config = parse_config(
                f"checks:\n  - name: {name}\n    kind: http\n"
                f"    url: https://localhost:{port}/health\n"
                f"    ca_file: '{certificate.cert_file}'\n"
                f"    cert_expires_within_days: 14\n"
                f"    json: [{{path: $.status, op: '==', value: ok}}]\n"
                f"    timeout_s: 5\n"
            )
            found[name] = await probe(config.checks[0])
    assert found["valid"].succeeded
    assert not found["valid"].degraded
    assert found["soon"].succeeded
    assert found["soon"].degraded
    assert "Certificate expires in 5.0 days" in found["soon"].message
    assert not found["expired"].succeeded
    assert found["expired"].message.endswith("/health has expired")
