"""A lean HTTP/1.1 client for `http` checks: one request in, its status, headers, body and
the server's certificate out, over keep-alive connections kept per origin and CA file.

Why not httpx: its connection pool matches every waiting request against every pooled
connection, which is quadratic in the requests in flight (99 % of the monitor's CPU at
2,000 checks every 12 s). Here a request takes an idle connection of its own origin from
a list, or opens one, in constant time.

What it promises:
- No redirect is followed (a 3xx is an answer like any other).
- `HTTP_PROXY`, `HTTPS_PROXY` and `NO_PROXY` (any case) are honoured as httpx did, read
  per request through `urllib.request`: an `http` URL goes to its proxy as an
  absolute-form request, an `https` one through a `CONNECT` tunnel, TLS end to end with
  the origin; the proxy URL's user and password become `Proxy-Authorization`. Only
  `http://` proxies are spoken to; a proxy that refuses the tunnel fails the request.
- The URL's user and password become a Basic `Authorization` header; its fragment is
  never sent. The check's headers replace the defaults of the same name.
- Bodies are framed by `Content-Length`, chunked encoding or the connection's end, and
  a `gzip` or `deflate` body is decoded. Headers are bounded to 64 KB and bodies to 16 MB
  (decoded); more is a failed request, never unbounded memory (`http_messages.py`).
- A cancelled or failed request closes its connection; only a connection whose answer
  was read whole goes back to the pool. When the server closes a kept connection as a
  request goes out (nothing answered), an idempotent request (GET, HEAD, OPTIONS, PUT,
  DELETE, TRACE) is sent once more on a new connection; any other (POST, PATCH) fails
  with `ClosedUnanswered`: the server may have received it and acted on it, and no
  client can tell (bytes handed to the kernel may have arrived whatever the socket says
  next), so sending it again could do twice what the check asked for once.
- Certificates are verified against certifi's bundle (as httpx did) or the check's
  `ca_file`; OpenSSL's own errors (an expired certificate) propagate unchanged.
- Timeouts are the caller's (`asyncio.timeout` around `request`).
"""

from __future__ import annotations

import asyncio
import ssl
import time
import weakref
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import certifi

from lookout_health.checks.http_messages import MAX_HEADER_BYTES, read_body, read_head
from lookout_health.checks.proxies import Proxy, basic_authorization, proxy_for
from lookout_health.checks.tls import client_context

# Kept connections idle longer than this are closed rather than reused: most servers drop
# an idle keep-alive connection after 5 to 75 s, and a request sent as they do is wasted.
IDLE_S = 4.0
# Connections kept idle, over all origins (the least recently used beyond this close).
MAX_IDLE = 256
# Requests in flight to one origin; more wait their turn (first come, first served)
# within their own timeout, so a burst of runs never opens thousands of sockets at once
# and a hanging origin holds only its own turns.
MAX_PER_ORIGIN = 64
# Methods a server must treat the same however often they arrive (RFC 9110, 9.2.2).
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


class _Unanswered(Exception):
    """The connection ended before a byte of the answer came (its cause says how)."""


class ProxyRefused(ConnectionError):
    """The proxy did not open a tunnel to the origin (its status line says why)."""


