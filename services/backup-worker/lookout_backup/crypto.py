"""Encryption at rest: AES-256-GCM in framed chunks, a fresh data key per run wrapped by
a master key (LOOKOUT_BACKUP_KEY; older keys in LOOKOUT_BACKUP_OLD_KEYS keep old
backups readable after a rotation).

Every frame authenticates its position and whether it is the last one, so a
reordered, truncated or tampered stream does not decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FRAME = 1024 * 1024  # plaintext bytes per frame
_HEADER = struct.Struct(">I")  # ciphertext length of the frame that follows


class WrongKey(Exception):
    """The backup was encrypted with a master key this worker does not have."""


class Corrupt(Exception):
    """Stored bytes do not authenticate: tampered, truncated or reordered."""


def key_id(master: bytes) -> str:
    return hashlib.sha256(b"lookout-backup-key:" + master).hexdigest()[:16]


def decode_master(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError as error:
        raise ValueError("backup key must be base64") from error
    if len(key) != 32:
        raise ValueError(f"backup key must be 32 bytes (256 bits), got {len(key)}")
    return key


MANIFEST_KEY_INFO = b"lookout-backup-manifest-v1"


def manifest_key(master: bytes) -> bytes:
    """The sub-key that authenticates manifests: HKDF-SHA256 of the master key, so the
    key that wraps data keys is never used for anything else."""
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=MANIFEST_KEY_INFO).derive(master)


def mac(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class Keyring:
    """The current master key (encrypts) and older ones (only decrypt).

    `allow_unauthenticated` is the explicit setting that permits backups without a key
    (stored in clear, manifests unauthenticated) and trusting such manifests.
    """

    def __init__(
        self,
        current: bytes | None,
        older: list[bytes] | None = None,
        *,
        allow_unauthenticated: bool = False,
    ) -> None:
        self.current = current
        self.keys = {key_id(k): k for k in [*(older or []), *([current] if current else [])]}
        self.allow_unauthenticated = allow_unauthenticated

    def sign(self, message: bytes) -> tuple[str, str]:
        """(master key id, HMAC-SHA256 of `message` under the current manifest key)."""
        if self.current is None:
            raise WrongKey("no backup key configured (LOOKOUT_BACKUP_KEY)")
        return key_id(self.current), mac(manifest_key(self.current), message)

    def authenticates(self, message: bytes, master_id: str, tag: str) -> bool:
        master = self.keys.get(master_id)
        if master is None:
            raise WrongKey(f"backup was made with key {master_id}, which is not configured")
        return hmac.compare_digest(mac(manifest_key(master), message), tag)

    def new_data_key(self) -> tuple[bytes, str, str]:
        """(data key, wrapped data key as base64, master key id)."""
        if self.current is None:
            raise WrongKey("no backup key configured (LOOKOUT_BACKUP_KEY)")
        data_key = AESGCM.generate_key(bit_length=256)
        nonce = os.urandom(12)
        wrapped = nonce + AESGCM(self.current).encrypt(nonce, data_key, b"lookout-data-key")
        return data_key, base64.b64encode(wrapped).decode(), key_id(self.current)

    def unwrap(self, wrapped: str, master_id: str) -> bytes:
        master = self.keys.get(master_id)
        if master is None:
            raise WrongKey(f"backup was encrypted with key {master_id}, which is not configured")
        raw = base64.b64decode(wrapped)
        try:
            return AESGCM(master).decrypt(raw[:12], raw[12:], b"lookout-data-key")
        except InvalidTag:
            raise WrongKey(f"key {master_id} does not unwrap this backup's data key") from None


def _aad(label: str, index: int, final: bool) -> bytes:
    return f"{label}|{index}|{int(final)}".encode()


class Encryptor:
    """Feed plaintext, get framed ciphertext; `finish` seals the last frame."""

    def __init__(self, data_key: bytes, label: str) -> None:
        self._aead = AESGCM(data_key)
        self._label = label
        self._buffer = bytearray()
        self._index = 0

    def _frame(self, plain: bytes, final: bool) -> bytes:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plain, _aad(self._label, self._index, final))
        self._index += 1
        return _HEADER.pack(len(sealed)) + nonce + sealed

    def update(self, data: bytes) -> bytes:
        self._buffer.extend(data)
        out = bytearray()
        # Keep at least one byte back: the final frame must be sealed as final.
        while len(self._buffer) > FRAME:
            out += self._frame(bytes(self._buffer[:FRAME]), final=False)
            del self._buffer[:FRAME]
        return bytes(out)

    def finish(self) -> bytes:
        return self._frame(bytes(self._buffer), final=True)


class Decryptor:
    """Feed framed ciphertext in any chunking; plaintext comes out frame by frame."""

    def __init__(self, data_key: bytes, label: str) -> None:
        self._aead = AESGCM(data_key)
        self._label = label
        self._buffer = bytearray()
        self._index = 0
        self._pending: tuple[bytes, bytes] | None = None  # last complete frame, not yet opened
        self._done = False

    def _open(self, nonce: bytes, sealed: bytes, final: bool) -> bytes:
        try:
            return self._aead.decrypt(nonce, sealed, _aad(self._label, self._index, final))
        except InvalidTag:
            raise Corrupt(f"{self._label}: frame {self._index} does not authenticate") from None
        finally:
            self._index += 1

    def update(self, data: bytes) -> bytes:
        self._buffer.extend(data)
        out = bytearray()
        while len(self._buffer) >= _HEADER.size:
            (length,) = _HEADER.unpack(self._buffer[: _HEADER.size])
            end = _HEADER.size + 12 + length
            if len(self._buffer) < end:
                break
            frame = (bytes(self._buffer[4:16]), bytes(self._buffer[16:end]))
            del self._buffer[:end]
            if self._pending is not None:
                out += self._open(*self._pending, final=False)
            self._pending = frame
        return bytes(out)

    def finish(self) -> bytes:
        if self._buffer or self._pending is None:
            raise Corrupt(f"{self._label}: stream ends inside a frame (truncated)")
        return self._open(*self._pending, final=True)
