"""Check outcomes into statuses and incident transitions (the pure core)."""

from __future__ import annotations

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.config import TcpCheck
from lookout_health.incidents import CheckState, Transition, observe, restored_state

CHECK = TcpCheck(name="smtp", kind="tcp", host="mail", port=25, degraded_after_ms=200)


def run(outcomes: str, state: CheckState | None = None, check=CHECK):
    """Feed 'F' (failed), 'S' (succeeded fast) and 's' (succeeded slowly) runs."""
    state = state or CheckState()
    seen = []
    for outcome in outcomes:
        observation = observe(
            state,
            check,
            succeeded=outcome != "F",
            response_time_ms=500 if outcome == "s" else 20,
            message="down" if outcome == "F" else "up",
        )
        state = observation.state
        seen.append((observation.status, observation.transition))
    return seen, state


def test_failures_are_degraded_until_the_threshold_then_unhealthy_and_an_incident_opens():
    seen, state = run("FFF")
    assert [status for status, _ in seen] == [
        CheckStatus.DEGRADED,
        CheckStatus.DEGRADED,
        CheckStatus.UNHEALTHY,
    ]
    assert [transition for _, transition in seen] == [None, None, Transition.OPEN]
    assert state.incident_open


def test_incident_resolves_after_two_successes_in_a_row():
    seen, state = run("FFFSFSS")
    transitions = [transition for _, transition in seen]
    assert transitions.count(Transition.OPEN) == 1
    assert transitions[-1] is Transition.RESOLVE
    assert not state.incident_open


def test_flapping_below_the_threshold_opens_nothing():
    seen, state = run("FSFSFFSFFS" * 3)
    assert all(transition is None for _, transition in seen)
    assert not state.incident_open


def test_further_failures_do_not_open_a_second_incident():
    seen, _ = run("FFFFFFFF")
    assert [t for _, t in seen].count(Transition.OPEN) == 1


def test_slow_success_is_degraded_but_counts_towards_resolving():
    seen, state = run("FFFss")
    assert seen[-1] == (CheckStatus.DEGRADED, Transition.RESOLVE)
    assert not state.incident_open


def test_change_while_open_is_recorded_as_an_update():
    _, state = run("FFF")
    observation = observe(state, CHECK, succeeded=False, response_time_ms=1, message="refused")
    assert observation.transition is Transition.UPDATE
    same = observe(observation.state, CHECK, succeeded=False, response_time_ms=1, message="refused")
    assert same.transition is None


def test_thresholds_come_from_the_check():
    eager = CHECK.model_copy(update={"failures_before_incident": 1, "successes_before_resolve": 1})
    seen, _ = run("FS", check=eager)
    assert [t for _, t in seen] == [Transition.OPEN, Transition.RESOLVE]


def test_after_a_restart_an_open_incident_is_neither_reopened_nor_resolved_by_one_success():
    state = restored_state(CHECK, incident_open=True)
    seen, state = run("F", state)
    assert seen[0][0] is CheckStatus.UNHEALTHY
    assert seen[0][1] is not Transition.OPEN
    seen, state = run("SS", state)
    assert seen[-1][1] is Transition.RESOLVE
