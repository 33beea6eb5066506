"""Settings: one pydantic-settings class per service, all read from `LOOKOUT_*`.

The shared base is in `base`, each service's class in a module of its own (`ingest`,
`aggregator`, `health`, `alerts`, `backup`, `dashboard`, `stack`). Import them from
here: `from lookout_common.infra.settings import IngestSettings` is the stable path.

Defaults point at the embedded stack (`lookout up`). Secrets are `SecretStr`, so they
never appear in logs or reprs.
"""

from lookout_common.infra.settings.aggregator import AggregatorSettings
from lookout_common.infra.settings.alerts import AlertSettings
from lookout_common.infra.settings.backup import BackupWorkerSettings
from lookout_common.infra.settings.base import LookoutSettings
from lookout_common.infra.settings.dashboard import CORS_ORIGIN, DashboardSettings
from lookout_common.infra.settings.health import HealthMonitorSettings
from lookout_common.infra.settings.ingest import IngestSettings
from lookout_common.infra.settings.stack import StackSettings

__all__ = [
    "CORS_ORIGIN",
    "AggregatorSettings",
    "AlertSettings",
    "BackupWorkerSettings",
    "DashboardSettings",
    "HealthMonitorSettings",
    "IngestSettings",
    "LookoutSettings",
    "StackSettings",
]

# Every class says it lives here, its public home, as it did when this was one module:
# reprs, pickles and whatever lists this package's classes by their `__module__` (the
# deployment tests collect every `LOOKOUT_*` name that way) see one place. The modules
# evaluate their annotations when the classes are made (no `from __future__ import
# annotations`), so `typing.get_type_hints` never looks them up in this namespace.
for _settings_class in (
    AggregatorSettings,
    AlertSettings,
    BackupWorkerSettings,
    DashboardSettings,
    HealthMonitorSettings,
    IngestSettings,
    LookoutSettings,
    StackSettings,
):
    _settings_class.__module__ = __name__
del _settings_class