class ClosedUnanswered(ConnectionError):
    """A kept connection closed before answering a request that is not resent (not
    idempotent)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: dict[str, str]  # names lowercased; repeated headers joined with ", "
    body: bytes
    certificate: bytes | None  # the server's certificate (DER) on https, else None


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int
    ca_file: Path | None
    proxy: Proxy | None = None


@dataclass(slots=True, eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def usable(self, now: float) -> bool:
        return (
            now - self.idle_since < IDLE_S
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        self.writer.close()


class _Pool:
    """One event loop's kept connections: per origin (newest last) and over all origins
    (oldest first), every operation constant time."""

    def __init__(self) -> None:
        self.by_origin: dict[Origin, dict[_Connection, None]] = {}
        self.oldest: OrderedDict[_Connection, Origin] = OrderedDict()
        self.turns: dict[Origin, asyncio.Semaphore] = {}

    def turn(self, origin: Origin) -> asyncio.Semaphore:
        if origin not in self.turns:
            self.turns[origin] = asyncio.Semaphore(MAX_PER_ORIGIN)
        return self.turns[origin]

    def take(self, origin: Origin) -> _Connection | None:
        idle, now = self.by_origin.get(origin), time.monotonic()
        while idle:
            connection, _ = idle.popitem()  # the most recently used: likeliest still open
            del self.oldest[connection]
            if connection.usable(now):
                return connection
            connection.close()
        return None

    def give_back(self, origin: Origin, connection: _Connection) -> None:
        connection.idle_since = now = time.monotonic()
        self.by_origin.setdefault(origin, {})[connection] = None
        self.oldest[connection] = origin
        while self.oldest:
            first, first_origin = next(iter(self.oldest.items()))
            if len(self.oldest) <= MAX_IDLE and now - first.idle_since < IDLE_S:
                break
            del self.oldest[first]
            del self.by_origin[first_origin][first]
            first.close()


_contexts: dict[Path | None, ssl.SSLContext] = {}
# Connections belong to the event loop that opened them; a closed loop drops its pool.
_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = weakref.WeakKeyDictionary()


def _context(ca_file: Path | None) -> ssl.SSLContext:
    """One TLS context per CA file (building one reads the whole CA bundle)."""
    if ca_file not in _contexts:
        context = client_context(ca_file or Path(certifi.where()))
        context.set_alpn_protocols(["http/1.1"])
        _contexts[ca_file] = context
    return _contexts[ca_file]


def _pool() -> _Pool:
    loop = asyncio.get_running_loop()
    if loop not in _pools:
        _pools[loop] = _Pool()
    return _pools[loop]


async def _tunnel(origin: Origin, proxy: Proxy) -> _Connection:
    """A connection to `origin` through `proxy`'s `CONNECT` tunnel, TLS with the origin."""
    reader, writer = await asyncio.open_connection(proxy.host, proxy.port, limit=MAX_HEADER_BYTES)
    try:
        authority = f"{_shown(origin.host)}:{origin.port}"
        head = f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n"
        if proxy.authorization is not None:
            head += f"Proxy-Authorization: {proxy.authorization}\r\n"
        writer.write((head + "\r\n").encode("latin-1"))
        status, _, _ = await read_head(reader)
        if not 200 <= status < 300:
            raise ProxyRefused(f"proxy {proxy.host}:{proxy.port} answered {status} to CONNECT")
        await writer.start_tls(_context(origin.ca_file), server_hostname=origin.host)
    except BaseException:
        writer.close()
        raise
    return _Connection(reader, writer)


async def _open(origin: Origin) -> _Connection:
    if origin.proxy is not None:
        if origin.scheme == "https":
            return await _tunnel(origin, origin.proxy)
        reader, writer = await asyncio.open_connection(
            origin.proxy.host, origin.proxy.port, limit=MAX_HEADER_BYTES
        )
        return _Connection(reader, writer)
    if origin.scheme == "https":
        reader, writer = await asyncio.open_connection(
            origin.host,
            origin.port,
            ssl=_context(origin.ca_file),
            server_hostname=origin.host,
            limit=MAX_HEADER_BYTES,
        )
    else:
        reader, writer = await asyncio.open_connection(
            origin.host, origin.port, limit=MAX_HEADER_BYTES
        )
    return _Connection(reader, writer)


