"""The `lookout` command: run the embedded stack, migrate, create topics, manage keys.

Services add their own subcommands (for example `lookout backup …`) through the
`lookout.cli` entry-point group: each entry is a `register(subparsers)` callable,
so this package never imports a service.

Every command other than `up` talks to the running stack: the one whose
`stack.json` is in `--data-dir` (default `.lookout`), unless no data dir is named
and `LOOKOUT_DATABASE_URL` or `LOOKOUT_KAFKA_BOOTSTRAP` name external services.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from importlib.metadata import entry_points
from pathlib import Path

from lookout_common.infra.apikeys import Role, create_key, revoke_key
from lookout_common.infra.db import connect
from lookout_common.infra.kafka import ensure_topics
from lookout_common.infra.logging import configure_logging
from lookout_common.infra.migrate import ensure_database, migrate
from lookout_common.infra.settings import AggregatorSettings, LookoutSettings, StackSettings
from lookout_devstack.embedded.stackfile import NoStack, attach


async def _migrate(settings: LookoutSettings) -> list[str]:
    await ensure_database(settings.dsn(), timeout=settings.io_timeout_s)
    connection = await connect(settings)
    try:
        return await migrate(connection)
    finally:
        await connection.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    applied = asyncio.run(_migrate(LookoutSettings()))
    print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    created = asyncio.run(ensure_topics(LookoutSettings()))
    print("\n".join(f"created {name}" for name in created) or "all topics exist")
    return 0


async def _keys(args: argparse.Namespace) -> int:
    connection = await connect(LookoutSettings())
    try:
        if args.keys_command == "create":
            key = await create_key(connection, Role(args.role), args.name)
            print(f"{key}\n(shown once: store it now; Lookout keeps only its hash)")
        elif args.keys_command == "list":
            rows = await connection.fetch(
                "SELECT id, name, role, prefix, created_at, last_used_at, revoked_at"
                " FROM api_keys ORDER BY id"
            )
            for row in rows:
                state = "revoked" if row["revoked_at"] else "active"
                print(f"{row['id']:>4}  {row['role']:<7} {row['prefix']}…  {state:<8}", row["name"])
        elif args.keys_command == "revoke":
            if not await revoke_key(connection, args.id):
                print(f"no active key with id {args.id}", file=sys.stderr)
                return 1
            print(f"revoked key {args.id}")
        return 0
    finally:
        await connection.close()


def cmd_keys(args: argparse.Namespace) -> int:
    return asyncio.run(_keys(args))


def cmd_up(args: argparse.Namespace) -> int:
    from lookout_devstack.embedded.watchdog import Watchdog
    from lookout_devstack.up import run_stack

    settings = StackSettings()
    return run_stack(
        data_dir=Path(args.data_dir),
        demo=args.demo,
        host=args.host,
        broker_storage=args.broker_storage or settings.embedded_broker,
        drain_timeout_s=(
            args.drain_timeout if args.drain_timeout is not None else settings.drain_timeout_s
        ),
        watchdog=Watchdog(
            interval_s=settings.watchdog_interval_s,
            failures=settings.watchdog_failures,
            start_grace_s=settings.watchdog_start_grace_s,
        ),
    )


def cmd_status(args: argparse.Namespace) -> int:
    from lookout_devstack.embedded.status import gather, render

    status = asyncio.run(gather(args.stack, AggregatorSettings()))
    print(render(args.stack, status))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lookout", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-dir",
        dest="stack_dir",
        help="talk to the stack running over this data dir (default: .lookout, unless "
        "LOOKOUT_DATABASE_URL or LOOKOUT_KAFKA_BOOTSTRAP is set)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run the whole stack on this machine")
    up.add_argument("--demo", action="store_true", help="drive simulated marketplace traffic")
    up.add_argument("--data-dir", default=".lookout", help="where data lives (default .lookout)")
    up.add_argument("--host", default="127.0.0.1", help="interface the services bind")
    up.add_argument(
        "--broker-storage",
        choices=["s3", "memory"],
        help="embedded broker's log: s3 (durable, default) or memory (LOOKOUT_EMBEDDED_BROKER)",
    )
    up.add_argument(
        "--drain-timeout",
        type=float,
        help="seconds a stop waits for the aggregator to drain (LOOKOUT_DRAIN_TIMEOUT_S, 60)",
    )
    up.set_defaults(func=cmd_up, attaches=False)

    commands.add_parser(
        "status", help="processes, ports, consumer lag, last backup, open incidents"
    ).set_defaults(func=cmd_status)

    commands.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    commands.add_parser("topics", help="create Kafka topics").set_defaults(func=cmd_topics)

    keys = commands.add_parser("keys", help="create, list and revoke API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", choices=[role.value for role in Role], required=True)
    create.add_argument("--name", required=True)
    key_commands.add_parser("list", help="list keys (never the keys themselves)")
    revoke = key_commands.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("id", type=int)
    keys.set_defaults(func=cmd_keys)

    for entry in entry_points(group="lookout.cli"):
        entry.load()(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    configure_logging("cli", "WARNING")
    args = build_parser().parse_args(argv)
    logging.getLogger().setLevel(logging.WARNING)
    args.stack = None
    if getattr(args, "attaches", True):
        try:
            args.stack = attach(Path(args.stack_dir) if args.stack_dir else None)
        except NoStack as error:
            print(f"lookout {args.command}: {error}", file=sys.stderr)
            return 2
        if args.stack is not None:
            print(
                f"(stack in {args.stack['data_dir']}, lookout up pid {args.stack['pid']}:"
                f" database {_where(args.stack['database_url'])},"
                f" broker {args.stack['kafka_bootstrap']})",
                file=sys.stderr,
            )
    return args.func(args)


def _where(url: str) -> str:
    """host:port/database of a URL, without its credentials."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}{parts.path}"


if __name__ == "__main__":
    sys.exit(main())
