"""Rate limits shared by ingest's worker processes (`LOOKOUT_INGEST_WORKERS` > 1).

The supervisor creates one table of token buckets in a file of its private run directory
(`BucketTable.create`) and names it to its workers in `LOOKOUT_INGEST_RATE_TABLE`; each
worker maps it (`BucketTable.open`) and every take reads and writes its client's bucket
under an exclusive `flock` of the file, so a client spread over N workers spends one
budget. The kernel drops the lock of a worker that dies holding it.

The table is a fixed array of slots `(client hash, tokens, updated)` addressed by a
stable 64-bit hash of the limit's name and the client, probed linearly over
`PROBES` slots. A client found nowhere takes the first empty slot of its window, else the
one used longest ago (that client's bucket was full again, or nearly: the same trade-off
as the in-process limiter's least recently used buckets). A slot holding what no bucket
can hold (tokens out of 0..burst, a time that is not finite) starts full again.

A table that fails (a file cut short, an I/O error) never fails a request: that worker's
limiter falls back to its own in-process buckets for the request, logs it and counts it in
`lookout_ingest_shared_limit_failures_total` (the first failure is logged).
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import math
import mmap
import os
import struct
import time
from collections.abc import Hashable
from pathlib import Path

from prometheus_client import Counter

from lookout_ingest.limits import Clock, RateLimiter, refill_and_take, whole_seconds

log = logging.getLogger("lookout.ingest")

TABLE_ENV = "LOOKOUT_INGEST_RATE_TABLE"
SLOT = struct.Struct("<Qdd")  # client hash (0: empty), tokens, updated (monotonic s)
SLOTS = 1 << 17  # 3 MB, one table for the write keys' and the IPs' buckets
PROBES = 8

SHARED_LIMIT_FAILURES = Counter(
    "lookout_ingest_shared_limit_failures_total",
    "Rate-limit checks the workers' shared table failed (the worker's own buckets decided)",
)


class BrokenTable(Exception):
    """The table's file no longer holds the table (cut short by something else)."""


@functools.lru_cache(maxsize=65_536)
def client_hash(limit: str, client: Hashable) -> int:
    """The same non-zero 64-bit number in every process (Python's `hash` is salted),
    remembered for the clients seen last."""
    digest = hashlib.blake2b(f"{limit}\0{client!r}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1


class BucketTable:
    """The token buckets of every worker, in one mapped file."""

    def __init__(self, fd: int, slots: int) -> None:
        self._fd = fd
        self._slots = slots
        self._size = slots * SLOT.size
        self._map = mmap.mmap(fd, self._size)

    @staticmethod
    def create(path: Path, slots: int = SLOTS) -> None:
        """A table of empty slots at `path` (a new file, readable by its owner only)."""
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, slots * SLOT.size)
        finally:
            os.close(fd)

    @classmethod
    def open(cls, path: Path) -> BucketTable:
        fd = os.open(path, os.O_RDWR)
        try:
            size = os.fstat(fd).st_size
            if size == 0 or size % SLOT.size:
                raise BrokenTable(f"{path} holds {size} bytes, not a table of buckets")
            return cls(fd, size // SLOT.size)
        except BaseException:
            os.close(fd)
            raise

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)

    def _bucket_of(self, key: int, burst: int, now: float) -> tuple[int, float, float]:
        """The offset of `key`'s slot, and the tokens and time of its bucket there (a new
        bucket, or one holding what no bucket can, is full now)."""
        start = key % self._slots
        reuse, oldest = -1, math.inf
        for probe in range(PROBES):
            offset = ((start + probe) % self._slots) * SLOT.size
            held, tokens, updated = SLOT.unpack_from(self._map, offset)
            if held == key:
                if 0 <= tokens <= burst and math.isfinite(updated):
                    return offset, tokens, updated
                return offset, burst, now
            if held == 0:
                return offset, burst, now
            if not updated >= oldest:  # also takes a slot whose time is not a number
                reuse, oldest = offset, updated
        return reuse, burst, now

    def take(self, key: int, rate: float, burst: int, cost: int, now: float) -> float:
        """`refill_and_take` on `key`'s bucket: the seconds to wait, 0 when `cost` was
        taken."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            # A mapping read past the end of a file cut short is a SIGBUS, not an error.
            if os.fstat(self._fd).st_size < self._size:
                raise BrokenTable("the rate-limit table's file was cut short")
            offset, tokens, updated = self._bucket_of(key, burst, now)
            tokens, wait = refill_and_take(tokens, updated, rate, burst, cost, now)
            SLOT.pack_into(self._map, offset, key, tokens, now)
            return wait
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


class SharedRateLimiter(RateLimiter):
    """A `RateLimiter` whose buckets live in the workers' `BucketTable`; its own
    in-process buckets decide only when the table fails."""

    def __init__(
        self,
        name: str,
        rate: float,
        burst: int,
        table: BucketTable,
        *,
        clock: Clock = time.monotonic,
    ) -> None:
        super().__init__(rate, burst, clock=clock)
        self.name = name
        self.table = table
        self._failure_logged = False

    def retry_after(self, client: Hashable, cost: int = 1) -> int:
        if not self.enabled:
            return 0
        if cost > self.burst:
            raise ValueError(f"a cost of {cost} exceeds the burst of {self.burst}")
        key = client_hash(self.name, client)
        try:
            wait = self.table.take(key, self.rate, self.burst, cost, self._clock())
        except (OSError, ValueError, BrokenTable) as error:
            SHARED_LIMIT_FAILURES.inc()
            if not self._failure_logged:  # once per worker: the counter tells the rest
                self._failure_logged = True
                log.error(
                    "shared rate-limit table failed: this worker's own buckets decide",
                    extra={"limit": self.name, "error": str(error)},
                )
            return super().retry_after(client, cost)
        return whole_seconds(wait)
