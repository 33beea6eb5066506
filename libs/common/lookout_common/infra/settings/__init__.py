"""Settings: one pydantic-settings class per service, all read from `LOOKOUT_*`.

The shared base is in `base`, each service's class in a module of its own (`ingest`,
`aggregator`, `health`, `alerts`, `backup`, `dashboard`, `stack`). Import them from
here: `from lookout_common.infra.settings import IngestSettings` is the stable path.
`__all__` lists every settings class (the deployment checks collect the `LOOKOUT_*` names
from it); each class keeps the `__module__` of the module that defines it.

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
