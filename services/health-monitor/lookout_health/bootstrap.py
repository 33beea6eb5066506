"""Wiring in one place: the health monitor's dependencies, built once in the lifespan
into a typed `Services`, and the `Depends` getters the routes take them from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated

import asyncpg
from fastapi import Depends

from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.db import create_pool
from lookout_common.infra.kafka import make_broker, start_with_retry
from lookout_common.infra.leader import LeaderLease
from lookout_common.infra.service import AppServices, distribution_version
from lookout_common.infra.settings import HealthMonitorSettings
from lookout_common.infra.supervise import Supervisor
from lookout_health.cache import Cached
from lookout_health.checks.custom import registered_checks
from lookout_health.config import HealthConfig
from lookout_health.defaults import default_config
from lookout_health.monitor import Monitor
from lookout_health.quorum import Quorum
from lookout_health.reload import ConfigState, ConfigWatcher
from lookout_health.reminders import Reminders
from lookout_health.rolling_cache import RollingUptime
from lookout_health.status import PublicHealth
from lookout_health.status_page.model import StatusPage
from lookout_health.status_page.settings import StatusPageSettings, status_page_settings

VERSION = distribution_version("lookout-health-monitor")


@dataclass(frozen=True)
class Services:
    """Everything a route or loop of the health monitor needs, built once per process."""

    settings: HealthMonitorSettings
    pool: asyncpg.Pool
    monitor: Monitor
    keys: KeyCache
    public_health: Cached[tuple[PublicHealth, int]]
    config_state: Callable[[], ConfigState]
    status_settings: StatusPageSettings = field(default_factory=status_page_settings)
    rolling_uptime: RollingUptime = field(default_factory=RollingUptime)

    @cached_property
    def status_page(self) -> Cached[StatusPage]:
        """The page, kept for `status_settings.status_cache_s`: derived from the settings
        this object holds, so the two cannot disagree."""
        return Cached(self.status_settings.status_cache_s)


@asynccontextmanager
async def bootstrap(settings: HealthMonitorSettings, loops: Supervisor) -> AsyncIterator[Services]:
    """Pool, broker, the supervised loops, leader lease (one per location), monitor and
    config (file or defaults). On the way out the schedules stop first, then the loops,
    and only then the broker and the pool they used."""
    pool = await create_pool(settings)
    broker = make_broker(settings, client_id="lookout-health")
    await start_with_retry(broker, settings)
    quorum = Quorum(
        location=settings.health_location,
        quorum=settings.health_quorum,
        window_s=settings.health_quorum_window_s,
    )
    async with (
        loops,
        LeaderLease(settings, quorum.lease, retry_s=2.0, supervisor=loops) as lease,
    ):
        monitor = Monitor(
            pool,
            broker,
            settings.topic_prefix,
            lambda: lease.is_leader,
            supervisor=loops,
            quorum=quorum,
        )

        def apply(config: HealthConfig) -> None:
            # Checks registered in code with add_custom_check run alongside the file's.
            names = {check.name for check in config.checks}
            extra = [c for c in registered_checks() if c.name not in names]
            monitor.apply(HealthConfig(checks=[*config.checks, *extra]))

        queued = monitor.feed.incident_recorded if monitor.feed is not None else lambda: None
        reminders = Reminders(pool, settings, lambda: lease.is_leader, queued)
        loops.spawn("health-incident-reminders", reminders.run)

        config_state: Callable[[], ConfigState]
        if settings.health_config is not None:
            watcher = ConfigWatcher(settings.health_config, apply, settings.health_config_poll_s)
            watcher.load()  # an invalid file at start-up stops the process, loudly
            config_state = lambda: watcher.state  # noqa: E731 - the watcher's current state
            loops.spawn("health-config-reload", watcher.watch)
        else:
            config = default_config(settings)
            apply(config)
            defaults = ConfigState(path=None, checks=[c.name for c in config.checks])
            config_state = lambda: defaults  # noqa: E731
        rolling_uptime = RollingUptime()  # /checks' settled sums, filled by its own loop
        loops.spawn(
            "health-rolling-uptime", lambda: rolling_uptime.keep(pool, lambda: monitor.checks)
        )
        try:
            yield Services(
                settings=settings,
                pool=pool,
                monitor=monitor,
                keys=KeyCache(pool, 30.0),
                public_health=Cached(settings.health_status_cache_s),
                config_state=config_state,
                rolling_uptime=rolling_uptime,
            )
        finally:
            await monitor.stop()
    await broker.stop()
    await pool.close()


# Where the lifespan keeps the services, and the typed getters routes take them from
# (`get_pool`, `get_monitor` and `get_rolling_uptime` by name too: tests override them).
app_services = AppServices(Services)
get_services = app_services.get
get_pool = app_services.getter(lambda services: services.pool)
get_monitor = app_services.getter(lambda services: services.monitor)
get_rolling_uptime = app_services.getter(lambda services: services.rolling_uptime)
ServicesDep = Annotated[Services, app_services.depends()]
PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
MonitorDep = Annotated[Monitor, Depends(get_monitor)]
RollingUptimeDep = Annotated[RollingUptime, Depends(get_rolling_uptime)]
