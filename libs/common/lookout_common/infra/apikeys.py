"""API keys: generated high-entropy, stored only as sha256, each with one role."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

import asyncpg
from prometheus_client import Counter

log = logging.getLogger(__name__)

USE_NOT_RECORDED = Counter(
    "lookout_api_key_use_not_recorded_total",
    "Times a key's last_used_at could not be written (the request went on)",
)


class Role(StrEnum):
    ADMIN = "admin"
    VIEWER = "viewer"
    INGEST = "ingest"


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    role: Role


def hash_key(key: str) -> str:
    # Keys are 190+ bits of randomness, so a fast hash is safe (no brute force to slow).
    return hashlib.sha256(key.encode()).hexdigest()


def generate_key(role: Role) -> str:
    return f"lk_{role.value}_{secrets.token_urlsafe(24)}"


async def create_key(connection: asyncpg.Connection | asyncpg.Pool, role: Role, name: str) -> str:
    """Store a new key's hash and return the key: the only time it is ever visible."""
    key = generate_key(role)
    await connection.execute(
        "INSERT INTO api_keys (name, role, prefix, key_hash) VALUES ($1, $2, $3, $4)",
        name,
        role.value,
        key[:12],
        hash_key(key),
    )
    return key


async def find_key(connection: asyncpg.Connection | asyncpg.Pool, key: str) -> ApiKey | None:
    """The active key matching `key`, or None (unknown or revoked)."""
    row = await connection.fetchrow(
        "SELECT id, name, role FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL",
        hash_key(key),
    )
    return None if row is None else ApiKey(row["id"], row["name"], Role(row["role"]))


async def key_active(connection: asyncpg.Connection | asyncpg.Pool, key_id: int) -> bool:
    """True while the key `key_id` exists and is not revoked (no cache)."""
    return bool(
        await connection.fetchval(
            "SELECT true FROM api_keys WHERE id = $1 AND revoked_at IS NULL", key_id
        )
    )


async def record_use(connection: asyncpg.Connection | asyncpg.Pool, key_id: int) -> None:
    await connection.execute("UPDATE api_keys SET last_used_at = now() WHERE id = $1", key_id)


async def revoke_key(connection: asyncpg.Connection | asyncpg.Pool, key_id: int) -> bool:
    status: str = await connection.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
    )
    return status.endswith(" 1")


class KeyCache:
    """Remembers lookups for `ttl` seconds so a hot ingest path does not hit Postgres
    per request; a revoked key stops working within `ttl`. Each key's `last_used_at` is
    written at most once per `use_every_s` by this process."""

    def __init__(self, pool: asyncpg.Pool, ttl: float, *, use_every_s: float = 60.0) -> None:
        self._pool = pool
        self._ttl = ttl
        self._use_every_s = use_every_s
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}
        self._recorded: dict[int, float] = {}  # key id -> when its use was last written

    async def lookup(self, key: str) -> ApiKey | None:
        digest = hash_key(key)
        now = time.monotonic()
        cached = self._entries.get(digest)
        if cached is not None and now - cached[0] < self._ttl:
            found = cached[1]
        else:
            found = await find_key(self._pool, key)
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[digest] = (now, found)
        if found is not None:
            await self._record_use(found.id, now)
        return found

    async def _record_use(self, key_id: int, now: float) -> None:
        last = self._recorded.get(key_id)
        if last is not None and now - last < self._use_every_s:
            return
        if len(self._recorded) > 10_000:
            self._recorded.clear()
        self._recorded[key_id] = now  # before the write: concurrent requests write once
        try:
            await record_use(self._pool, key_id)
        except (asyncpg.PostgresError, OSError, TimeoutError) as error:
            # The caller is authenticated either way; the next window tries again.
            USE_NOT_RECORDED.inc()
            log.warning("api key use not recorded", extra={"key_id": key_id, "error": repr(error)})
