"""Streaming compression: zstd (default), gzip or none, with the same two-call shape."""

from __future__ import annotations

import zlib

import zstandard

from lookout_backup.manifest import Compression

SUFFIX = {"zstd": ".zst", "gzip": ".gz", "none": ""}


class Compressor:
    def __init__(self, kind: Compression) -> None:
        self.kind = kind
        if kind == "zstd":
            self._zstd = zstandard.ZstdCompressor(level=3).compressobj()
        elif kind == "gzip":
            self._zlib = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def update(self, data: bytes) -> bytes:
        if self.kind == "zstd":
            return self._zstd.compress(data)
        if self.kind == "gzip":
            return self._zlib.compress(data)
        return data

    def finish(self) -> bytes:
        if self.kind == "zstd":
            return self._zstd.flush()
        if self.kind == "gzip":
            return self._zlib.flush()
        return b""


class Decompressor:
    def __init__(self, kind: Compression) -> None:
        self.kind = kind
        if kind == "zstd":
            self._zstd = zstandard.ZstdDecompressor().decompressobj()
        elif kind == "gzip":
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def update(self, data: bytes) -> bytes:
        if self.kind == "zstd":
            return self._zstd.decompress(data)
        if self.kind == "gzip":
            return self._zlib.decompress(data)
        return data

    def finish(self) -> bytes:
        if self.kind == "gzip":
            tail = self._zlib.flush()
            if not self._zlib.eof:
                raise ValueError("gzip stream is truncated")
            return tail
        return b""
