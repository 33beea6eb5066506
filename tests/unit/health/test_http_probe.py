"""`http` checks over the monitor's own HTTP/1.1 client, against a real server on loopback
whose answers each test writes byte by byte: framing, encodings, keep-alive, redirects,
credentials and bounds."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from support.loopback import listening

from lookout_health.checks import http_client, http_messages
from lookout_health.config import HttpCheck
from lookout_health.monitor import probe

Reply = Callable[[bytes], bytes | None]  # request head -> raw answer (None: hang up)


def answer(status: str = "200 OK", body: bytes = b'{"status": "ok"}', headers: str = "") -> bytes:
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


@dataclass
class Server:
    port: int
    reply: Reply
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0
    close_after_each: bool = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def serving(reply: Reply) -> AsyncIterator[Server]:
    server = Server(0, reply)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server.connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                server.requests.append(head + await reader.readexactly(length))
                raw = server.reply(head)
                if raw is None:
                    break
                writer.write(raw)
                await writer.drain()
                if server.close_after_each:
                    break
        writer.close()

    async with listening(handle) as server.port:
        yield server


def http(url: str, **fields) -> HttpCheck:
    return HttpCheck(
        name="probe", kind="http", url=url, timeout_s=fields.pop("timeout_s", 5), **fields
    )


async def test_kept_connections_are_reused_for_the_same_origin() -> None:
    async with serving(lambda _: answer()) as server:
        runs = [await probe(http(f"{server.url}/health")) for _ in range(5)]
    assert all(run.succeeded for run in runs)
    assert runs[0].message == f"HTTP 200 from {server.url}/health."
    assert server.connections == 1
    assert len(server.requests) == 5


async def test_a_kept_connection_the_server_closed_is_replaced_without_a_failure() -> None:
    async with serving(lambda _: answer()) as server:
        server.close_after_each = True  # no "Connection: close": the client cannot know
        first = await probe(http(f"{server.url}/a"))
        await asyncio.sleep(0.05)
        second = await probe(http(f"{server.url}/b"))
    assert first.succeeded
    assert second.succeeded
    assert server.connections == 2


def hang_up_on_the_second(head: bytes, seen: list[bytes]) -> bytes | None:
    """Answer every request but the second, read whole and then left unanswered as the
    server closes the kept connection it came on (an idle timeout racing the request)."""
    seen.append(head)
    if len(seen) == 2:
        return None
    return answer(body=b"") if head.startswith(b"HEAD ") else answer()


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"])
async def test_an_idempotent_request_the_kept_connection_left_unanswered_is_resent(
    method: str,
) -> None:
    seen: list[bytes] = []
    async with serving(lambda head: hang_up_on_the_second(head, seen)) as server:
        answers = [await http_client.request(method, f"{server.url}/health") for _ in range(2)]
    assert [a.status for a in answers] == [200, 200]
    assert [r.split(b" ", 1)[0].decode() for r in server.requests] == [method] * 3
    assert server.connections == 2  # the resend went on a new connection


async def test_a_post_check_left_unanswered_fails_and_is_never_sent_twice() -> None:
    seen: list[bytes] = []
    async with serving(lambda head: hang_up_on_the_second(head, seen)) as server:
        check = http(f"{server.url}/orders", method="POST", body='{"probe": true}')
        runs = [await probe(check) for _ in range(3)]
    assert [run.succeeded for run in runs] == [True, False, True]
    assert runs[1].message == (
        f"ClosedUnanswered: 127.0.0.1:{server.port} closed a kept connection without"
        " answering; a POST is not resent (it may have been received)"
    )
    assert len(server.requests) == 3  # one per run: the unanswered one was not sent again
    assert all(r.endswith(b'{"probe": true}') for r in server.requests)
    assert server.connections == 2  # the run after it opened a new connection


async def test_a_patch_left_unanswered_is_not_sent_twice() -> None:
    seen: list[bytes] = []
    async with serving(lambda head: hang_up_on_the_second(head, seen)) as server:
        url = f"{server.url}/orders/1"
        await http_client.request("PATCH", url, body=b"{}")
        with pytest.raises(http_client.ClosedUnanswered, match="a PATCH is not resent"):
            await http_client.request("PATCH", url, body=b"{}")
    assert len(server.requests) == 2
    assert server.connections == 1


async def test_chunked_and_gzip_bodies_are_decoded_for_json_conditions() -> None:
    document = json.dumps({"status": "ok", "checks": [{"latency_ms": 12}]}).encode()
    packed = gzip.compress(document)
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
        + f"{10:x}\r\n".encode()
        + packed[:10]
        + b"\r\n"
        + f"{len(packed) - 10:x};ext=1\r\n".encode()
        + packed[10:]
        + b"\r\n0\r\nTrailer: x\r\n\r\n"
    )
    conditions = [
        {"path": "$.status", "op": "==", "value": "ok"},
        {"path": "$.checks[0].latency_ms", "op": "<", "value": 10},
    ]
    async with serving(lambda _: chunked) as server:
        run = await probe(http(server.url, json=conditions))
        again = await probe(http(server.url, json=conditions[:1]))
    assert not run.succeeded
    assert run.message == "$.checks[0].latency_ms is 12, expected < 10"
    assert again.succeeded
    assert server.connections == 1  # the chunked answer was read whole and kept


async def test_a_body_framed_by_the_connection_end_is_read_whole() -> None:
    raw = b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"status": "ok"}'
    async with serving(lambda _: raw) as server:
        server.close_after_each = True
        runs = [await probe(http(server.url, json=[{"path": "status", "equals": "ok"}]))]
        runs.append(await probe(http(server.url, json=[{"path": "status", "equals": "ok"}])))
    assert all(run.succeeded for run in runs)
    assert server.connections == 2  # HTTP/1.0 without a length: never kept


async def test_a_redirect_is_an_answer_not_followed() -> None:
    moved = answer("301 Moved Permanently", b"", "Location: /elsewhere\r\n")
    async with serving(lambda _: moved) as server:
        failed = await probe(http(f"{server.url}/old"))
        allowed = await probe(http(f"{server.url}/old", expect_status=[301]))
    assert not failed.succeeded
    assert failed.message == f"HTTP 301 from {server.url}/old, expected 200"
    assert allowed.succeeded
    assert len(server.requests) == 2


async def test_method_headers_body_and_url_credentials_are_sent_and_never_shown() -> None:
    async with serving(lambda _: answer("500 Internal Server Error")) as server:
        url = f"http://probe:s3cret-pass@127.0.0.1:{server.port}/health?token=abcd1234#frag"
        run = await probe(
            http(url, method="POST", headers={"X-Probe": "lookout"}, body='{"ping": 1}')
        )
    sent = server.requests[0]
    head, _, body = sent.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    assert lines[0] == b"POST /health?token=abcd1234 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}".encode() in lines
    assert b"X-Probe: lookout" in lines
    assert b"Authorization: Basic cHJvYmU6czNjcmV0LXBhc3M=" in lines  # probe:s3cret-pass
    assert b"Content-Length: 11" in lines
    assert body == b'{"ping": 1}'
    assert not run.succeeded
    assert "HTTP 500 from http://***@127.0.0.1" in run.message
    assert "s3cret-pass" not in run.message
    assert "abcd1234" not in run.message


async def test_a_head_request_reads_no_body_and_keeps_the_connection() -> None:
    async with serving(lambda _: b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n") as server:
        runs = [await probe(http(server.url, method="HEAD")) for _ in range(2)]
    assert all(run.succeeded for run in runs)
    assert server.connections == 1


async def test_an_oversized_or_malformed_answer_fails_the_run_with_the_reason() -> None:
    huge = f"HTTP/1.1 200 OK\r\nContent-Length: {http_messages.MAX_BODY_BYTES + 1}\r\n\r\n"
    async with serving(lambda _: huge.encode()) as server:
        oversized = await probe(http(server.url))
    async with serving(lambda _: b"SMTP ready\r\n\r\n") as server:
        garbled = await probe(http(server.url))
    async with serving(lambda _: None) as server:
        hung_up = await probe(http(server.url))
    assert not oversized.succeeded
    assert oversized.message.endswith(
        f"Content-Length {http_messages.MAX_BODY_BYTES + 1} out of bounds"
    )
    assert not garbled.succeeded
    assert "not an HTTP/1 status line" in garbled.message
    assert not hung_up.succeeded
    assert hung_up.message == f"{server.url} closed the connection before answering whole"


async def test_a_timed_out_request_never_leaves_its_connection_for_the_next_run() -> None:
    replies = iter([b"", answer()])  # the first answer never comes

    def reply(_: bytes) -> bytes:
        return next(replies)

    async with serving(reply) as server:
        slow = await probe(http(server.url, timeout_s=0.2))
        fine = await probe(http(server.url))
    assert (slow.succeeded, slow.message) == (False, "timed out after 0.2 s")
    assert fine.succeeded
    assert server.connections == 2


async def test_a_refused_connection_is_a_failed_run() -> None:
    async with serving(lambda _: answer()) as server:
        port = server.port
    await asyncio.sleep(0.01)
    run = await probe(http(f"http://127.0.0.1:{port}/health"))
    assert not run.succeeded
    assert run.message.startswith("ConnectionRefusedError")


@pytest.mark.parametrize("header", [{"X-Bad": "a\r\nInjected: 1"}, {"Bad:Name": "x"}])
async def test_a_header_that_would_break_the_request_is_refused(header) -> None:
    async with serving(lambda _: answer()) as server:
        run = await probe(http(server.url, headers=header))
    assert not run.succeeded
    assert "cannot be sent" in run.message
    assert server.requests == []


async def test_requests_to_one_origin_take_turns_beyond_the_cap(monkeypatch) -> None:
    monkeypatch.setattr(http_client, "MAX_PER_ORIGIN", 4)
    open_now = most = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                await asyncio.sleep(0.02)  # slow enough that the runs overlap
                writer.write(answer())
                await writer.drain()
        open_now -= 1
        writer.close()

    async with listening(handle) as port:
        runs = await asyncio.gather(
            *(probe(http(f"http://127.0.0.1:{port}/health")) for _ in range(20))
        )
    assert all(run.succeeded for run in runs)
    assert most == 4  # 20 runs at once, never more than 4 connections
