"""Which commands from Kafka the worker runs: signed with the command key, fresh, valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lookout_backup.commands import CommandRefused, authenticate
from lookout_common.contracts.backup_events import BackupCommand, sign_command

KEY = "k" * 44
NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)
WINDOW = timedelta(minutes=5)


def document(*, key: str | None = KEY, at: datetime = NOW, **changes) -> dict:
    command = BackupCommand(
        command_id="c1",
        operation="restore",
        requested_by="sre",
        requested_at=at,
        run_id="20261201T075859Z-backup-619e97",
        **changes,
    )
    if key is not None:
        command = sign_command(command, key)
    return command.model_dump(mode="json")


def test_a_signed_fresh_command_is_run() -> None:
    command = authenticate(document(), KEY, NOW + timedelta(seconds=30), WINDOW)
    assert command.operation == "restore"
    assert command.command_id == "c1"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (document(key=None), "unsigned"),
        (document(key="another key"), "bad signature"),
        ({**document(), "operation": "prune"}, "bad signature"),  # altered after signing
        ({**document(), "retention": {"keep_last": 1}}, "bad signature"),
        (document(at=NOW - timedelta(minutes=6)), "stale"),
        (document(at=NOW + timedelta(minutes=6)), "stale"),
        ("not an object", "malformed"),
    ],
)
def test_unsigned_forged_altered_and_stale_commands_are_refused(body, reason) -> None:
    with pytest.raises(CommandRefused) as refused:
        authenticate(body, KEY, NOW, WINDOW)
    assert refused.value.reason == reason


def test_without_a_command_key_the_worker_runs_nothing_from_kafka() -> None:
    with pytest.raises(CommandRefused) as refused:
        authenticate(document(), None, NOW, WINDOW)
    assert refused.value.reason == "no key"
