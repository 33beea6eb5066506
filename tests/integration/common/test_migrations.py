from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from lookout_common.infra import migrate as migrations
from lookout_common.infra.migrate import MigrationError, ensure_database, load_migrations, migrate

pytestmark = pytest.mark.integration


async def _new_database(server_url: str) -> str:
    url = f"{server_url.rpartition('/')[0]}/m_{uuid.uuid4().hex[:10]}"
    assert await ensure_database(url) is True
    assert await ensure_database(url) is False  # second call: it exists
    return url


async def test_migrations_apply_once_in_order_and_then_report_up_to_date(postgres) -> None:
    url = await _new_database(postgres.url)
    connection = await asyncpg.connect(url)
    try:
        applied = await migrate(connection)
        assert applied == [f"{m.version:04d}_{m.name}" for m in load_migrations()]
        assert await migrate(connection) == []
        versions = await connection.fetch("SELECT version FROM schema_migrations ORDER BY 1")
        assert [row["version"] for row in versions] == [m.version for m in load_migrations()]
    finally:
        await connection.close()


async def test_concurrent_migrators_apply_each_migration_exactly_once(postgres) -> None:
    url = await _new_database(postgres.url)
    connections = [await asyncpg.connect(url) for _ in range(4)]
    try:
        results = await asyncio.gather(*(migrate(c) for c in connections))
        flattened = [name for result in results for name in result]
        assert sorted(flattened) == sorted(f"{m.version:04d}_{m.name}" for m in load_migrations())
    finally:
        for connection in connections:
            await connection.close()


async def test_an_edited_landed_migration_is_refused(postgres, monkeypatch) -> None:
    url = await _new_database(postgres.url)
    connection = await asyncpg.connect(url)
    try:
        await migrate(connection)
        original = load_migrations()
        edited = [
            migrations.Migration(m.version, m.name, m.sql + "\n-- edited") if i == 0 else m
            for i, m in enumerate(original)
        ]
        monkeypatch.setattr(migrations, "load_migrations", lambda: edited)
        with pytest.raises(MigrationError, match="was edited after it was applied"):
            await migrate(connection)
    finally:
        await connection.close()


async def test_day_partitions_are_created_on_demand_and_safe_to_race(db, database_url) -> None:
    racers = [await asyncpg.connect(database_url) for _ in range(4)]
    try:
        await asyncio.gather(
            *(c.execute("SELECT lookout_ensure_event_partition('2026-03-29')") for c in racers)
        )
    finally:
        for connection in racers:
            await connection.close()
    rows = await db.fetch(
        "SELECT inhrelid::regclass::text AS name FROM pg_inherits"
        " WHERE inhparent = 'user_analytics'::regclass"
    )
    assert "user_analytics_20260329" in [row["name"] for row in rows]
    await db.execute(
        "INSERT INTO user_analytics (event_id, occurred_at, received_at, kind, event, source)"
        " VALUES ('e1', '2026-03-29 23:59:59+00', now(), 'track', 'x', 'test')"
    )
    with pytest.raises(asyncpg.CheckViolationError):
        # No partition holds 2026-03-30 yet: refused, never silently misfiled.
        await db.execute(
            "INSERT INTO user_analytics (event_id, occurred_at, received_at, kind, event, source)"
            " VALUES ('e2', '2026-03-30 00:00:00+00', now(), 'track', 'x', 'test')"
        )
