"""`lookout backup run|list|show|verify|restore`: the backup worker's own CLI, running
the operation in this process under the same lock and records as the worker."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime

from lookout_backup import store
from lookout_backup.export import Progress
from lookout_backup.runner import Busy, Runner
from lookout_backup.targets import open_target
from lookout_common.contracts.backup_events import BackupCommand
from lookout_common.infra.db import create_pool
from lookout_common.infra.settings import BackupWorkerSettings


def _bar(step: Progress) -> None:
    width = 30
    filled = int(width * step.collections_done / max(step.collections_total, 1))
    sys.stderr.write(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {step.collections_done}/"
        f"{step.collections_total} {step.collection:<20} {step.rows:>10,} rows "
        f"{step.bytes / 1e6:8.1f} MB"
    )
    if step.collections_done == step.collections_total:
        sys.stderr.write("\n")
    sys.stderr.flush()


async def _main(args: argparse.Namespace) -> int:
    settings = BackupWorkerSettings()
    pool = await create_pool(settings)
    try:
        runner = Runner(settings, pool, open_target(settings))
        if args.backup_command == "list":
            for row in await store.runs(pool, args.limit):
                print(
                    f"{row['run_id']:<40} {row['operation']:<8} {row['status']:<10}"
                    f" {row['rows']:>10,} rows {row['bytes']:>14,} bytes"
                    + (" UNAUTHENTICATED" if row["authenticated"] is False else "")
                )
            return 0
        if args.backup_command == "show":
            row = await store.run(pool, args.run_id)
            if row is None:
                print(f"no run {args.run_id}", file=sys.stderr)
                return 1
            detail = {k: v for k, v in dict(row).items()}
            detail["artifacts"] = [dict(a) for a in await store.artifacts(pool, args.run_id)]
            print(json.dumps(detail, indent=2, default=str))
            return 0
        command = BackupCommand(
            command_id=f"cli-{uuid.uuid4().hex}",
            operation="backup" if args.backup_command == "run" else args.backup_command,
            requested_by="cli",
            requested_at=datetime.now(UTC),
            collections=args.collections or None,
            run_id=getattr(args, "run_id", None),
            restore_mode=getattr(args, "mode", "replace"),
            target_schema=getattr(args, "schema", None),
            target_url_env=getattr(args, "target_url_env", None),
            backup_type="incremental" if getattr(args, "incremental", False) else "full",
            trial_restore=getattr(args, "trial_restore", False),
            include_internal=getattr(args, "include_internal", False),
        )
        runner.progress_bar = _bar
        try:
            result = await runner.execute(command, wait=not args.no_wait)
        except Busy as error:
            print(f"refused: {error}", file=sys.stderr)
            return 2
        unauthenticated = runner.keyring.current is None and command.operation == "backup"
        print(
            f"{result.run_id}: {result.status.value}"
            + (" (UNAUTHENTICATED: no LOOKOUT_BACKUP_KEY)" if unauthenticated else "")
        )
        for problem in result.errors:
            print(f"  {problem}", file=sys.stderr)
        return 0 if result.status.value == "succeeded" else 1
    finally:
        await pool.close()


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `lookout backup …` (entry point `lookout.cli`)."""
    backup = commands.add_parser("backup", help="back up, list, verify and restore collections")
    sub = backup.add_subparsers(dest="backup_command", required=True)
    run = sub.add_parser("run", help="back up now (all configured collections, or those named)")
    run.add_argument("collections", nargs="*")
    run.add_argument(
        "--incremental", action="store_true", help="only what changed since the last backup"
    )
    listing = sub.add_parser("list", help="recent runs")
    listing.add_argument("--limit", type=int, default=20)
    show = sub.add_parser("show", help="one run with its artifacts")
    show.add_argument("run_id")
    check = sub.add_parser("verify", help="re-download and check every artifact of a run")
    check.add_argument("run_id")
    check.add_argument(
        "--trial-restore",
        action="store_true",
        help="also restore into a scratch schema and compare row counts and contents",
    )
    back = sub.add_parser("restore", help="restore a verified run (all or named collections)")
    back.add_argument("run_id")
    back.add_argument("collections", nargs="*")
    back.add_argument("--mode", choices=["replace", "merge"], default="replace")
    back.add_argument("--schema", default=None, help="restore into this schema instead")
    back.add_argument(
        "--target-url-env", default=None, help="env var holding another database's URL"
    )
    for parser in (run, check, back):
        parser.add_argument("--no-wait", action="store_true", help="refuse if a run is going on")
    for parser in (run, back):
        parser.add_argument(
            "--include-internal",
            action="store_true",
            help="Lookout's own tables (api_keys, audit_log, …) too, when named",
        )
    for parser in (listing, show, check):
        parser.set_defaults(collections=None)
    backup.set_defaults(func=lambda args: asyncio.run(_main(args)))
