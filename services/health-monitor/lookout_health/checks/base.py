"""What every probe shares."""

from __future__ import annotations


class ProbeFailed(Exception):
    """The dependency answered, but not as it should; the message says how."""


def describe(error: BaseException) -> str:
    """A one-line reason for a failed probe (never a traceback)."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, ProbeFailed):
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
