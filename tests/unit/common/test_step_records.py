"""Cutting erased people's records out of a step_times row: only whole records that start
with a wanted prefix go, wherever else the key's bytes appear."""

from __future__ import annotations

from lookout_common.infra.step_records import RECORD_SIZE, ledger_keys, without


def record(key: bytes, time: int, anonymous: bool = False) -> bytes:
    return key + time.to_bytes(8, "big") + (b"\x01" if anonymous else b"\x00")


ERASED, OTHER = b"\xaa" * 8, b"\x11" * 8


def test_whole_records_of_the_wanted_prefixes_go() -> None:
    row = record(OTHER, 1) + record(ERASED, 2) + record(OTHER, 3) + record(ERASED, 4, True)
    assert without(row, [ERASED], {ERASED}) == record(OTHER, 1) + record(OTHER, 3)
    # By key and time: only that event's record.
    head = record(ERASED, 4)[:16]
    assert without(row, [ERASED], {head}) == row[: 3 * RECORD_SIZE]


def test_a_key_across_two_records_is_not_a_record() -> None:
    # The erased key's bytes straddle the time of one record and the next record's key.
    straddling = OTHER + b"\x00\x00\x00\x00\xaa\xaa\xaa\xaa" + b"\xaa"
    row = straddling + record(b"\xaa\xaa\xaa\x00" + b"\x22" * 4, 5)
    assert len(row) == 2 * RECORD_SIZE
    assert without(row, [ERASED], {ERASED}) is None
    assert without(row + record(ERASED, 6), [ERASED], {ERASED}) == row


def test_ledger_hashes_name_person_keys() -> None:
    assert ledger_keys(["00ff" * 16]) == [b"\x00\xff" * 4]
