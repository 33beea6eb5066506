"""What every probe shares."""

from __future__ import annotations

from dataclasses import dataclass


class ProbeFailed(Exception):
    """The dependency answered, but not as it should; the message says how."""


@dataclass(frozen=True)
class ProbeOutcome:
    """A probe that passed; `degraded` when it passed with a warning (a certificate that
    expires soon), which makes the run `degraded` without counting as a failure."""

    message: str
    degraded: bool = False


def describe(error: BaseException) -> str:
    """A one-line reason for a failed probe (never a traceback)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, ProbeFailed):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
