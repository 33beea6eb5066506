"""The status page and the SLA report on a real health-monitor process and Postgres.

Three components: an HTTP check behind a URL with a password ("Public API"), a TCP check
on a closed port that fails at once ("Ledger") and a directory check ("Storage").
With LOOKOUT_STATUS_KEY set the page needs that key (an API key does not open it); it
shows components, 90 daily bars, the Ledger incident and maintenance, never a check's
name, target or message; the Atom feed parses; rollups land in Postgres and the SLA
report (JSON and CSV) counts declared maintenance apart from downtime."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import httpx
import pytest

from lookout_devstack.embedded.process import free_port

pytestmark = pytest.mark.integration

STATUS_KEY = "status-key-9f3a1c"
ATOM = "{http://www.w3.org/2005/Atom}"
HIDDEN = ("api-a", "ledger-socket", "disk", "pw-51e7", "probe:", "/health", "refused", "onnect")


async def test_status_page_behind_its_key_and_the_sla_report(
    monitor, http_server, tmp_path
) -> None:
    port = http_server.url.rsplit(":", 1)[1]
    monitor.env |= {"LOOKOUT_STATUS_KEY": STATUS_KEY, "LOOKOUT_STATUS_CACHE_S": "0"}
    monitor.config_path.write_text(
        "checks:\n"
        f"  - {{name: api-a, kind: http, url: 'http://probe:pw-51e7@127.0.0.1:{port}/health',"
        " component: Public API, interval_s: 0.3, timeout_s: 2}\n"
        f"  - {{name: ledger-socket, kind: tcp, host: 127.0.0.1, port: {free_port()},"
        " component: Ledger, interval_s: 0.3, timeout_s: 1, failures_before_incident: 1}\n"
        f"  - {{name: disk, kind: directory, path: '{tmp_path}', component: Storage,"
        " interval_s: 0.3}\n"
    )
    monitor.start()
    base = monitor.service.url
    keyed = {"X-Status-Key": STATUS_KEY}

    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        # The key, and only the key, opens it: no key, a wrong one or an API key get 401.
        for path in ("/status", "/status.json", "/status/feed.atom"):
            assert (await http.get(path)).status_code == 401
            assert (await http.get(path, params={"key": "status-key-wrong"})).status_code == 401
            bearer = {"Authorization": f"Bearer {monitor.admin_key}"}
            assert (await http.get(path, headers=bearer)).status_code == 401

        async def ledger_down_today() -> dict | None:
            page = (await http.get("/status.json", headers=keyed)).json()
            states = {c["name"]: c for c in page["components"]}
            ledger = states.get("Ledger")
            ready = (
                ledger is not None
                and ledger["state"] == "outage"
                and ledger["days"][-1]["state"] == "outage"
                and states["Public API"]["days"][-1]["state"] == "operational"
                and page["activeIncidents"]
            )
            return page if ready else None

        page = await monitor.wait_for(ledger_down_today)
        assert page["state"] == "outage"
        assert [c["name"] for c in page["components"]] == ["Ledger", "Public API", "Storage"]
        ledger = page["components"][0]
        assert len(ledger["days"]) == 90
        assert ledger["days"][-1]["date"] == datetime.now(UTC).date().isoformat()
        assert ledger["days"][0]["state"] == "nodata"
        (incident,) = page["activeIncidents"]
        assert incident["component"] == "Ledger"
        assert incident["state"] == "investigating"
        assert [entry["state"] for entry in incident["timeline"]] == ["failing"]
        assert incident["timeline"][0]["message"] is None
        assert ledger["days"][-1]["incidents"] == [incident["id"]]

        html = await http.get("/status", params={"key": STATUS_KEY})
        assert html.status_code == 200
        assert "default-src 'none'" in html.headers["content-security-policy"]
        assert html.headers["cache-control"] == "private, no-store"
        assert "Some systems are down" in html.text
        assert html.text.count('class="day ') == 3 * 90
        assert f'href="status.json?key={STATUS_KEY}"' in html.text
        assert f"#{incident['id']}" in html.text

        feed = await http.get("/status/feed.atom", headers=keyed)
        assert feed.headers["content-type"].startswith("application/atom+xml")
        root = ElementTree.fromstring(feed.content)  # noqa: S314 - our own server's feed
        assert root.tag == f"{ATOM}feed"
        for required in ("id", "title", "updated", "author"):
            assert root.find(f"{ATOM}{required}") is not None
        (entry,) = root.findall(f"{ATOM}entry")
        assert entry.findtext(f"{ATOM}title") == "Ledger: investigating"
        assert entry.findtext(f"{ATOM}id").startswith("urn:uuid:")
        datetime.fromisoformat(entry.findtext(f"{ATOM}updated"))
        self_link = root.find(f"{ATOM}link[@rel='self']").get("href")
        assert self_link.endswith("/status/feed.atom")  # the header's key is not put in URLs

        for body in (html.text, feed.text, (await http.get("/status.json", headers=keyed)).text):
            for hidden in HIDDEN:
                assert hidden not in body

        # Maintenance declared now: the page says so and the time stops counting as down.
        now = datetime.now(UTC)
        window = {
            "startsAt": (now - timedelta(seconds=1)).isoformat(),
            "endsAt": (now + timedelta(hours=1)).isoformat(),
            "reason": "Ledger database upgrade",
        }
        assert (await monitor.post("/api/v1/health/maintenance", window)).status_code == 201
        viewer = {"Authorization": f"Bearer {monitor.viewer_key}"}

        async def maintenance_counted() -> dict | None:
            report = (await http.get("/api/v1/health/sla", headers=viewer)).json()
            found = {c["component"]: c for c in report["components"]}
            # A whole second at least: the CSV below shows whole seconds.
            return report if found["Ledger"]["last90d"]["maintenanceS"] >= 1 else None

        report = await monitor.wait_for(maintenance_counted, timeout=20)
        found = {c["component"]: c for c in report["components"]}
        assert found["Ledger"]["checks"] == ["ledger-socket"]
        assert found["Ledger"]["last90d"]["downS"] > 0
        assert found["Ledger"]["last90d"]["uptimePct"] == 0.0  # maintenance is not uptime
        assert found["Public API"]["last365d"]["uptimePct"] == 100.0
        assert len(found["Storage"]["months"]) == 12
        assert found["Storage"]["months"][-1]["label"] == now.strftime("%Y-%m")
        assert [w["reason"] for w in report["maintenance"]] == ["Ledger database upgrade"]

        page = (await http.get("/status.json", headers=keyed)).json()
        assert page["state"] == "maintenance"
        assert [(w["reason"], w["active"]) for w in page["maintenance"]] == [
            ("Ledger database upgrade", True)
        ]

        exported = await http.get(
            "/api/v1/health/sla.csv", params={"months": 3, "component": "Ledger"}, headers=viewer
        )
        assert exported.headers["content-type"].startswith("text/csv")
        assert "attachment" in exported.headers["content-disposition"]
        lines = list(csv.DictReader(io.StringIO(exported.text)))
        assert [line["period"] for line in lines][-2:] == ["90d", "365d"]
        assert len(lines) == 5
        assert {line["component"] for line in lines} == {"Ledger"}
        assert float(lines[-1]["maintenance_s"]) > 0
        assert (await http.get("/api/v1/health/sla", headers=keyed)).status_code == 401
        unknown = await http.get("/api/v1/health/sla", params={"component": "x"}, headers=viewer)
        assert unknown.status_code == 404

    rows = await monitor.rows(
        "SELECT DISTINCT scope, resolution FROM health_uptime_rollups WHERE name = 'ledger-socket'"
        " OR name = 'Ledger'"
    )
    assert {(row["scope"], row["resolution"]) for row in rows} == {
        (scope, resolution)
        for scope in ("check", "component")
        for resolution in ("minute", "hour", "day", "month")
    }
