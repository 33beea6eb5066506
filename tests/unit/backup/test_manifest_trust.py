"""A manifest read back is trusted only when it authenticates under the master key
(HKDF sub-key, HMAC-SHA256 over the canonical JSON), belongs to the run asked for, and
claims no less than the run's record."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest

from lookout_backup.crypto import Keyring
from lookout_backup.manifest import (
    Artifact,
    CollectionOutcome,
    Manifest,
    ManifestRejected,
    open_manifest,
    seal,
)

RUN = "20261201T080000Z-backup-abc123"
NOW = datetime(2026, 12, 1, 8, tzinfo=UTC)


def manifest(keyring: Keyring) -> Manifest:
    key_id = None
    wrapped = None
    if keyring.current is not None:
        _, wrapped, key_id = keyring.new_data_key()
    return Manifest(
        run_id=RUN,
        snapshot_time=NOW,
        finished_at=NOW,
        lookout_version="1.0",
        format="csv",
        compression="zstd",
        key_id=key_id,
        wrapped_data_key=wrapped,
        collections=[CollectionOutcome(collection="users", ok=True, rows=3)],
        artifacts=[
            Artifact(
                collection="users",
                format="csv",
                key=f"{RUN}/users.csv.zst" + (".enc" if key_id else ""),
                rows=3,
                bytes=10,
                plain_bytes=20,
                sha256_plain="a" * 64,
                sha256_stored="b" * 64,
                compression="zstd",
                encrypted=key_id is not None,
            )
        ],
    )


@pytest.fixture
def keyring() -> Keyring:
    return Keyring(os.urandom(32))


def edit(raw: bytes, change) -> bytes:
    document = json.loads(raw)
    change(document)
    return json.dumps(document).encode()


def test_a_sealed_manifest_opens_and_says_it_is_authenticated(keyring) -> None:
    opened = open_manifest(seal(manifest(keyring), keyring), RUN, keyring)
    assert opened.authenticated
    assert opened.mac is not None
    # The key that checks it is the HKDF sub-key of the same master, from any keyring
    # holding that master (a rotated one too).
    rotated = Keyring(os.urandom(32), older=[keyring.current])
    assert open_manifest(seal(manifest(keyring), keyring), RUN, rotated).authenticated


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["collections"][0].update(rows=4),
        lambda d: d["artifacts"][0].update(sha256_stored="c" * 64),
        lambda d: d.update(lookout_version="1.1"),
        lambda d: d.update(mac="0" * 64),
        lambda d: d.update(key_id="0123456789abcdef"),
    ],
)
def test_any_change_to_a_sealed_manifest_is_refused(keyring, change) -> None:
    raw = edit(seal(manifest(keyring), keyring), change)
    with pytest.raises(ManifestRejected, match=r"does not authenticate|not configured"):
        open_manifest(raw, RUN, keyring)


def _strip_encryption(document: dict) -> None:
    """What someone with write access to the bucket would do: claim `encrypted: false`
    and drop the authentication, so their own plaintext artifacts are loaded."""
    document.update(authentication="none", mac=None, key_id=None, wrapped_data_key=None)
    for artifact in document["artifacts"]:
        artifact.update(encrypted=False, key=artifact["key"].removesuffix(".enc"))


def test_encrypted_false_without_authentication_is_refused(keyring) -> None:
    raw = edit(seal(manifest(keyring), keyring), _strip_encryption)
    with pytest.raises(ManifestRejected, match="not authenticated"):
        open_manifest(raw, RUN, keyring)
    # Even where unauthenticated backups are allowed, a run recorded as authenticated
    # cannot come back without its authentication.
    permissive = Keyring(keyring.current, allow_unauthenticated=True)
    with pytest.raises(ManifestRejected, match="recorded as authenticated"):
        open_manifest(raw, RUN, permissive, recorded_authenticated=True)


def test_encrypted_flags_that_contradict_the_manifest_are_refused(keyring) -> None:
    def lie(document: dict) -> None:
        document["artifacts"][0]["encrypted"] = False

    raw = edit(seal(manifest(keyring), keyring), lie)
    with pytest.raises(ManifestRejected):
        open_manifest(raw, RUN, keyring)


def test_unauthenticated_backups_need_the_explicit_setting() -> None:
    keyless = Keyring(None, allow_unauthenticated=True)
    raw = seal(manifest(keyless), keyless)
    opened = open_manifest(raw, RUN, keyless)
    assert opened.authentication == "none"
    assert not opened.authenticated
    with pytest.raises(ManifestRejected, match="LOOKOUT_BACKUP_ALLOW_UNAUTHENTICATED"):
        open_manifest(raw, RUN, Keyring(None))


def test_a_manifest_of_another_run_is_refused(keyring) -> None:
    with pytest.raises(ManifestRejected, match="belongs to run"):
        open_manifest(seal(manifest(keyring), keyring), "20261201T080000Z-backup-ffffff", keyring)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(run_id="../../../tmp/escaped"),
        lambda d: d.update(base_run_id="../outside"),
        lambda d: d["artifacts"][0].update(key="../other-app/data.csv"),
        lambda d: d["artifacts"][0].update(key=f"{RUN}/../../x"),
    ],
)
def test_paths_in_a_manifest_never_leave_the_run_even_when_sealed(keyring, change) -> None:
    """Validation stands on its own, behind the MAC: a sealed manifest with a hostile
    run id or artifact key (a bug, an insider) is refused too."""
    document = json.loads(seal(manifest(keyring), keyring))
    change(document)
    document["key_id"], document["mac"] = keyring.sign(
        json.dumps(
            {k: v for k, v in document.items() if k != "mac"},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )
    with pytest.raises(ManifestRejected, match=r"invalid|belongs"):
        open_manifest(json.dumps(document).encode(), RUN, keyring)
