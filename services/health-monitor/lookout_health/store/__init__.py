"""The SQL the health monitor owns, one module per group of tables: `results` (check
results, the latest per check and location, response times), `incidents`
(incidents, their outbox and lifecycle, maintenance windows) and `locations` (the
verdict of each location and the quorum lock). Import the module you need.

The status page still reads `MAX_RESULT_SPAN` and `maintenance_windows` from here, so
those two stay importable from the package."""

from lookout_health.store.incidents import maintenance_windows
from lookout_health.uptime import MAX_RESULT_SPAN

__all__ = ["MAX_RESULT_SPAN", "maintenance_windows"]
