"""The pure core of an incident's life after it opens: the states an admin moves it
through, and when a reminder or an escalation is due.

States: investigating -> identified -> monitoring -> resolved. An update may keep the
state (a new message) or move it forward, skipping states; the one step back allowed
is monitoring -> investigating (the fix did not hold). `resolved` is final: a problem
that comes back opens a new incident.

While an incident is open and nobody acknowledged it, a reminder is due every
`reminder_s` after the last one (or the opening), and one escalation is due
`escalate_after_s` after the opening. Acknowledging stops both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class IncidentState(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


ORDER = list(IncidentState)
# The only step back: a fix that was being monitored did not hold.
BACK_STEPS = {(IncidentState.MONITORING, IncidentState.INVESTIGATING)}


class TransitionRefused(ValueError):
    """An update that would move an incident to a state it may not reach from here."""


def next_state(current: IncidentState, requested: IncidentState) -> IncidentState:
    """`requested` when an update may move an incident there from `current`, else
    `TransitionRefused` with the reason."""
    if current is IncidentState.RESOLVED:
        raise TransitionRefused(
            "the incident is resolved, and resolved is final; a new failure opens a new incident"
        )
    if ORDER.index(requested) >= ORDER.index(current) or (current, requested) in BACK_STEPS:
        return requested
    raise TransitionRefused(
        f"an incident cannot go back from {current.value} to {requested.value}; the only step"
        " back is monitoring -> investigating"
    )


@dataclass(frozen=True)
class OpenIncident:
    """What the reminder loop knows of an open, unacknowledged incident."""

    opened_at: datetime
    reminded_at: datetime | None
    escalated_at: datetime | None


@dataclass(frozen=True)
class Due:
    remind: bool
    escalate: bool


def due(
    incident: OpenIncident,
    now: datetime,
    *,
    reminder_s: float,
    escalate_after_s: float,
) -> Due:
    """Whether a reminder and the escalation are due now (0 s turns either off)."""
    last = incident.reminded_at or incident.opened_at
    remind = reminder_s > 0 and now - last >= timedelta(seconds=reminder_s)
    escalate = (
        escalate_after_s > 0
        and incident.escalated_at is None
        and now - incident.opened_at >= timedelta(seconds=escalate_after_s)
    )
    return Due(remind=remind, escalate=escalate)
