"""The status page as HTML (no script needed: the bars' details are in their titles and
in tooltips shown on hover and on keyboard focus) and its incidents as an Atom feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from html import escape
from importlib import resources
from xml.etree import ElementTree

from lookout_health.status_page.model import DayBar, LocationState, PublicIncident, StatusPage

ATOM = "http://www.w3.org/2005/Atom"
# Feed and entry ids are stable URNs: the same incident keeps its id whatever URL serves it.
FEED_NAMESPACE = uuid.UUID("6f1c2b0e-8d4a-5c3e-9b1f-2a7d4e6c8b90")
LABEL = {
    "operational": "Operational",
    "degraded": "Degraded performance",
    "outage": "Outage",
    "maintenance": "Under maintenance",
    "unknown": "No data yet",
    "nodata": "No data",
}
HEADLINE = {
    "operational": "All systems operational",
    "degraded": "Some systems are degraded",
    "outage": "Some systems are down",
    "maintenance": "Scheduled maintenance in progress",
    "unknown": "Waiting for the first checks",
}


@cache
def stylesheet() -> str:
    return resources.files(__package__).joinpath("static/status.css").read_text(encoding="utf-8")


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def _time(at: datetime) -> str:
    return f'<time datetime="{at.isoformat()}">{escape(_when(at))}</time>'


def bar_summary(day: DayBar) -> str:
    """The text of a day's tooltip: date, state, uptime and incidents."""
    uptime = "no data" if day.uptime_pct is None else f"{day.uptime_pct:.2f}% uptime"
    parts = [day.date, LABEL[day.state], uptime]
    if day.maintenance_s:
        parts.append(f"{day.maintenance_s / 60:.0f} min maintenance")
    if day.incidents:
        listed = ", ".join(f"#{i}" for i in day.incidents)
        parts.append(f"{len(day.incidents)} incident{'s' * (len(day.incidents) > 1)} ({listed})")
    else:
        parts.append("no incidents")
    return " · ".join(parts)


def bar_item(day: DayBar) -> str:
    """A day's item in its component's bar, its summary as the tooltip."""
    tip = escape(bar_summary(day))
    return (
        f'<li class="day {day.state}" tabindex="0" title="{tip}" data-tip="{tip}" '
        f'aria-label="{tip}"></li>'
    )


def locations_line(locations: list[LocationState]) -> str:
    """Each location's state on one line (`jakarta: operational · singapore: outage`);
    nothing when only one location reports."""
    if not locations:
        return ""
    listed = " · ".join(
        f'<span class="{item.state}">{escape(item.location)}: {LABEL[item.state].lower()}</span>'
        for item in locations
    )
    return f'<p class="locations">{listed}</p>'


def _incident(incident: PublicIncident) -> str:
    entries = "".join(
        f"<li><strong>{escape(entry.state.capitalize())}</strong> {_time(entry.at)}"
        + (f"<p>{escape(entry.message)}</p>" if entry.message else "")
        + "</li>"
        for entry in reversed(incident.timeline)
    )
    resolved = f" · resolved {_time(incident.resolved_at)}" if incident.resolved_at else ""
    return (
        f'<article class="incident state-{escape(incident.state)}" id="incident-{incident.id}">'
        f"<h3>{escape(incident.component)} <span>#{incident.id} · "
        f"{escape(incident.state)}</span></h3>"
        f'<p class="when">opened {_time(incident.opened_at)}{resolved}</p>'
        f'<ol class="timeline">{entries}</ol></article>'
    )


def render_html(page: StatusPage, *, title: str, links: dict[str, str]) -> str:
    components = []
    for component in page.components:
        bars = component.bars_markup(bar_item)
        uptime = (
            "no data"
            if component.uptime_90d_pct is None
            else f"{component.uptime_90d_pct:.2f}% uptime"
        )
        components.append(
            f'<section class="component" data-component="{escape(component.name)}">'
            f'<header><h3>{escape(component.name)}</h3><span class="badge {component.state}">'
            f"{LABEL[component.state]}</span></header>"
            f"{locations_line(component.locations)}"
            f'<ol class="bars" aria-label="{escape(component.name)}: the last 90 days">'
            f"{bars}</ol>"
            f'<p class="legend"><span>90 days ago</span><span>{uptime}</span>'
            f"<span>Today</span></p></section>"
        )
    active = "".join(_incident(i) for i in page.active_incidents) or (
        '<p class="none">No active incidents.</p>'
    )
    recent = "".join(_incident(i) for i in page.recent_incidents) or (
        '<p class="none">No incidents in the last 90 days.</p>'
    )
    windows = "".join(
        f'<li class="{"active" if w.active else "planned"}">{_time(w.starts_at)} to '
        f"{_time(w.ends_at)}: {escape(w.reason)}"
        f"{' (in progress)' if w.active else ''}</li>"
        for w in page.maintenance
    )
    maintenance = f"<ul>{windows}</ul>" if windows else '<p class="none">None scheduled.</p>'
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="alternate" type="application/atom+xml" title="Incidents" '
        f'href="{escape(links["feed"])}">'
        f"<style>{stylesheet()}</style></head><body>"
        f"<main><h1>{escape(title)}</h1>"
        f'<p class="overall {page.state}" role="status">{HEADLINE[page.state]}</p>'
        f'<h2>Active incidents</h2><div id="active">{active}</div>'
        f'<h2>Scheduled maintenance</h2><div id="maintenance">{maintenance}</div>'
        f'<h2>Components</h2><div id="components">{"".join(components)}</div>'
        f'<h2>Past incidents</h2><div id="recent">{recent}</div>'
        f'<footer>Updated {_time(page.generated_at)} · <a href="{escape(links["json"])}">JSON</a>'
        f' · <a href="{escape(links["feed"])}">Atom feed</a></footer>'
        "</main></body></html>"
    )


def _entry_id(incident_id: int) -> str:
    return uuid.uuid5(FEED_NAMESPACE, f"incident:{incident_id}").urn


def render_atom(page: StatusPage, *, title: str, links: dict[str, str]) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of the active and last 90 days' incidents."""
    ElementTree.register_namespace("", ATOM)

    def add(
        parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str
    ) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        element.text = text
        return element

    incidents = sorted(
        [*page.active_incidents, *page.recent_incidents], key=lambda i: i.updated_at, reverse=True
    )
    feed = ElementTree.Element(f"{{{ATOM}}}feed")
    add(feed, "title", f"{title}: incidents")
    add(feed, "id", uuid.uuid5(FEED_NAMESPACE, "feed").urn)
    updated = max([i.updated_at for i in incidents], default=page.generated_at)
    add(feed, "updated", updated.isoformat())
    add(feed, "link", rel="self", href=links["feed"], type="application/atom+xml")
    add(feed, "link", rel="alternate", href=links["page"], type="text/html")
    author = add(feed, "author")
    add(author, "name", title)
    for incident in incidents:
        entry = add(feed, "entry")
        state = "resolved" if incident.resolved_at else incident.state
        add(entry, "title", f"{incident.component}: {state}")
        add(entry, "id", _entry_id(incident.id))
        add(entry, "published", incident.opened_at.isoformat())
        add(entry, "updated", incident.updated_at.isoformat())
        add(entry, "link", rel="alternate", href=f"{links['page']}#incident-{incident.id}")
        lines = [
            f"{_when(item.at)}: {item.state}" + (f". {item.message}" if item.message else "")
            for item in incident.timeline
        ]
        add(entry, "summary", "\n".join(lines) or state, type="text")
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
