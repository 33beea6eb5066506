"""Which commands from `backup.commands.v1` the worker runs: signed with the command key,
fresh (within the age window) and well-formed. The pure core; the subscriber audits
every refusal and refuses a command id it has seen (a replay)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from prometheus_client import Counter
from pydantic import ValidationError

from lookout_backup import store
from lookout_common.contracts.backup_events import BackupCommand, signature_valid
from lookout_common.infra.settings import BackupWorkerSettings

log = logging.getLogger("lookout.backup")

REFUSED = Counter(
    "lookout_backup_commands_refused_total", "Commands from Kafka not run, by reason", ["reason"]
)


class CommandRefused(Exception):
    """A command the worker will not run; `reason` is a short category for the audit log."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def authenticate(
    document: Any, key: str | None, now: datetime, max_age: timedelta
) -> BackupCommand:
    """The command in `document` (the decoded message), if it is signed with `key` and
    was requested within `max_age` of `now`; raises CommandRefused otherwise."""
    if not isinstance(document, dict):
        raise CommandRefused("malformed", "a command is a JSON object")
    if not key:
        raise CommandRefused(
            "no key", "LOOKOUT_BACKUP_COMMAND_KEY is not set: the worker runs no command from Kafka"
        )
    if document.get("signature") is None:
        raise CommandRefused("unsigned", "the command carries no signature")
    if not signature_valid(document, key):
        raise CommandRefused("bad signature", "the command's signature does not verify")
    try:
        command = BackupCommand.model_validate(document)
    except ValidationError as error:
        raise CommandRefused("malformed", f"invalid command: {error.errors()[0]['msg']}") from None
    if command.requested_at.tzinfo is None:
        raise CommandRefused("malformed", "requested_at has no time zone")
    age = now - command.requested_at
    if abs(age) > max_age:
        raise CommandRefused(
            "stale",
            f"requested {age.total_seconds():.0f} s ago; commands are accepted for"
            f" {max_age.total_seconds():.0f} s",
        )
    return command


async def admit_command(
    pool: asyncpg.Pool, settings: BackupWorkerSettings, document: Any
) -> BackupCommand | None:
    """The command to run, or None after auditing why it is refused: unsigned, badly
    signed, stale, malformed, or a command id already seen (a replay)."""
    key = settings.backup_command_key
    try:
        command = authenticate(
            document,
            key.get_secret_value() if key else None,
            datetime.now(UTC),
            timedelta(seconds=settings.backup_command_max_age_s),
        )
        if await store.command_seen(pool, command.command_id):
            raise CommandRefused("replayed", f"command {command.command_id} was seen before")
    except CommandRefused as refused:
        claimed = document if isinstance(document, dict) else {}
        REFUSED.labels(refused.reason).inc()
        log.warning(
            "backup command refused", extra={"reason": refused.reason, "error": str(refused)}
        )
        await store.audit(
            pool,
            actor=f"kafka (claims {str(claimed.get('requested_by', '?'))[:100]})",
            action="backup.command.refused",
            target=str(claimed.get("command_id", ""))[:100] or None,
            outcome=f"refused ({refused.reason})",
            detail={
                "reason": str(refused),
                "operation": str(claimed.get("operation", ""))[:20],
                "run_id": str(claimed.get("run_id", ""))[:100],
            },
        )
        return None
    return command
