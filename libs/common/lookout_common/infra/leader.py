"""Leader lease: one replica of a service runs its schedules, through a Postgres
session-level advisory lock held on a dedicated connection.

If the leader dies its connection closes and Postgres releases the lock, so a
standby takes over on its next attempt; no clock or heartbeat table is needed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

import asyncpg

from lookout_common.infra.settings import LookoutSettings
from lookout_common.infra.supervise import Supervisor

log = logging.getLogger(__name__)


def lock_id(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for a lease name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class LeaderLease:
    """`async with LeaderLease(...)`, then check `is_leader` before each scheduled run."""

    def __init__(
        self,
        settings: LookoutSettings,
        name: str,
        retry_s: float = 5.0,
        supervisor: Supervisor | None = None,
    ) -> None:
        self._settings = settings
        self._supervisor = supervisor
        self._key = lock_id(f"lookout.leader.{name}")
        self._retry_s = retry_s
        self._connection: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.name = name
        self.is_leader = False

    async def __aenter__(self) -> LeaderLease:
        if self._supervisor is not None:
            self._task = self._supervisor.spawn(f"leader-lease:{self.name}", self._hold)
        else:
            self._task = asyncio.create_task(self._hold(), name=f"leader-lease-{self.name}")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._release()

    async def _hold(self) -> None:
        # (Re)started: whatever an earlier run held is not trusted to be held any more.
        await self._release()
        while True:
            try:
                if self._connection is None or self._connection.is_closed():
                    self.is_leader = False
                    self._connection = await asyncpg.connect(
                        self._settings.dsn(), timeout=self._settings.io_timeout_s
                    )
                if not self.is_leader:
                    self.is_leader = await self._connection.fetchval(
                        "SELECT pg_try_advisory_lock($1)", self._key
                    )
                    if self.is_leader:
                        log.info("leader lease acquired", extra={"lease": self.name})
                else:
                    # Still holding it? A dead connection raises here and we start over.
                    await self._connection.fetchval("SELECT 1", timeout=self._settings.io_timeout_s)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                if self.is_leader:
                    log.warning(
                        "leader lease lost", extra={"lease": self.name, "error": str(error)}
                    )
                self.is_leader = False
                await self._release()
            await asyncio.sleep(self._retry_s)

    async def _release(self) -> None:
        self.is_leader = False
        if self._connection is not None:
            connection, self._connection = self._connection, None
            try:
                await connection.close(timeout=2)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                connection.terminate()
