"""The backup contract: commands on `backup.commands.v1` and run results and progress on
`backup.results.v1` (keyed by run id).

Commands are signed: an HMAC-SHA256 over the command's canonical JSON (keys sorted,
compact, `signature` left out) under the command key (`LOOKOUT_BACKUP_COMMAND_KEY`)
that dashboard-api and the backup worker share. The worker runs no other command.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"


Operation = Literal["backup", "restore", "verify", "prune"]

# A table, optionally schema-qualified: what a collection name may be.
CollectionName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_$]{0,62}(\.[A-Za-z_][A-Za-z0-9_$]{0,62})?$"),
]


class Retention(BaseModel):
    """How many backups a prune keeps (restic-style; see the backup worker's README)."""

    # Strict: a count is a JSON integer, never "3" or 3.0.
    model_config = ConfigDict(strict=True)

    retention_days: int | None = Field(None, ge=1, le=36_500)
    keep_last: int = Field(0, ge=0, le=100_000)
    keep_daily: int = Field(0, ge=0, le=100_000)
    keep_weekly: int = Field(0, ge=0, le=100_000)
    keep_monthly: int = Field(0, ge=0, le=100_000)


class BackupCommand(BaseModel):
    """Ask the backup worker to do something; `command_id` makes redelivery harmless."""

    command_id: str = Field(min_length=1, max_length=64)
    operation: Operation
    requested_by: str = Field(description="API key name or 'cli' or 'schedule'")
    requested_at: datetime
    collections: list[CollectionName] | None = Field(
        None, description="None means every configured one"
    )
    run_id: str | None = Field(None, description="The backup run to restore or verify")
    backup_type: Literal["full", "incremental"] = "full"
    restore_mode: Literal["replace", "merge"] = "replace"
    target_url_env: str | None = Field(
        None, description="Name of an env var holding the restore target URL (never the URL)"
    )
    target_schema: str | None = None
    retention: Retention | None = Field(None, description="For prune; default: the worker's")
    trial_restore: bool = Field(
        False, description="verify: also restore into a scratch schema and compare contents"
    )
    include_internal: bool = Field(
        False, description="Lookout's own tables (api_keys, audit_log, …) too, when named"
    )
    signature: str | None = Field(
        None, description="HMAC-SHA256 (hex) of the canonical command under the command key"
    )


def canonical_command(document: Mapping[str, Any]) -> bytes:
    """The bytes a command's signature covers: its JSON without `signature`, keys sorted."""
    body = {key: value for key, value in document.items() if key != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def command_signature(document: Mapping[str, Any], key: str) -> str:
    return hmac.new(key.encode(), canonical_command(document), hashlib.sha256).hexdigest()


def sign_command(command: BackupCommand, key: str) -> BackupCommand:
    """The command with its signature (what goes on the topic)."""
    document = command.model_dump(mode="json")
    return command.model_copy(update={"signature": command_signature(document, key)})


def signature_valid(document: Mapping[str, Any], key: str) -> bool:
    """Whether the raw command `document` (as read from the topic) carries a valid signature."""
    signature = document.get("signature")
    if not isinstance(signature, str):
        return False
    return hmac.compare_digest(command_signature(document, key), signature)


class BackupResult(BaseModel):
    """A run's state: sent when it is queued, as it progresses, and when it ends."""

    run_id: str
    operation: Operation
    status: RunStatus
    command_id: str | None = None
    backup_type: Literal["full", "incremental"] | None = None
    collections_done: int = 0
    collections_total: int = 0
    rows: int = 0
    bytes: int = 0
    errors: list[str] = Field(default_factory=list)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    at: datetime
