"""Versioned SQL migrations, applied in order under a Postgres advisory lock.

Files are `migrations/NNNN_name.sql`. Each runs in its own transaction and is
recorded with its checksum; a landed migration whose file changed is refused,
because editing history silently diverges databases.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

import asyncpg

log = logging.getLogger(__name__)

# Any constant works as long as every Lookout process uses the same one.
MIGRATION_LOCK_ID = 0x4C4F4F4B  # "LOOK"
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """The database's migration history disagrees with the files."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """Every migration file shipped with lookout_common, in version order."""
    found: list[Migration] = []
    for entry in resources.files("lookout_common").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migration files share a version: {versions}")
    return found


async def migrate(connection: asyncpg.Connection) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    applied_now: list[str] = []
    await connection.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_ID)
    try:
        await connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """
        )
        rows = await connection.fetch("SELECT version, name, checksum FROM schema_migrations")
        recorded = {row["version"]: row for row in rows}
        for migration in load_migrations():
            row = recorded.get(migration.version)
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{row['name']} was edited after it "
                        "was applied; add a new migration instead"
                    )
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            applied_now.append(f"{migration.version:04d}_{migration.name}")
            log.info("migration applied", extra={"migration": applied_now[-1]})
    finally:
        await connection.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_ID)
    return applied_now


async def ensure_database(dsn: str, timeout: float = 10.0) -> bool:
    """Create the database named in `dsn` when it does not exist; True if created."""
    try:
        connection = await asyncpg.connect(dsn, timeout=timeout)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await connection.close()
        return False
    admin = await asyncpg.connect(dsn, database="postgres", timeout=timeout)
    try:
        quoted = '"' + database_name(dsn).replace('"', '""') + '"'
        try:
            await admin.execute(f"CREATE DATABASE {quoted}")
        except asyncpg.DuplicateDatabaseError:
            return False
    finally:
        await admin.close()
    return True


def database_name(dsn: str) -> str:
    """The database a libpq URL names (default: the user name, as libpq does)."""
    parts = urlsplit(dsn)
    return parts.path.lstrip("/") or (parts.username or "postgres")
