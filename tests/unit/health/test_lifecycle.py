"""The incident lifecycle's pure core: which state changes an admin may make, and when
reminders and the escalation are due (lookout_health.lifecycle)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lookout_health.lifecycle import (
    IncidentState,
    OpenIncident,
    TransitionRefused,
    due,
    next_state,
)

S = IncidentState
ALLOWED = [
    (S.INVESTIGATING, S.INVESTIGATING),  # a new message, same state
    (S.INVESTIGATING, S.IDENTIFIED),
    (S.INVESTIGATING, S.MONITORING),  # skipping a state is fine
    (S.INVESTIGATING, S.RESOLVED),
    (S.IDENTIFIED, S.IDENTIFIED),
    (S.IDENTIFIED, S.MONITORING),
    (S.IDENTIFIED, S.RESOLVED),
    (S.MONITORING, S.MONITORING),
    (S.MONITORING, S.RESOLVED),
    (S.MONITORING, S.INVESTIGATING),  # the fix did not hold
]
REFUSED = [
    (S.IDENTIFIED, S.INVESTIGATING, "cannot go back from identified to investigating"),
    (S.MONITORING, S.IDENTIFIED, "cannot go back from monitoring to identified"),
    (S.RESOLVED, S.INVESTIGATING, "resolved is final"),
    (S.RESOLVED, S.RESOLVED, "resolved is final"),
    (S.RESOLVED, S.MONITORING, "resolved is final"),
    (S.RESOLVED, S.IDENTIFIED, "resolved is final"),
]


@pytest.mark.parametrize(("current", "requested"), ALLOWED)
def test_allowed_updates_move_the_incident_to_the_requested_state(current, requested) -> None:
    assert next_state(current, requested) is requested


@pytest.mark.parametrize(("current", "requested", "reason"), REFUSED)
def test_other_updates_are_refused_with_the_reason(current, requested, reason) -> None:
    with pytest.raises(TransitionRefused, match=reason):
        next_state(current, requested)


def test_every_pair_of_states_is_either_allowed_or_refused_as_listed() -> None:
    listed = {(c, r) for c, r in ALLOWED} | {(c, r) for c, r, _ in REFUSED}
    assert listed == {(c, r) for c in S for r in S}


OPENED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return OPENED + timedelta(seconds=seconds)


def test_a_reminder_is_due_every_interval_after_the_opening_or_the_last_reminder() -> None:
    fresh = OpenIncident(OPENED, reminded_at=None, escalated_at=None)
    assert not due(fresh, at(59), reminder_s=60, escalate_after_s=0).remind
    assert due(fresh, at(60), reminder_s=60, escalate_after_s=0).remind
    reminded = OpenIncident(OPENED, reminded_at=at(60), escalated_at=None)
    assert not due(reminded, at(119), reminder_s=60, escalate_after_s=0).remind
    assert due(reminded, at(120), reminder_s=60, escalate_after_s=0).remind


def test_the_escalation_is_due_once_after_its_delay() -> None:
    fresh = OpenIncident(OPENED, reminded_at=None, escalated_at=None)
    assert not due(fresh, at(299), reminder_s=0, escalate_after_s=300).escalate
    assert due(fresh, at(300), reminder_s=0, escalate_after_s=300).escalate
    escalated = OpenIncident(OPENED, reminded_at=None, escalated_at=at(300))
    assert not due(escalated, at(10_000), reminder_s=0, escalate_after_s=300).escalate


def test_zero_turns_reminders_and_escalation_off() -> None:
    fresh = OpenIncident(OPENED, reminded_at=None, escalated_at=None)
    assert due(fresh, at(86_400), reminder_s=0, escalate_after_s=0) == due(
        fresh, at(0), reminder_s=60, escalate_after_s=60
    )
    assert not due(fresh, at(86_400), reminder_s=0, escalate_after_s=0).remind
