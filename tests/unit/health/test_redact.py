"""Check messages reach viewers, Kafka and Slack: they never show URL credentials, query
strings, or any value that came from `${VAR}` (or another secret of the check)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from lookout_health.alerts.app import create_app as create_alert_app
from lookout_health.app import create_app
from lookout_health.checks import ProbeContext, probe_for
from lookout_health.checks.redact import redact, redact_url, secrets_of
from lookout_health.config import parse_config
from lookout_health.http_logging import HTTP_CLIENT_LOGGERS
from lookout_health.monitor import probe


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.internal:8443/health", "https://api.internal:8443/health"),
        ("https://bob:hunter2@api.internal/health", "https://***@api.internal/health"),
        ("https://api.internal/health?token=abc&x=1", "https://api.internal/health?…"),
        ("https://api.internal/h#frag", "https://api.internal/h"),
        ("http://[::1]:8080/a?b", "http://[::1]:8080/a?…"),
        ("http://host:notaport/", "***"),
    ],
)
def test_a_url_loses_credentials_query_and_fragment(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_every_url_inside_a_message_is_reduced() -> None:
    message = "HTTP 500 from https://u:p@a.example/x?sig=1, then 'http://b.example/?k=v'"
    assert redact(message, []) == (
        "HTTP 500 from https://***@a.example/x?…, then 'http://b.example/?…'"
    )


def test_each_secret_is_replaced_longest_first_in_one_pass() -> None:
    assert redact("key abcd and abcdef", ["abcd", "abcdef"]) == "key *** and ***"
    assert redact("nothing secret here", ["", "zzzz"]) == "nothing secret here"


def test_values_too_short_to_hide_anything_do_not_garble_messages() -> None:
    assert redact("HTTP 503 from http://h:80/a, 1 of 1", ["1", "80", "of"]) == (
        "HTTP 503 from http://h:80/a, 1 of 1"
    )


def test_values_from_the_environment_are_secrets_of_every_check(monkeypatch) -> None:
    monkeypatch.setenv("STATUS_PATH", "p-7f3a91")
    monkeypatch.setenv("PAYMENTS_HOST", "payments.corp.internal")
    config = parse_config(
        "checks:\n"
        "  - {name: a, kind: http, url: 'https://${PAYMENTS_HOST}/${STATUS_PATH}/health'}\n"
        "  - {name: b, kind: tcp, host: db.internal, port: 5432}\n"
    )
    first, second = config.checks
    assert first.expanded == {"p-7f3a91", "payments.corp.internal"}
    assert secrets_of(second) >= {"p-7f3a91", "payments.corp.internal"}


def test_url_dsn_header_and_s3_secrets_of_a_check() -> None:
    config = parse_config(
        "checks:\n"
        "  - {name: a, kind: http, url: 'https://bobby:pw-1@h/x', headers: {X-Token: tok9}}\n"
        "  - {name: b, kind: postgres, dsn: 'postgresql://app-user:pw22@db/lookout'}\n"
        "  - {name: c, kind: s3, bucket: k, access_key_id: AKIA1, secret_access_key: sk-11}\n"
    )
    http, postgres, s3 = config.checks
    assert secrets_of(http) == {"bobby", "pw-1", "tok9"}
    assert secrets_of(postgres) == {"app-user", "pw22"}
    assert secrets_of(s3) == {"AKIA1", "sk-11"}


async def test_a_failing_http_check_names_its_url_without_secrets(monkeypatch) -> None:
    monkeypatch.setenv("STATUS_TOKEN", "t0ken-c4f2")
    config = parse_config(
        "checks:\n  - name: api\n    kind: http\n"
        "    url: 'http://monitor:pw-9@127.0.0.1:1/status/${STATUS_TOKEN}?sig=zz-81'\n"
        "    timeout_s: 2\n"
    )
    with pytest.raises(Exception) as failure:  # noqa: PT011 - the probe's own failure type
        await probe_for(config.checks[0])(config.checks[0], ProbeContext())
    message = str(failure.value)
    for secret in ("t0ken-c4f2", "pw-9", "zz-81", "monitor"):
        assert secret not in message


async def _answer_ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.mark.parametrize("build", [create_app, create_alert_app], ids=["monitor", "alerts"])
async def test_a_url_with_credentials_reaches_no_log_even_at_debug(
    build: Callable[[], object], caplog: pytest.LogCaptureFixture
) -> None:
    # httpx logs every request's full URL at INFO; probe URLs (and receiver URLs) may
    # carry a password or a token. Each app, built alone, keeps it out of the log.
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(logging.NOTSET)
    build()
    server = await asyncio.start_server(_answer_ok, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = parse_config(
        f"checks:\n  - {{name: api, kind: http, url: 'http://probe:s3cret-pass@127.0.0.1:{port}/h'}}\n"
    )
    try:
        with caplog.at_level(logging.DEBUG):
            run = await probe(config.checks[0])
    finally:
        server.close()
    assert run.succeeded, run.message
    assert "s3cret-pass" not in caplog.text
