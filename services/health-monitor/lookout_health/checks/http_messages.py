"""Reading an HTTP/1.x answer off a connection for `http_client`: its status line and
headers, then its body framed by `Content-Length`, chunked encoding or the connection's
end, and decoded from `gzip` or `deflate`. Everything is bounded: headers to 64 KB and
bodies to 16 MB (decoded); more, or anything that is not HTTP/1.x, is an
`HttpProtocolError`, never unbounded memory."""

from __future__ import annotations

import asyncio
import zlib

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
_NO_BODY_STATUS = {204, 304}


class HttpProtocolError(Exception):
    """The server's answer is not HTTP/1.x as this client reads it; the message says how."""


async def read_head(reader: asyncio.StreamReader) -> tuple[int, str, dict[str, str]]:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.LimitOverrunError:
        raise HttpProtocolError(f"response headers larger than {MAX_HEADER_BYTES} bytes") from None
    lines = raw.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise HttpProtocolError(f"not an HTTP/1 status line: {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise HttpProtocolError(f"malformed header line: {line[:80]!r}")
        name, value = name.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return int(code), version, headers


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    pieces: list[bytes] = []
    size_so_far = 0
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise HttpProtocolError(f"malformed chunk size: {line[:40]!r}") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, ignored
                pass
            return b"".join(pieces)
        size_so_far += size
        if size_so_far > MAX_BODY_BYTES:
            raise HttpProtocolError(f"response body larger than {MAX_BODY_BYTES} bytes")
        pieces.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise HttpProtocolError("chunk not followed by CRLF")


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    pieces: list[bytes] = []
    size = 0
    while piece := await reader.read(65536):
        size += len(piece)
        if size > MAX_BODY_BYTES:
            raise HttpProtocolError(f"response body larger than {MAX_BODY_BYTES} bytes")
        pieces.append(piece)
    return b"".join(pieces)


def _decoded(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise HttpProtocolError(f"unsupported Content-Encoding {encoding!r}")
    # gzip framing, or deflate as zlib data (RFC 9110) or, as some servers send it, raw.
    for wbits in (16 + zlib.MAX_WBITS,) if "gzip" in encoding else (zlib.MAX_WBITS, -15):
        decoder = zlib.decompressobj(wbits)
        try:
            decoded = decoder.decompress(body, MAX_BODY_BYTES + 1)
        except zlib.error:
            continue
        if len(decoded) > MAX_BODY_BYTES:
            raise HttpProtocolError(f"decoded body larger than {MAX_BODY_BYTES} bytes")
        return decoded
    raise HttpProtocolError(f"body is not valid {encoding}")


async def read_body(
    reader: asyncio.StreamReader, method: str, status: int, version: str, headers: dict[str, str]
) -> tuple[bytes, bool]:
    """The answer's body after its head, framed by what the head says and decoded;
    (body, whether the connection can carry another request)."""
    keep = version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    if method == "HEAD" or status in _NO_BODY_STATUS:
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        try:
            length = int(headers["content-length"])
        except ValueError:
            raise HttpProtocolError("malformed Content-Length") from None
        if not 0 <= length <= MAX_BODY_BYTES:
            raise HttpProtocolError(f"Content-Length {length} out of bounds")
        body = await reader.readexactly(length)
    else:
        body, keep = await _read_to_end(reader), False
    return _decoded(body, headers.get("content-encoding", "")), keep
