"""`GET /api/v1/health/locations` on a real health monitor: what each location last saw of
every check in one answer, by check in the order `/checks` lists them, the same entries
as each check's own `/checks/{name}/locations`; `check` narrows it, and a malformed name,
too many names or an unknown check is refused naming the field or the check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import pytest
from support.locations import seen_from

pytestmark = pytest.mark.integration

CONFIG = """checks:
  - {{name: auth-service, kind: http, url: "{up}", interval_s: 0.3, timeout_s: 2}}
  - {{name: billing, kind: http, url: "{up}", interval_s: 0.3, timeout_s: 2}}
  - {{name: queue, kind: http, url: "{silent}", interval_s: 600, timeout_s: 300}}
"""


@pytest.fixture
async def silent_url() -> AsyncIterator[str]:
    """A loopback server that takes connections and never answers: a check against it has
    no result for the test's whole life (its timeout is minutes away)."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
    for writer in held:
        writer.close()
    server.close()
    with contextlib.suppress(Exception):
        await server.wait_closed()


async def test_every_checks_locations_in_one_answer(monitor, http_server, silent_url) -> None:
    monitor.config_path.write_text(CONFIG.format(up=http_server.url, silent=silent_url))
    monitor.start()
    await seen_from(
        monitor.settings.dsn(),
        "billing",
        {"eu-west": ("healthy", False), "us-east": ("unhealthy", True)},
    )

    async def auth_service_ran() -> bool:
        checks = (await monitor.get("/api/v1/health/checks")).json()
        return any(c["name"] == "auth-service" and c["latest"] for c in checks)

    await monitor.wait_for(auth_service_ran)
    every = await monitor.get("/api/v1/health/locations")
    assert every.status_code == 200, every.text
    found = every.json()
    assert list(found) == ["auth-service", "billing", "queue"]
    billing = (await monitor.get("/api/v1/health/checks/billing/locations")).json()
    assert found["billing"] == billing
    assert [(e["location"], e["failing"], e["latest"]["message"]) for e in billing] == [
        ("eu-west", False, "seen from eu-west"),
        ("us-east", True, "seen from us-east"),
    ]
    # One location ran auth-service: its newest result, no verdict; queue has not run.
    [auth] = found["auth-service"]
    assert (auth["location"], auth["failing"], auth["since"]) == ("default", None, None)
    assert auth["latest"]["service"] == "auth-service"
    assert found["queue"] == []

    def named(*checks: str) -> str:
        return "/api/v1/health/locations?" + urlencode([("check", check) for check in checks])

    narrowed = (await monitor.get(named("queue", "billing", "queue"))).json()
    assert narrowed == {"billing": billing, "queue": []}


async def test_a_bad_check_parameter_is_refused_naming_it(monitor, http_server) -> None:
    monitor.config_path.write_text(
        "checks:\n  - {name: auth-service, kind: http, url: " + http_server.url + "}\n"
    )
    monitor.start()

    async def refused(query: list[tuple[str, str]], status: int) -> object:
        answer = await monitor.get("/api/v1/health/locations?" + urlencode(query))
        assert answer.status_code == status, answer.text
        return answer.json()["detail"]

    [malformed] = await refused([("check", "auth-service"), ("check", "Not a name")], 422)
    assert malformed["loc"] == ["query", "check", 1]
    [too_many] = await refused([("check", "auth-service")] * 101, 422)
    assert too_many["loc"] == ["query", "check"]
    assert "100" in too_many["msg"]
    unknown = await refused([("check", "auth-service"), ("check", "nope")], 404)
    assert unknown == "no check named 'nope'"
    assert (await monitor.get("/api/v1/health/locations", key="wrong")).status_code == 401
