"""API keys: generated high-entropy, stored only as sha256, each with one role."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum

import asyncpg


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


async def revoke_key(connection: asyncpg.Connection | asyncpg.Pool, key_id: int) -> bool:
    status = await connection.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
    )
    return status.endswith(" 1")


class KeyCache:
    """Remembers lookups for `ttl` seconds so a hot ingest path does not hit Postgres
    per request; a revoked key stops working within `ttl`."""

    def __init__(self, pool: asyncpg.Pool, ttl: float) -> None:
        self._pool = pool
        self._ttl = ttl
        self._entries: dict[str, tuple[float, ApiKey | None]] = {}

    async def lookup(self, key: str) -> ApiKey | None:
        digest = hash_key(key)
        now = time.monotonic()
        cached = self._entries.get(digest)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        found = await find_key(self._pool, key)
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[digest] = (now, found)
        return found