def _shown(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _request_bytes(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | None,
    ca_file: Path | None,
) -> tuple[Origin, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL with a host: {url}")
    default_port = 443 if parts.scheme == "https" else 80
    port = parts.port or default_port
    host = (
        parts.hostname.encode("idna").decode("ascii")
        if not parts.hostname.isascii()
        else (parts.hostname)
    )
    authority = _shown(host) if port == default_port else f"{_shown(host)}:{port}"
    target = quote(parts.path or "/", safe="/%:@!$&'()*+,;=-._~")
    if parts.query:
        target += "?" + quote(parts.query, safe="/?%:@!$&'()*+,;=-._~")
    proxy = proxy_for(parts.scheme, host)
    chosen = {
        "host": authority,
        "user-agent": "lookout-health",
        "accept": "*/*",
        "accept-encoding": "gzip, deflate",
    }
    if parts.username is not None:
        chosen["authorization"] = basic_authorization(parts.username, parts.password)
    if proxy is not None and parts.scheme == "http":
        target = f"http://{authority}{target}"  # absolute form: the proxy forwards it
        if proxy.authorization is not None:
            chosen["proxy-authorization"] = proxy.authorization
    names = {"host": "Host", "user-agent": "User-Agent", "accept": "Accept"}
    names |= {"accept-encoding": "Accept-Encoding", "authorization": "Authorization"}
    names["proxy-authorization"] = "Proxy-Authorization"
    for name, value in headers.items():
        if any(c in name + value for c in "\r\n\0") or not name.isascii() or ":" in name:
            raise ValueError(f"header {name!r} cannot be sent (a line break or bad name)")
        chosen[name.lower()] = value
        names[name.lower()] = name
    if body is not None or method in ("POST", "PUT"):
        chosen["content-length"] = str(len(body or b""))
        names["content-length"] = "Content-Length"
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(
        f"{names[name]}: {value}\r\n" for name, value in chosen.items()
    )
    return Origin(parts.scheme, host, port, ca_file, proxy), (head + "\r\n").encode("latin-1") + (
        body or b""
    )


async def _exchange(connection: _Connection, method: str, request: bytes) -> tuple[Answer, bool]:
    """Send `request` and read its answer whole; (answer, whether the connection can be
    kept)."""
    reader = connection.reader
    try:
        connection.writer.write(request)
        await connection.writer.drain()
        status, version, headers = await read_head(reader)
    except (asyncio.IncompleteReadError, ConnectionError) as error:
        if isinstance(error, asyncio.IncompleteReadError) and error.partial:
            raise
        raise _Unanswered from error
    while 100 <= status < 200:  # 100 Continue, 103 Early Hints: the answer follows
        status, version, headers = await read_head(reader)
    body, keep = await read_body(reader, method, status, version, headers)
    ssl_object = connection.writer.get_extra_info("ssl_object")
    certificate = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    return Answer(status, headers, body, certificate), keep


async def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    ca_file: Path | None = None,
) -> Answer:
    """One request, its answer read whole. Raises `OSError` (connect, reset, TLS),
    `asyncio.IncompleteReadError` (the server hung up mid-answer),
    `http_messages.HttpProtocolError` or `ValueError` (a URL or header that cannot be
    sent)."""
    origin, payload = _request_bytes(method, url, headers or {}, body, ca_file)
    pool = _pool()
    async with pool.turn(origin):
        reused = pool.take(origin)
        connection = reused or await _open(origin)
        while True:
            try:
                answer, keep = await _exchange(connection, method, payload)
            except _Unanswered as error:
                connection.close()
                if reused is None:
                    raise error.__cause__ or error from None
                if method.upper() not in IDEMPOTENT:
                    raise ClosedUnanswered(
                        f"{origin.host}:{origin.port} closed a kept connection without"
                        f" answering; a {method} is not resent (it may have been received)"
                    ) from error
                # The server closed the kept connection as we sent: once more on a new one.
                reused, connection = None, await _open(origin)
                continue
            except BaseException:
                connection.close()  # cancelled or broken midway: never reused
                raise
            if keep:
                pool.give_back(origin, connection)
            else:
                connection.close()
            return answer
