"""Custom checks in Python: `add_custom_check(name, async_fn, ...)`, or a config entry
naming `package.module:function` or an entry point in the `lookout.health_checks` group.

The function takes no argument and returns a message (healthy) or raises (failed).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points

from lookout_health.checks.base import ProbeFailed
from lookout_health.config import CustomCheck

CheckFunction = Callable[[], Awaitable[str | None]]

_REGISTERED: dict[str, tuple[CustomCheck, CheckFunction]] = {}


def add_custom_check(
    name: str,
    function: CheckFunction,
    *,
    critical: bool = True,
    interval_s: float = 60.0,
    timeout_s: float = 10.0,
    degraded_after_ms: float | None = None,
    failures_before_incident: int = 3,
    successes_before_resolve: int = 2,
) -> CustomCheck:
    """Register a check defined in code; the monitor runs it like a configured one."""
    check = CustomCheck(
        name=name,
        kind="custom",
        critical=critical,
        interval_s=interval_s,
        timeout_s=timeout_s,
        degraded_after_ms=degraded_after_ms,
        failures_before_incident=failures_before_incident,
        successes_before_resolve=successes_before_resolve,
    )
    _REGISTERED[name] = (check, function)
    return check


def registered_checks() -> list[CustomCheck]:
    return [check for check, _ in _REGISTERED.values()]


def resolve(check: CustomCheck) -> CheckFunction:
    """The coroutine function behind a custom check; raises ProbeFailed if it cannot load."""
    if check.name in _REGISTERED and check.function is None and check.entry_point is None:
        return _REGISTERED[check.name][1]
    if check.function:
        module_name, _, attribute = check.function.partition(":")
        try:
            function: CheckFunction = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError) as error:
            raise ProbeFailed(f"cannot load {check.function}: {error}") from None
        return function
    if check.entry_point:
        for entry in entry_points(group="lookout.health_checks", name=check.entry_point):
            loaded: CheckFunction = entry.load()
            return loaded
        raise ProbeFailed(f"no entry point {check.entry_point!r} in lookout.health_checks")
    raise ProbeFailed(f"custom check {check.name!r} has no function, entry_point or registration")


async def run_custom(check: CustomCheck) -> str:
    message = await resolve(check)()
    return message or "Custom check passed."
