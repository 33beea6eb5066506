"""The pure core of quorum across locations: each location's own state machine
(`incidents.observe`) gives its verdict on a check (failing or not); the verdicts of all
locations decide the check's one incident.

The rule, evaluated by every location on every run of the check:
- the incident should be open exactly while at least `quorum` locations have a failing
  verdict updated within the window;
- only a location that itself sees the check failing opens it (so the incident's first
  finding is a failure), any location resolves it;
- a location whose own verdict stays failing but whose findings change (message or
  status) records an update, as a single monitor does today;
- a result says `unhealthy` only while the incident is open: a location that sees a
  failure the others do not confirm reports it as `degraded`.

With `quorum` 1 and one location this is exactly the single monitor's behaviour, and the
monitor then takes the single-location path without keeping any verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.incidents import Transition

DEFAULT_LOCATION = "default"
LEASE = "health-monitor"
# How long a stale verdict (one not updated within the window) is still listed, as stale,
# before retention deletes it.
STALE_VERDICTS_KEPT_S = 86400.0


@dataclass(frozen=True)
class Quorum:
    """Where this monitor probes from and how many locations must agree."""

    location: str = DEFAULT_LOCATION
    quorum: int = 1
    window_s: float = 300.0

    @property
    def keeps_verdicts(self) -> bool:
        """Whether locations are in play: a named location or a quorum above one. The
        default (one location, quorum 1) keeps no verdicts and runs as it always did."""
        return self.location != DEFAULT_LOCATION or self.quorum > 1

    @property
    def verdicts_kept_s(self) -> float:
        """Verdicts not updated for this long are deleted: a day after they went stale."""
        return self.window_s + STALE_VERDICTS_KEPT_S

    @property
    def lease(self) -> str:
        """The leader lease: one per location, so every location runs each check once
        while its other replicas stand by (the default location keeps today's name)."""
        return LEASE if self.location == DEFAULT_LOCATION else f"{LEASE}@{self.location}"


def quorum_transition(
    *,
    incident_open: bool,
    failing_here: bool,
    failing_locations: int,
    quorum: int,
    local: Transition | None,
) -> Transition | None:
    """The transition of the check's incident after this location's run.

    `failing_locations` counts the failing verdicts updated within the window, this
    location's own (just written) included; `local` is what this location's state machine
    said for its own run."""
    met = failing_locations >= quorum
    if not incident_open:
        return Transition.OPEN if met and failing_here else None
    if not met:
        return Transition.RESOLVE
    if failing_here and local in (Transition.OPEN, Transition.UPDATE):
        return Transition.UPDATE
    return None


def incident_open_after(incident_open: bool, transition: Transition | None) -> bool:
    if transition is None:
        return incident_open
    return transition is not Transition.RESOLVE


def reported_status(status: CheckStatus, *, confirmed: bool) -> CheckStatus:
    """The status a location's result carries: `unhealthy` only when the quorum confirmed
    it (the incident is open), otherwise a failure is `degraded`."""
    if status is CheckStatus.UNHEALTHY and not confirmed:
        return CheckStatus.DEGRADED
    return status
