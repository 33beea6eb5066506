"""`http` checks through the proxy the environment names (`HTTP_PROXY`, `HTTPS_PROXY`,
`NO_PROXY`), against a small forwarding proxy and real origins on loopback: plain HTTP as
an absolute-form request, HTTPS through a `CONNECT` tunnel with TLS end to end."""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support.certificates import Certificate, valid_for
from support.loopback import listening

from lookout_health.config import HttpCheck
from lookout_health.monitor import probe

OK = b'HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{"status": "ok"}'


@dataclass
class Proxy:
    port: int = 0
    heads: list[bytes] = field(default_factory=list)  # each request's head, as received
    tunnelled: bytearray = field(default_factory=bytearray)  # what went through tunnels
    refuse_tunnels: bool = False


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: bytearray):
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            seen += data
            writer.write(data)
            await writer.drain()
    writer.close()


async def _forward(head: bytes, reader: asyncio.StreamReader) -> bytes:
    """Send an absolute-form request on to its origin in origin form; its answer."""
    method, target, rest = head.split(b" ", 2)
    authority, _, path = target.removeprefix(b"http://").partition(b"/")
    host, _, port = authority.partition(b":")
    to_origin, from_origin = await asyncio.open_connection(host.decode(), int(port))
    from_origin.write(b" ".join([method, b"/" + path, rest]))
    await from_origin.drain()
    answer = await to_origin.readuntil(b"\r\n\r\n")
    length = int(answer.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    answer += await to_origin.readexactly(length)
    from_origin.close()
    return answer


@contextlib.asynccontextmanager
async def proxying() -> AsyncIterator[Proxy]:
    proxy = Proxy()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                proxy.heads.append(head)
                if not head.startswith(b"CONNECT "):
                    writer.write(await _forward(head, reader))
                    await writer.drain()
                    continue
                if proxy.refuse_tunnels:
                    writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
                    break
                host, _, port = head.split(b" ")[1].decode().rpartition(":")
                origin_reader, origin_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(
                    _pipe(reader, origin_writer, proxy.tunnelled),
                    _pipe(origin_reader, writer, proxy.tunnelled),
                )
                return
        writer.close()

    async with listening(handle) as proxy.port:
        yield proxy


@contextlib.asynccontextmanager
async def origin(certificate: Certificate | None = None) -> AsyncIterator[tuple[int, list[bytes]]]:
    """An origin answering 200 `{"status": "ok"}` (over TLS with `certificate`); yields
    its port and the request heads it received."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while head := await reader.readuntil(b"\r\n\r\n"):
                heads.append(head)
                writer.write(OK)
                await writer.drain()
        writer.close()

    context = None if certificate is None else certificate.server_context()
    async with listening(handle, context) as port:
        yield port, heads


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    return valid_for(tmp_path, "origin", 30)


def http(url: str, **fields) -> HttpCheck:
    return HttpCheck(name="probe", kind="http", url=url, timeout_s=5, **fields)


async def test_an_http_check_goes_to_http_proxy_as_an_absolute_form_request(monkeypatch) -> None:
    async with proxying() as proxy, origin() as (port, heads):
        monkeypatch.setenv("HTTP_PROXY", f"http://probe:s%40cret@127.0.0.1:{proxy.port}")
        run = await probe(http(f"http://127.0.0.1:{port}/health?deep=1"))
    assert run.succeeded, run.message
    request_line, *lines = proxy.heads[0].decode().split("\r\n")
    assert request_line == f"GET http://127.0.0.1:{port}/health?deep=1 HTTP/1.1"
    credentials = base64.b64encode(b"probe:s@cret").decode()
    assert f"Proxy-Authorization: Basic {credentials}" in lines
    assert heads[0].startswith(b"GET /health?deep=1 HTTP/1.1\r\n")


async def test_an_https_check_goes_through_a_connect_tunnel_tls_end_to_end(
    monkeypatch, certificate: Certificate
) -> None:
    async with proxying() as proxy, origin(certificate) as (port, heads):
        monkeypatch.setenv("HTTPS_PROXY", f"127.0.0.1:{proxy.port}")  # no scheme: http
        run = await probe(http(f"https://localhost:{port}/health", ca_file=certificate.cert_file))
    assert run.succeeded, run.message
    assert proxy.heads == [
        f"CONNECT localhost:{port} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n".encode()
    ]
    assert heads[0].startswith(b"GET /health HTTP/1.1\r\n")
    assert proxy.tunnelled
    assert b"/health" not in proxy.tunnelled  # the proxy saw only ciphertext


async def test_no_proxy_hosts_are_reached_directly(monkeypatch) -> None:
    async with proxying() as proxy, origin() as (port, heads):
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
        monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")
        run = await probe(http(f"http://127.0.0.1:{port}/health"))
    assert run.succeeded, run.message
    assert proxy.heads == []
    assert len(heads) == 1


async def test_a_refused_tunnel_fails_the_run_with_the_proxys_answer(
    monkeypatch, certificate: Certificate
) -> None:
    async with proxying() as proxy, origin(certificate) as (port, heads):
        proxy.refuse_tunnels = True
        monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        run = await probe(http(f"https://localhost:{port}/health", ca_file=certificate.cert_file))
    assert not run.succeeded
    assert run.message == f"ProxyRefused: proxy 127.0.0.1:{proxy.port} answered 407 to CONNECT"
    assert heads == []


async def test_a_proxy_url_that_is_not_http_fails_the_run_with_the_reason(monkeypatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    run = await probe(http("http://127.0.0.1:9/health"))
    assert not run.succeeded
    assert run.message == "ValueError: HTTP_PROXY is not an http:// proxy URL: socks5"
