"""The dashboard's admin actions and lifecycle displays in headless Chromium against the real
stack (`lookout up`): on the Backups tab an admin turns the fresh installation's default
schedule off and on and moves its time, and the API agrees after each change; a change the
worker refuses is said above the schedules; a viewer sees what each schedule makes and keeps
but no controls. On the Health tab an incident shows its lifecycle state, who acknowledged it
and when, the reminders sent, its escalation and its timeline, as the API reports them; an
admin acknowledges it and moves it through its states with updates (a step back the
lifecycle refuses is said in the incident), and a viewer sees it all without controls; an
update an admin is still typing, and the focus, survive the list's redraw when another
incident's event arrives live. A check run from several locations shows, under its row,
what each location last saw of it, as the API reports it (a location that stopped
reporting greyed as stale), read for every check in one request per load of the tab, not
one per check.

Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from playwright.async_api import Page, expect
from support.browser_stack import Stack, shot, sign_in
from support.locations import seen_from
from support.wait import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

DEFAULT_KIND = "incremental; full on Sundays; trial-restored Sundays"


def _schedule(stack: Stack, name: str) -> dict:
    schedules = stack.api("/api/v1/backups/schedules")
    assert isinstance(schedules, list)
    [found] = [schedule for schedule in schedules if schedule["name"] == name]
    return found


def _unchanged(schedule: dict) -> dict:
    """What a change of time or on/off must leave as it was."""
    return {
        key: value
        for key, value in schedule.items()
        if key not in {"hour", "minute", "enabled", "next_run_at"}
    }


async def test_an_admin_turns_the_default_schedule_off_and_on_and_moves_its_time(
    page: Page, stack: Stack
) -> None:
    default = _schedule(stack, "default")
    assert (default["hour"], default["minute"], default["enabled"]) == (3, 0, True)
    zone = default["timezone"]

    await sign_in(page, stack, stack.admin_key)
    await page.click("#tab-backups")
    row = page.locator('#bk-schedules tr[data-schedule="default"]')
    cells = row.locator("td")
    await expect(cells.nth(1)).to_have_text(f"daily at 03:00 {zone}")
    await expect(cells.nth(2)).to_have_text(DEFAULT_KIND)
    await expect(cells.nth(3)).to_have_text("all")
    await expect(cells.nth(4)).to_have_text("30 days")
    await expect(cells.nth(6)).to_have_text("yes")
    await expect(page.locator("#bk-schedules th", has_text="Change")).to_be_visible()

    await row.get_by_role("button", name="Turn off").click()
    await expect(page.locator("#bk-schedules-status")).to_have_text("default turned off.")
    await expect(cells.nth(6)).to_have_text("no")
    await expect(row.get_by_role("button", name="Turn on")).to_be_enabled()
    off = _schedule(stack, "default")
    assert off["enabled"] is False
    assert _unchanged(off) == _unchanged(default)
    await shot(page, "schedule-off")

    await row.get_by_role("button", name="Turn on").click()
    await expect(page.locator("#bk-schedules-status")).to_have_text("default turned on.")
    await expect(cells.nth(6)).to_have_text("yes")
    assert _schedule(stack, "default")["enabled"] is True

    await row.get_by_label("Time of default").fill("04:30")
    await row.get_by_role("button", name="Save").click()
    await expect(page.locator("#bk-schedules-status")).to_have_text("default now runs at 04:30.")
    await expect(cells.nth(1)).to_have_text(f"daily at 04:30 {zone}")
    moved = _schedule(stack, "default")
    assert (moved["hour"], moved["minute"], moved["enabled"]) == (4, 30, True)
    assert _unchanged(moved) == _unchanged(default)
    assert moved["next_run_at"] != default["next_run_at"]
    await expect(page.locator("#bk-schedules-section > .error")).to_have_count(0)
    await shot(page, "schedule-moved")

    # Each change is in the audit log, by this key, against the schedule.
    audit = stack.api("/api/v1/audit")
    assert isinstance(audit, list)
    updates = [
        entry
        for entry in audit
        if entry["action"] == "backup.schedule.update" and entry["target"] == str(default["id"])
    ]
    assert len(updates) == 3


async def test_a_refused_change_is_said_above_the_schedules(page: Page, stack: Stack) -> None:
    headers = {"Authorization": f"Bearer {stack.admin_key}"}
    async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=30) as http:
        created = await http.post(
            "/api/v1/backups/schedules",
            json={"name": "weekly-check", "frequency": "weekly", "hour": 2, "weekday": 2},
        )
    assert created.status_code == 201, created.text
    schedule = created.json()
    await sign_in(page, stack, stack.admin_key)
    await page.click("#tab-backups")
    row = page.locator('#bk-schedules tr[data-schedule="weekly-check"]')
    await expect(row.locator("td").nth(1)).to_have_text("weekly on Wednesdays at 02:00 UTC")
    await expect(row.locator("td").nth(2)).to_have_text("full")
    await expect(row.locator("td").nth(4)).to_have_text("keep all")

    # Deleted behind the page's back: the worker answers 404 to the page's change.
    async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=30) as http:
        deleted = await http.delete(f"/api/v1/backups/schedules/{schedule['id']}")
    assert deleted.status_code == 204, deleted.text
    await row.get_by_role("button", name="Turn off").click()
    error = page.locator("#bk-schedules-section > .error")
    await expect(error).to_contain_text("weekly-check not saved: ")
    await expect(error).to_contain_text(str(schedule["id"]))
    await expect(row.locator("td").nth(6)).to_have_text("yes")
    await expect(row.get_by_role("button", name="Turn off")).to_be_enabled()
    await expect(page.locator("#bk-schedules-status")).to_have_text("")
    await shot(page, "schedule-refused")


async def test_a_viewer_sees_the_schedules_without_controls(page: Page, stack: Stack) -> None:
    await sign_in(page, stack, stack.viewer_key)
    await page.click("#tab-backups")
    row = page.locator('#bk-schedules tr[data-schedule="default"]')
    await expect(row.locator("td").nth(2)).to_have_text(DEFAULT_KIND)
    await expect(row.locator("td")).to_have_count(7)
    await expect(page.locator("#bk-schedules button")).to_have_count(0)
    await expect(page.locator("#bk-schedules input")).to_have_count(0)
    await expect(page.locator("#bk-schedules th", has_text="Change")).to_be_hidden()
    await shot(page, "schedules-viewer")


async def _open_incident(stack: Stack, check: str) -> int:
    """An open incident as the monitor opens one for a failing check (a check it does not
    run, so its own results never resolve it): opened 20 minutes ago, reminded twice,
    escalated, the last reminder a minute ago (the next is not due for 30 minutes)."""
    now = datetime.now(UTC)
    opened = now - timedelta(minutes=20)
    first = [{"at": opened.isoformat(), "status": "unhealthy", "message": "connect refused"}]
    connection = await asyncpg.connect(stack.info["database_url"])
    try:
        return await connection.fetchval(
            """
            INSERT INTO incidents (check_name, critical, status, message, opened_at,
                updated_at, updates, reminded_at, reminders, escalated_at)
            VALUES ($1, true, 'unhealthy', 'connect refused', $2, $2,
                $3::text::jsonb, $4, 2, $5)
            RETURNING id
            """,
            check,
            opened,
            json.dumps(first),
            now - timedelta(minutes=1),
            now - timedelta(minutes=5),
        )
    finally:
        await connection.close()


def _incident(stack: Stack, incident_id: int) -> dict:
    incidents = stack.api("/api/v1/health/incidents")
    assert isinstance(incidents, list)
    [found] = [item for item in incidents if item["id"] == incident_id]
    return found


async def test_an_admin_acknowledges_and_updates_an_incident_on_the_health_tab(
    page: Page, stack: Stack
) -> None:
    incident_id = await _open_incident(stack, "payments-gateway")
    me = stack.api("/api/v1/me")
    assert isinstance(me, dict)

    await sign_in(page, stack, stack.admin_key)
    await page.click("#tab-health")
    item = page.locator(f'#hl-incidents > li[data-incident="{incident_id}"]')
    await expect(item).to_have_class("open")
    await expect(item.locator(".incident-state")).to_have_text("investigating")
    await expect(item.locator(".incident-ack")).to_have_text("Not acknowledged yet")
    await expect(item.locator(".incident-reminders")).to_have_text("2 reminders sent")
    await expect(item.locator(".incident-escalated")).to_contain_text("escalated at ")
    await expect(item.locator("ol.updates > li")).to_have_count(1)
    await expect(item.locator("ol.updates > li")).to_contain_text("connect refused")

    await item.get_by_role("button", name="Acknowledge").click()
    await expect(item.locator(".incident-ack")).to_contain_text(f"Acknowledged by {me['name']} at ")
    await expect(item.get_by_role("button", name="Acknowledge")).to_have_count(0)
    acknowledged = _incident(stack, incident_id)
    assert acknowledged["acknowledgedBy"] == me["name"]
    assert acknowledged["acknowledgedAt"] is not None

    await item.get_by_label("State of payments-gateway").select_option("identified")
    await item.get_by_label("Update on payments-gateway").fill("The certificate expired")
    await item.get_by_role("button", name="Post update").click()
    await expect(item.locator(".incident-state")).to_have_text("identified")
    updates = item.locator("ol.updates > li")
    await expect(updates).to_have_count(2)
    await expect(updates.last).to_contain_text("identified")
    await expect(updates.last).to_contain_text("The certificate expired")
    await expect(updates.last).to_contain_text(me["name"])
    identified = _incident(stack, incident_id)
    assert identified["state"] == "identified"
    assert identified["updates"][-1]["message"] == "The certificate expired"

    # A step back the lifecycle does not allow: the monitor refuses it, the incident says so.
    await item.get_by_label("State of payments-gateway").select_option("investigating")
    await item.get_by_label("Update on payments-gateway").fill("Looking again")
    await item.get_by_role("button", name="Post update").click()
    error = item.locator(".incident-actions .error")
    await expect(error).to_contain_text("Not saved: ")
    await expect(error).to_contain_text("cannot go back from identified to investigating")
    await expect(item.locator(".incident-state")).to_have_text("identified")
    await expect(item.get_by_role("button", name="Post update")).to_be_enabled()
    assert _incident(stack, incident_id)["state"] == "identified"
    await item.scroll_into_view_if_needed()
    await shot(page, "incident-refused")

    await item.get_by_label("State of payments-gateway").select_option("resolved")
    await item.get_by_label("Update on payments-gateway").fill("Certificate renewed")
    await item.get_by_role("button", name="Post update").click()
    await expect(item).to_have_class("resolved")
    await expect(item.locator(".incident-state")).to_have_text("resolved")
    await expect(item.locator(".incident-actions")).to_have_count(0)
    await expect(updates).to_have_count(3)
    resolved = _incident(stack, incident_id)
    assert resolved["state"] == "resolved"
    assert resolved["resolvedAt"] is not None
    await shot(page, "incident-resolved")

    audit = stack.api("/api/v1/audit")
    assert isinstance(audit, list)
    actions = {entry["action"] for entry in audit if entry["target"] == str(incident_id)}
    assert {"health.incident.ack", "health.incident.update"} <= actions


async def test_an_update_being_typed_survives_a_live_incident_event(
    page: Page, stack: Stack
) -> None:
    typing_id = await _open_incident(stack, "checkout-api")
    other_id = await _open_incident(stack, "mail-relay")

    await sign_in(page, stack, stack.admin_key)
    await expect(page.locator("#live")).to_have_text("live")
    await page.click("#tab-health")
    item = page.locator(f'#hl-incidents > li[data-incident="{typing_id}"]')
    other = page.locator(f'#hl-incidents > li[data-incident="{other_id}"]')
    await expect(other).to_have_class("open")
    await item.get_by_label("State of checkout-api").select_option("monitoring")
    message = item.get_by_label("Update on checkout-api")
    await message.press_sequentially("Fix deployed, watching")
    await expect(message).to_be_focused()

    # Another admin resolves the other incident: the monitor announces it on the live stream
    # and the page redraws the list with it resolved.
    headers = {"Authorization": f"Bearer {stack.admin_key}"}
    async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=30) as http:
        resolved = await http.post(
            f"/api/v1/health/incidents/{other_id}/updates",
            json={"state": "resolved", "message": "Relay restarted"},
        )
    assert resolved.status_code == 201, resolved.text
    await expect(other).to_have_class("resolved")

    # What was typed is still there, focused, with the caret where it was: typing goes on.
    await expect(message).to_have_value("Fix deployed, watching")
    await expect(item.get_by_label("State of checkout-api")).to_have_value("monitoring")
    await expect(message).to_be_focused()
    await message.press_sequentially(" for an hour")
    await expect(message).to_have_value("Fix deployed, watching for an hour")
    await item.scroll_into_view_if_needed()
    await shot(page, "incident-typing-kept")

    await item.get_by_role("button", name="Post update").click()
    await expect(item.locator(".incident-state")).to_have_text("monitoring")
    await expect(item.locator("ol.updates > li").last).to_contain_text(
        "Fix deployed, watching for an hour"
    )
    await expect(message).to_have_value("")
    assert _incident(stack, typing_id)["updates"][-1]["message"] == (
        "Fix deployed, watching for an hour"
    )


async def test_each_location_of_a_check_shows_under_its_row(page: Page, stack: Stack) -> None:
    await seen_from(
        stack.info["database_url"],
        "lookout-tables",
        {
            "eu-west": ("healthy", False),
            "old-dc": ("healthy", False),
            "us-east": ("unhealthy", True),
        },
    )
    # old-dc stopped running the check 10 minutes ago: beyond the quorum window, stale.
    connection = await asyncpg.connect(stack.info["database_url"])
    try:
        await connection.execute(
            "UPDATE health_location_verdicts SET updated_at = now() - interval '10 minutes'"
            " WHERE location = 'old-dc'"
        )
    finally:
        await connection.close()
    located = stack.api("/api/v1/health/checks/lookout-tables/locations")
    assert isinstance(located, list)
    assert [(entry["location"], entry["stale"]) for entry in located] == [
        ("eu-west", False),
        ("old-dc", True),
        ("us-east", False),
    ]
    checks = stack.api("/api/v1/health/checks")
    assert isinstance(checks, list)
    assert len(checks) > 1  # else one request per check would be one request too
    requested: list[str] = []
    page.on("request", lambda request: requested.append(urlsplit(request.url).path))

    await sign_in(page, stack, stack.viewer_key)
    await page.click("#tab-health")
    lines = page.locator('#hl-checks tr[data-locations-of="lookout-tables"] li[data-location]')
    await expect(lines).to_have_count(3)

    # Every check's locations in one request each time the tab loads its checks.
    async def one_locations_read_per_load() -> bool:
        return requested.count("/api/v1/health/locations") == requested.count(
            "/api/v1/health/checks"
        )

    await eventually(one_locations_read_per_load, 10)
    per_check = re.compile(r"/api/v1/health/checks/[^/]+/locations")
    assert [path for path in requested if per_check.fullmatch(path)] == []
    for line, entry in zip(await lines.all(), located, strict=True):
        await expect(line).to_have_attribute("data-location", entry["location"])
        await expect(line.locator("strong")).to_have_text(entry["location"])
        await expect(line.locator(".badge")).to_have_text(entry["latest"]["status"])
        if entry["stale"]:  # greyed, since when its location has been silent
            await expect(line).to_have_class("stale")
            await expect(line.locator(".verdict")).to_contain_text("stale since ")
        else:
            await expect(line).not_to_have_class("stale")
            await expect(line.locator(".verdict")).to_contain_text(
                "failing since " if entry["failing"] else "up since "
            )
        await expect(line.locator(".message")).to_have_text(entry["latest"]["message"])
    # One row per check still, and a check seen from one location has no lines under it.
    await expect(page.locator("#hl-checks tbody tr[data-check]")).to_have_count(len(checks))
    await expect(page.locator('#hl-checks tr[data-locations-of="postgres"]')).to_have_count(0)
    await page.locator('#hl-checks tr[data-check="lookout-tables"]').scroll_into_view_if_needed()
    await shot(page, "health-locations")


async def test_a_viewer_sees_an_incidents_lifecycle_without_controls(
    page: Page, stack: Stack
) -> None:
    incident_id = await _open_incident(stack, "search-index")
    # An admin acknowledges it and posts an update through the API.
    headers = {"Authorization": f"Bearer {stack.admin_key}"}
    async with httpx.AsyncClient(base_url=stack.url, headers=headers, timeout=30) as http:
        acked = await http.post(f"/api/v1/health/incidents/{incident_id}/ack")
        assert acked.status_code == 200, acked.text
        updated = await http.post(
            f"/api/v1/health/incidents/{incident_id}/updates",
            json={"state": "monitoring", "message": "Index rebuilt; watching"},
        )
        assert updated.status_code == 201, updated.text
    incident = _incident(stack, incident_id)

    await sign_in(page, stack, stack.viewer_key)
    await page.click("#tab-health")
    item = page.locator(f'#hl-incidents > li[data-incident="{incident_id}"]')
    await expect(item.locator(".incident-state")).to_have_text("monitoring")
    await expect(item.locator(".incident-ack")).to_contain_text(
        f"Acknowledged by {incident['acknowledgedBy']} at "
    )
    await expect(item.locator(".incident-reminders")).to_have_text("2 reminders sent")
    updates = item.locator("ol.updates > li")
    await expect(updates).to_have_count(len(incident["updates"]))
    await expect(updates.last).to_contain_text("Index rebuilt; watching")
    await expect(item.locator("button")).to_have_count(0)
    await expect(item.locator("select, input")).to_have_count(0)
    await item.scroll_into_view_if_needed()
    await shot(page, "incident-viewer")
