"""The manifest: written last, it is what makes a backup valid. It lists every artifact
with the sha256 of its plaintext and of the stored object, and is itself authenticated
(HMAC-SHA256 under a key derived from the master key) over its canonical JSON.

Everything read back from a manifest is hostile until `open_manifest` has
authenticated it and the models have validated every name and type in it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from lookout_backup.crypto import Keyring, WrongKey
from lookout_backup.names import ColumnType, Identifier, RunId, quote

Format = Literal["csv", "json"]
Compression = Literal["zstd", "gzip", "none"]

MANIFEST = "manifest.json"


class Column(BaseModel):
    name: Identifier
    type: ColumnType = Field(description="format_type() of the column, e.g. numeric(10,2)")
    nullable: bool


class CollectionDDL(BaseModel):
    """Enough to recreate the table elsewhere (another schema or database)."""

    columns: list[Column] = Field(min_length=1, max_length=1600)
    primary_key: list[Identifier] = Field(max_length=32)

    @model_validator(mode="after")
    def _keys_are_columns(self) -> CollectionDDL:
        names = {c.name for c in self.columns}
        if unknown := [k for k in self.primary_key if k not in names]:
            raise ValueError(f"primary key names columns the table does not have: {unknown}")
        return self

    def create_statement(self, qualified_name: str, *, with_key: bool = True) -> str:
        """CREATE TABLE from checked types (see `names.ColumnType`) and quoted names."""
        columns = [
            f"{quote(c.name)} {c.type}{'' if c.nullable else ' NOT NULL'}" for c in self.columns
        ]
        if self.primary_key and with_key:
            columns.append(f"PRIMARY KEY ({', '.join(quote(k) for k in self.primary_key)})")
        return f"CREATE TABLE IF NOT EXISTS {qualified_name} ({', '.join(columns)})"

    def key_statement(self, qualified_name: str) -> str:
        keys = ", ".join(quote(k) for k in self.primary_key)
        return f"ALTER TABLE {qualified_name} ADD PRIMARY KEY ({keys})"


_OBJECT_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,150}")


class Artifact(BaseModel):
    collection: Identifier
    kind: Literal["rows", "keys"] = Field(
        "rows", description="keys: every primary key at the snapshot (incremental deletes)"
    )
    format: Format
    key: str = Field(description="Object key relative to the target's prefix")
    rows: int
    bytes: int = Field(description="Stored size (after compression and encryption)")
    plain_bytes: int
    sha256_plain: str
    sha256_stored: str
    compression: Compression
    encrypted: bool


class CollectionOutcome(BaseModel):
    collection: Identifier
    ok: bool
    error: str | None = None
    ddl: CollectionDDL | None = None
    rows: int = 0
    mode: Literal["full", "changes"] = Field(
        "full", description="changes: rows updated since the base run, plus every key"
    )
    watermark: datetime | None = Field(None, description="max(updated_at) in the snapshot")
    content_hash: str | None = Field(
        None, description="Order-independent hash of every row in the snapshot (test restores)"
    )


class Manifest(BaseModel):
    run_id: RunId
    type: Literal["full", "incremental"] = "full"
    base_run_id: RunId | None = None
    snapshot_time: datetime
    finished_at: datetime
    lookout_version: str
    format: Literal["csv", "json", "both"]
    compression: Compression
    key_id: str | None = Field(None, description="Master key that wraps the data key")
    wrapped_data_key: str | None = Field(None, description="base64; never the key itself")
    collections: list[CollectionOutcome]
    artifacts: list[Artifact]
    authentication: Literal["hmac-sha256", "none"] = Field(
        "none", description="none: made without a key (LOOKOUT_BACKUP_ALLOW_UNAUTHENTICATED)"
    )
    mac: str | None = Field(None, description="HMAC-SHA256 (hex) of the canonical manifest")

    @model_validator(mode="after")
    def _consistent(self) -> Manifest:
        for artifact in self.artifacts:
            folder, _, name = artifact.key.partition("/")
            if folder != self.run_id or not _OBJECT_NAME.fullmatch(name) or ".." in name:
                raise ValueError(f"artifact key {artifact.key[:120]!r} is not inside the run")
            if artifact.encrypted != (self.key_id is not None):
                raise ValueError(
                    f"artifact {artifact.key} says encrypted={artifact.encrypted}, the run"
                    f" {'has' if self.key_id else 'has no'} key"
                )
        if self.authentication == "hmac-sha256" and self.key_id is None:
            raise ValueError("an authenticated manifest names the key that authenticates it")
        return self

    @property
    def authenticated(self) -> bool:
        return self.authentication == "hmac-sha256"

    @property
    def status(self) -> Literal["succeeded", "partial"]:
        return "succeeded" if all(c.ok for c in self.collections) else "partial"

    def outcome(self, collection: str) -> CollectionOutcome | None:
        return next((c for c in self.collections if c.collection == collection), None)

    def artifact(
        self, collection: str, preferred: Format = "csv", kind: str = "rows"
    ) -> Artifact | None:
        found = [a for a in self.artifacts if a.collection == collection and a.kind == kind]
        for artifact in found:
            if artifact.format == preferred:
                return artifact
        return found[0] if found else None


class ManifestRejected(Exception):
    """The manifest does not authenticate, contradicts the run's record, or is malformed."""


def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes the MAC covers: the JSON document without `mac`, keys sorted, compact."""
    body = {key: value for key, value in document.items() if key != "mac"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seal(manifest: Manifest, keyring: Keyring) -> bytes:
    """The manifest's file: authenticated when the keyring has a key."""
    document = manifest.model_dump(mode="json")
    if keyring.current is not None:
        document["authentication"] = "hmac-sha256"
        document["mac"] = None
        signer, document["mac"] = keyring.sign(canonical(document))
        if signer != document["key_id"]:
            raise WrongKey("the manifest names another key than the one signing it")
    else:
        document["authentication"], document["mac"] = "none", None
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def open_manifest(
    raw: bytes, run_id: str, keyring: Keyring, recorded_authenticated: bool | None = None
) -> Manifest:
    """Authenticate, then validate, the manifest file of `run_id`.

    Refused: a MAC that does not verify; an unauthenticated manifest unless the
    explicit setting allows it, and never for a run recorded as authenticated; a
    manifest of another run."""
    try:
        document = json.loads(raw)
    except ValueError as error:
        raise ManifestRejected(f"manifest of run {run_id} is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ManifestRejected(f"manifest of run {run_id} is not a JSON object")
    if document.get("authentication") == "hmac-sha256":
        try:
            valid = keyring.authenticates(
                canonical(document), str(document.get("key_id")), str(document.get("mac"))
            )
        except WrongKey as error:
            raise ManifestRejected(str(error)) from None
        if not valid:
            raise ManifestRejected(f"manifest of run {run_id} does not authenticate (tampered?)")
    elif recorded_authenticated:
        raise ManifestRejected(
            f"run {run_id} was recorded as authenticated but its manifest is not (tampered?)"
        )
    elif not keyring.allow_unauthenticated:
        raise ManifestRejected(
            f"manifest of run {run_id} is not authenticated; trust it only by setting"
            " LOOKOUT_BACKUP_ALLOW_UNAUTHENTICATED=true"
        )
    try:
        manifest = Manifest.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ManifestRejected(
            f"manifest of run {run_id} is invalid: {where}: {first['msg']}"
        ) from None
    if manifest.run_id != run_id:
        raise ManifestRejected(f"manifest in {run_id}/ belongs to run {manifest.run_id}")
    return manifest
