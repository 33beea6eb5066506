"""From an artifact's stored bytes to its plaintext: AES-GCM frames opened (each one
authenticated), then decompressed, with the sha256 of the stored bytes and of the
plaintext counted on the way."""

from __future__ import annotations

import hashlib

from lookout_backup.compression import Decompressor
from lookout_backup.crypto import Decryptor
from lookout_backup.manifest import Artifact


class PlaintextDecoder:
    """Feed an artifact's stored bytes in any chunking; plaintext comes out.

    `finish` raises `crypto.Corrupt` when the stream is truncated or a frame does not
    authenticate (as `feed` does for a bad frame), and a decompression error for a
    damaged compressed stream; the digests cover exactly the bytes fed and returned
    (the plaintext's only with `digest_plaintext`: equal stored bytes decode to equal
    plaintext, so a copy already verified needs only its stored digest).
    """

    def __init__(
        self, artifact: Artifact, data_key: bytes | None, *, digest_plaintext: bool = True
    ) -> None:
        if artifact.encrypted and data_key is None:
            raise ValueError(f"{artifact.key} is encrypted but no key is available")
        self.stored_digest = hashlib.sha256()
        self.plain_digest = hashlib.sha256()
        self._digest_plaintext = digest_plaintext
        self.plain_size = 0
        self._decryptor = (
            Decryptor(data_key, artifact.key) if artifact.encrypted and data_key else None
        )
        self._decompressor = Decompressor(artifact.compression)

    def _plain(self, data: bytes) -> bytes:
        plain = self._decompressor.update(data)
        if self._digest_plaintext:
            self.plain_digest.update(plain)
        self.plain_size += len(plain)
        return plain

    def feed(self, stored: bytes) -> bytes:
        self.stored_digest.update(stored)
        return self._plain(self._decryptor.update(stored) if self._decryptor else stored)

    def finish(self) -> bytes:
        plain = self._plain(self._decryptor.finish()) if self._decryptor else b""
        tail = self._decompressor.finish()
        if self._digest_plaintext:
            self.plain_digest.update(tail)
        self.plain_size += len(tail)
        return plain + tail
