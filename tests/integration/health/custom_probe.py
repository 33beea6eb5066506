"""Custom checks the monitor under test loads by `function: custom_probe:<name>`."""

from __future__ import annotations


async def payments_provider() -> str:
    return "payments provider answered"


async def broken_dependency() -> str:
    raise RuntimeError("ledger replica is read-only")
