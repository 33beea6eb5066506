"""The health-monitor process: config (file or defaults), the schedules under a leader
lease, the API, and `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from lookout_common.infra.apikeys import KeyCache
from lookout_common.infra.db import create_pool, database_reachable
from lookout_common.infra.kafka import broker_reachable, make_broker, start_with_retry
from lookout_common.infra.leader import LeaderLease
from lookout_common.infra.service import add_probe_routes, api_docs
from lookout_common.infra.settings import HealthMonitorSettings
from lookout_common.infra.supervise import Supervisor
from lookout_health.api import VERSION, CachedAnswer, build_router
from lookout_health.checks.custom import registered_checks
from lookout_health.config import HealthConfig
from lookout_health.defaults import default_config
from lookout_health.monitor import Monitor
from lookout_health.reload import ConfigState, ConfigWatcher


def create_app(settings: HealthMonitorSettings | None = None) -> FastAPI:
    settings = settings or HealthMonitorSettings()
    loops = Supervisor.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await create_pool(settings)
        broker = make_broker(settings, client_id="lookout-health")
        await start_with_retry(broker, settings)
        async with (
            loops,
            LeaderLease(settings, "health-monitor", retry_s=2.0, supervisor=loops) as lease,
        ):
            monitor = Monitor(
                pool, broker, settings.topic_prefix, lambda: lease.is_leader, supervisor=loops
            )

            def apply(config: HealthConfig) -> None:
                # Checks registered in code with add_custom_check run alongside the file's.
                names = {check.name for check in config.checks}
                extra = [c for c in registered_checks() if c.name not in names]
                monitor.apply(HealthConfig(checks=[*config.checks, *extra]))

            app.state.pool, app.state.monitor = pool, monitor
            app.state.keys = KeyCache(pool, 30.0)
            app.state.public_health = CachedAnswer(settings.health_status_cache_s)
            if settings.health_config is not None:
                watcher = ConfigWatcher(
                    settings.health_config, apply, settings.health_config_poll_s
                )
                watcher.load()  # an invalid file at start-up stops the process, loudly
                app.state.config_state = lambda: watcher.state
                loops.spawn("health-config-reload", watcher.watch)
            else:
                config = default_config(settings)
                apply(config)
                defaults = ConfigState(path=None, checks=[c.name for c in config.checks])
                app.state.config_state = lambda: defaults
            try:
                yield
            finally:
                await monitor.stop()
        await broker.stop()
        await pool.close()

    app = FastAPI(
        title="Lookout health-monitor",
        version=VERSION,
        description="Probes every dependency, keeps history, computes status and uptime, "
        "opens and resolves incidents.",
        lifespan=lifespan,
        **api_docs(settings),
    )
    add_probe_routes(
        app,
        "health-monitor",
        lambda: {
            "postgres": lambda: database_reachable(app.state.pool),
            "kafka": lambda: broker_reachable(settings),
        },
        loops=loops,
    )
    app.include_router(build_router())
    return app
