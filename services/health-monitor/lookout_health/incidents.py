"""The pure core: a check's run outcomes in, its status and incident transitions out.

A failure is `degraded` until `failures_before_incident` failures in a row, then
`unhealthy` and an incident opens. `successes_before_resolve` successes in a row
resolve it. A check that alternates never reaches the threshold: no incident
(flapping is absorbed). A success slower than `degraded_after_ms` is `degraded` but
counts as a success, and so is a success its probe flagged (`degraded=True`: a
certificate that expires soon).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.config import CheckBase


class Transition(StrEnum):
    OPEN = "opened"
    UPDATE = "updated"
    RESOLVE = "resolved"


@dataclass(frozen=True)
class CheckState:
    failures: int = 0  # consecutive
    successes: int = 0  # consecutive
    incident_open: bool = False
    last_status: CheckStatus | None = None
    last_message: str = ""


@dataclass(frozen=True)
class Observation:
    status: CheckStatus
    transition: Transition | None
    state: CheckState


def observe(
    state: CheckState,
    check: CheckBase,
    *,
    succeeded: bool,
    response_time_ms: float,
    message: str,
    degraded: bool = False,
) -> Observation:
    """The status of this run and whether an incident opens, changes or resolves."""
    if succeeded:
        failures, successes = 0, state.successes + 1
        slow = check.degraded_after_ms is not None and response_time_ms > check.degraded_after_ms
        status = CheckStatus.DEGRADED if slow or degraded else CheckStatus.HEALTHY
    else:
        failures, successes = state.failures + 1, 0
        reached = failures >= check.failures_before_incident
        status = CheckStatus.UNHEALTHY if reached else CheckStatus.DEGRADED

    transition: Transition | None = None
    incident_open = state.incident_open
    if not incident_open and failures >= check.failures_before_incident:
        transition, incident_open = Transition.OPEN, True
    elif incident_open and successes >= check.successes_before_resolve:
        transition, incident_open = Transition.RESOLVE, False
    elif incident_open and (status != state.last_status or message != state.last_message):
        transition = Transition.UPDATE

    new_state = replace(
        state,
        failures=failures,
        successes=successes,
        incident_open=incident_open,
        last_status=status,
        last_message=message,
    )
    return Observation(status, transition, new_state)


def restored_state(check: CheckBase, incident_open: bool) -> CheckState:
    """State after a monitor restart: an open incident stays open (and is never opened
    twice) until the check succeeds `successes_before_resolve` times in a row."""
    if not incident_open:
        return CheckState()
    return CheckState(
        failures=check.failures_before_incident,
        incident_open=True,
        last_status=CheckStatus.UNHEALTHY,
    )
