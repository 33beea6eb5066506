"""A small JSON-path subset for conditions on a response body, and the comparisons.

Paths: `$` is the document; `.name` a key (letters, digits, `_`, `-`); `['name']` or
`["name"]` a key with any other characters; `[N]` the Nth item of a list (`[-1]` the
last). For example `$.checks[0].status` or `$['x.y'].count`. Up to 32 steps and 256
characters. A path without `$` is the older dotted form (`checks.0.status`: a number
is a list index or a key).

Comparisons: `==`, `!=`, `<`, `>` (both sides numbers) and `matches` (an RE2 regular
expression, linear time, searched in the value's text, at most the first 64 KB).
"""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

import re2

Step = str | int
Operator = Literal["==", "!=", "<", ">", "matches"]
MAX_PATH_CHARS = 256
MAX_STEPS = 32
MAX_MATCHED_CHARS = 65536
MISSING: Any = object()

_STEP = re.compile(
    r"\.(?P<name>[A-Za-z0-9_\-]+)"
    r"|\[(?P<index>-?\d{1,9})\]"
    r"|\['(?P<single>[^'\\]*)'\]"
    r'|\["(?P<double>[^"\\]*)"\]'
)


class PathError(ValueError):
    """A path outside the subset; the message says where and why."""


def parse_path(path: str) -> tuple[Step, ...]:
    """The steps of `path`; raises PathError naming the first character it cannot read."""
    if len(path) > MAX_PATH_CHARS:
        raise PathError(f"longer than {MAX_PATH_CHARS} characters")
    if not path.startswith("$"):
        if not path or any(part == "" for part in path.split(".")):
            raise PathError("expected `$.name…` or a dotted path such as `checks.0.status`")
        steps: tuple[Step, ...] = tuple(path.split("."))
    else:
        found: list[Step] = []
        position = 1
        while position < len(path):
            match = _STEP.match(path, position)
            if match is None:
                raise PathError(
                    f"at character {position + 1}: expected `.name`, `[index]` or `['name']`"
                )
            if match["index"] is not None:
                found.append(int(match["index"]))
            else:
                found.append(match["name"] or match["single"] or match["double"] or "")
            position = match.end()
        steps = tuple(found)
    if len(steps) > MAX_STEPS:
        raise PathError(f"more than {MAX_STEPS} steps")
    return steps


def lookup(document: Any, path: str) -> Any:
    """The value at `path` in `document`, or MISSING."""
    value = document
    dotted = not path.startswith("$")
    for step in parse_path(path):
        keyed = isinstance(value, dict) and isinstance(step, str) and step in value
        indexed = (
            isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value)
        )
        if keyed or indexed:
            value = value[step]
        elif dotted and isinstance(value, list) and str(step).isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return MISSING
    return value


@functools.lru_cache(maxsize=256)
def compiled(pattern: str) -> Any:
    """An RE2 pattern (linear time on hostile bodies); raises ValueError when invalid."""
    try:
        return re2.compile(pattern)
    except re2.error as error:
        detail = error.args[0] if error.args else error
        if isinstance(detail, bytes):
            detail = detail.decode(errors="replace")
        raise ValueError(f"not a valid RE2 regular expression: {detail}") from None


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_operand(operator: Operator, expected: Any) -> None:
    """Refuse, at config load, a comparison that could never be evaluated."""
    if operator in ("<", ">") and not is_number(expected):
        raise ValueError(f"`{operator}` compares numbers; value {expected!r} is not one")
    if operator == "matches":
        if not isinstance(expected, str):
            raise ValueError(f"`matches` takes a regular expression; value {expected!r} is not")
        compiled(expected)


def broken(found: Any, operator: Operator, expected: Any) -> str | None:
    """Why `found` fails `operator expected`, or None when it holds."""
    if operator == "==":
        return None if found == expected else f"expected {expected!r}"
    if operator == "!=":
        return None if found != expected else f"expected anything but {expected!r}"
    if operator == "matches":
        text = found if isinstance(found, str) else repr(found)
        if compiled(expected).search(text[:MAX_MATCHED_CHARS]):
            return None
        return f"expected a match of {expected!r}"
    if not is_number(found):
        return f"not a number, expected {operator} {expected!r}"
    holds = found < expected if operator == "<" else found > expected
    return None if holds else f"expected {operator} {expected!r}"
