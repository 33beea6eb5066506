"""The quorum rule: a check's incident is open exactly while at least `quorum` locations
see it failing; only a failing location opens it, any location resolves it, and a
failure the quorum has not confirmed is reported as degraded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from lookout_common.contracts.health_events import CheckResult, CheckStatus
from lookout_common.infra.settings import HealthMonitorSettings
from lookout_health.config import TcpCheck
from lookout_health.incidents import CheckState, Transition, observe
from lookout_health.quorum import (
    Quorum,
    incident_open_after,
    quorum_transition,
    reported_status,
)
from lookout_health.status_page.model import location_states
from lookout_health.status_page.render import locations_line


def decide(
    *,
    open_: bool,
    here: bool,
    failing: int,
    quorum: int = 2,
    local: Transition | None = None,
) -> Transition | None:
    return quorum_transition(
        incident_open=open_,
        failing_here=here,
        failing_locations=failing,
        quorum=quorum,
        local=local,
    )


def test_one_failing_location_of_a_quorum_of_two_opens_nothing() -> None:
    assert decide(open_=False, here=True, failing=1, local=Transition.OPEN) is None
    assert decide(open_=False, here=True, failing=1) is None


def test_the_second_failing_location_opens_the_incident() -> None:
    assert decide(open_=False, here=True, failing=2, local=Transition.OPEN) is Transition.OPEN


def test_a_location_already_failing_opens_once_the_quorum_is_met_later() -> None:
    # Its own state machine opened long ago (no local transition now); the count decides.
    assert decide(open_=False, here=True, failing=2, local=None) is Transition.OPEN
    assert decide(open_=False, here=True, failing=3, quorum=3) is Transition.OPEN


def test_a_healthy_location_never_opens_even_when_the_quorum_is_met() -> None:
    assert decide(open_=False, here=False, failing=2) is None
    assert decide(open_=False, here=False, failing=2, local=Transition.RESOLVE) is None


def test_the_incident_resolves_when_fewer_than_the_quorum_still_fail() -> None:
    # A recovered location resolves it ...
    assert decide(open_=True, here=False, failing=1, local=Transition.RESOLVE) is Transition.RESOLVE
    # ... and so does a location still failing alone, on its next run.
    assert decide(open_=True, here=True, failing=1) is Transition.RESOLVE
    assert decide(open_=True, here=False, failing=0) is Transition.RESOLVE


def test_a_location_recovering_while_the_quorum_still_fails_changes_nothing() -> None:
    assert decide(open_=True, here=False, failing=2, local=Transition.RESOLVE) is None
    assert decide(open_=True, here=False, failing=3, quorum=3) is None


def test_a_failing_location_records_its_changed_findings_while_open() -> None:
    assert decide(open_=True, here=True, failing=2, local=Transition.UPDATE) is Transition.UPDATE
    # A location that starts failing while the incident is open adds its finding.
    assert decide(open_=True, here=True, failing=3, local=Transition.OPEN) is Transition.UPDATE
    assert decide(open_=True, here=True, failing=2, local=None) is None


@pytest.mark.parametrize(
    ("local", "open_", "expected"),
    [
        (Transition.OPEN, False, Transition.OPEN),
        (Transition.UPDATE, True, Transition.UPDATE),
        (None, True, None),
        # Still failing after an admin resolved it: a new incident opens, as today.
        (None, False, Transition.OPEN),
    ],
)
def test_with_a_quorum_of_one_a_failing_location_acts_alone(
    local: Transition | None, open_: bool, expected: Transition | None
) -> None:
    assert decide(open_=open_, here=True, failing=1, quorum=1, local=local) is expected


def test_quorum_one_one_location_follows_the_single_state_machine() -> None:
    """Driving the location's own state machine through a failure and a recovery gives
    the same transitions under the quorum rule as it gives alone."""
    check = TcpCheck(
        name="smtp",
        kind="tcp",
        host="mail",
        port=25,
        failures_before_incident=2,
        successes_before_resolve=2,
    )
    state, incident_open = CheckState(), False
    for succeeded in [False, False, False, True, True, False, True]:
        seen = observe(
            state, check, succeeded=succeeded, response_time_ms=5.0, message=str(succeeded)
        )
        change = decide(
            open_=incident_open,
            here=seen.state.incident_open,
            failing=int(seen.state.incident_open),
            quorum=1,
            local=seen.transition,
        )
        assert change is seen.transition
        incident_open = incident_open_after(incident_open, change)
        state = seen.state
    assert not incident_open


def test_an_unconfirmed_failure_is_reported_degraded() -> None:
    assert reported_status(CheckStatus.UNHEALTHY, confirmed=False) is CheckStatus.DEGRADED
    assert reported_status(CheckStatus.UNHEALTHY, confirmed=True) is CheckStatus.UNHEALTHY
    assert reported_status(CheckStatus.HEALTHY, confirmed=True) is CheckStatus.HEALTHY
    assert reported_status(CheckStatus.DEGRADED, confirmed=False) is CheckStatus.DEGRADED


def test_incident_open_after_a_transition() -> None:
    assert incident_open_after(False, Transition.OPEN)
    assert incident_open_after(True, Transition.UPDATE)
    assert not incident_open_after(True, Transition.RESOLVE)
    assert incident_open_after(True, None)
    assert not incident_open_after(False, None)


def test_the_default_location_keeps_todays_lease_and_keeps_no_verdicts() -> None:
    default = Quorum()
    assert default.lease == "health-monitor"
    assert not default.keeps_verdicts
    assert Quorum(location="jakarta").lease == "health-monitor@jakarta"
    assert Quorum(location="jakarta").keeps_verdicts
    assert Quorum(quorum=2).keeps_verdicts


def test_location_and_quorum_settings_are_validated() -> None:
    settings = HealthMonitorSettings(
        health_location="ap-southeast.1", health_quorum=2, health_quorum_window_s=60
    )
    assert (settings.health_location, settings.health_quorum) == ("ap-southeast.1", 2)
    assert HealthMonitorSettings().health_location == "default"
    assert HealthMonitorSettings().health_quorum == 1
    assert HealthMonitorSettings().health_quorum_window_s == 300
    for bad in ({"health_location": "Jakarta"}, {"health_location": "-a"}, {"health_quorum": 0}):
        with pytest.raises(ValidationError):
            HealthMonitorSettings(**bad)
    with pytest.raises(ValidationError):
        HealthMonitorSettings(health_quorum=33)
    with pytest.raises(ValidationError):
        HealthMonitorSettings(health_quorum_window_s=0)


def _result(check: str, location: str, status: CheckStatus) -> CheckResult:
    return CheckResult(
        service=check,
        status=status,
        response_time_ms=3.0,
        message="",
        timestamp=datetime(2026, 12, 1, tzinfo=UTC),
        kind="http",
        location=location,
    )


def test_a_component_shows_each_locations_state_only_with_several_locations() -> None:
    results = {
        "checkout": [("singapore", CheckStatus.UNHEALTHY), ("jakarta", CheckStatus.HEALTHY)],
        "cart": [("jakarta", CheckStatus.DEGRADED)],
        "search": [("jakarta", CheckStatus.UNHEALTHY)],
    }
    states = location_states(["checkout", "cart"], results)
    assert [(s.location, s.state) for s in states] == [
        ("jakarta", "degraded"),
        ("singapore", "outage"),
    ]
    assert location_states(["search"], results) == []
    line = locations_line(states)
    assert "jakarta: degraded performance</span> · " in line
    assert 'class="outage">singapore: outage<' in line
    assert locations_line([]) == ""
