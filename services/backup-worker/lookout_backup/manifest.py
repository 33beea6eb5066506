"""The manifest: written last, it is what makes a backup valid. It lists every artifact
with the sha256 of its plaintext and of the stored object."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Format = Literal["csv", "json"]
Compression = Literal["zstd", "gzip", "none"]

MANIFEST = "manifest.json"


class Column(BaseModel):
    name: str
    type: str = Field(description="format_type() of the column, e.g. numeric(10,2)")
    nullable: bool


class CollectionDDL(BaseModel):
    """Enough to recreate the table elsewhere (another schema or database)."""

    columns: list[Column]
    primary_key: list[str]

    def create_statement(self, qualified_name: str, *, with_key: bool = True) -> str:
        columns = [f'"{c.name}" {c.type}{"" if c.nullable else " NOT NULL"}' for c in self.columns]
        if self.primary_key and with_key:
            keys = ", ".join(f'"{k}"' for k in self.primary_key)
            columns.append(f"PRIMARY KEY ({keys})")
        return f"CREATE TABLE IF NOT EXISTS {qualified_name} ({', '.join(columns)})"

    def key_statement(self, qualified_name: str) -> str:
        keys = ", ".join(f'"{k}"' for k in self.primary_key)
        return f"ALTER TABLE {qualified_name} ADD PRIMARY KEY ({keys})"


class Artifact(BaseModel):
    collection: str
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
    collection: str
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
    run_id: str
    type: Literal["full", "incremental"] = "full"
    base_run_id: str | None = None
    snapshot_time: datetime
    finished_at: datetime
    lookout_version: str
    format: Literal["csv", "json", "both"]
    compression: Compression
    key_id: str | None = Field(None, description="Master key that wraps the data key")
    wrapped_data_key: str | None = Field(None, description="base64; never the key itself")
    collections: list[CollectionOutcome]
    artifacts: list[Artifact]

    @property
    def status(self) -> Literal["succeeded", "partial"]:
        return "succeeded" if all(c.ok for c in self.collections) else "partial"

    def outcome(self, collection: str) -> CollectionOutcome | None:
        return next((c for c in self.collections if c.collection == collection), None)

    def artifact(self, collection: str, preferred: Format = "csv", kind: str = "rows"):
        found = [a for a in self.artifacts if a.collection == collection and a.kind == kind]
        for artifact in found:
            if artifact.format == preferred:
                return artifact
        return found[0] if found else None
