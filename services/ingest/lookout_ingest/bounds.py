"""The shape every event must fit before anything else reads it.

Python's JSON parser accepts what Kafka, Postgres or our own encoder cannot carry
(lone surrogates, NaN, integers of any size) and nests as deep as the body does.
`shape_errors` walks one raw item without recursion and names each such value by
its field, so that the item is refused alone and the rest of the request is kept.
"""

from __future__ import annotations

import math
import re
from typing import Any

from lookout_common.contracts.events import FieldError

MAX_BATCH_ITEMS = 2_500  # Segment's limit for one batch request
MAX_DEPTH = 32  # nested objects and lists, the event itself being level 1
MAX_OBJECT_KEYS = 256  # members of any one object (properties, traits, context, …)
MAX_KEY_CHARS = 256  # length of any key
MAX_STRING_CHARS = 16_384  # any string value (typed fields have tighter limits)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_ERRORS_PER_EVENT = 5  # the rest of a hopeless event's errors would only repeat these

_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SHOWN_KEY_CHARS = 64


def shown_key(key: str) -> str:
    """A key as it may appear in an answer or a log: surrogates and control characters
    escaped, cut to 64 characters (the answer itself must always encode)."""
    text = key.encode("utf-8", "backslashreplace").decode("utf-8")
    text = "".join(char if char.isprintable() else f"\\x{ord(char):02x}" for char in text)
    return text if len(text) <= _SHOWN_KEY_CHARS else text[:_SHOWN_KEY_CHARS] + "…"


def _path(parts: tuple[str | int, ...]) -> str:
    return ".".join(shown_key(part) if isinstance(part, str) else str(part) for part in parts)


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            return f"string longer than {MAX_STRING_CHARS} characters"
        if _SURROGATE.search(value):
            return "string contains a lone surrogate (not valid Unicode)"
    elif isinstance(value, bool) or value is None:
        return None
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            return "integer outside the signed 64-bit range (±2^63)"
    elif isinstance(value, float) and not math.isfinite(value):
        return "number must be finite (NaN and Infinity are not JSON)"
    return None


def fits(item: Any, depth: int = 1) -> bool:
    """Whether `item`, a value parsed from a body proven free of surrogates (see
    `body.parse_plain_json`), is within every bound `shape_errors` checks: True exactly when
    `shape_errors` would find nothing. One pass over the values without building paths,
    for the common case; what does not fit is then named by `shape_errors`."""
    kind = type(item)
    if kind is dict:
        if depth > MAX_DEPTH or len(item) > MAX_OBJECT_KEYS:
            return False
        for key in item:
            if len(key) > MAX_KEY_CHARS:
                return False
        values = item.values()
    elif kind is list:
        if depth > MAX_DEPTH:
            return False
        values = item
    else:
        values = (item,)
    for value in values:
        kind = type(value)
        if kind is str:
            if len(value) > MAX_STRING_CHARS:
                return False
        elif kind is dict or kind is list:
            if not fits(value, depth + 1):
                return False
        elif kind is int:
            if not INT64_MIN <= value <= INT64_MAX:
                return False
        elif kind is float and not math.isfinite(value):
            return False
    return True


def shape_errors(item: Any, index: int | None) -> list[FieldError]:
    """Every value of `item` Lookout cannot carry (at most MAX_ERRORS_PER_EVENT),
    each named by its dotted field path relative to the item."""
    errors: list[FieldError] = []
    stack: list[tuple[tuple[str | int, ...], Any, int]] = [((), item, 1)]
    while stack and len(errors) < MAX_ERRORS_PER_EVENT:
        path, value, depth = stack.pop()
        if isinstance(value, dict | list) and depth > MAX_DEPTH:
            reason = f"nested deeper than {MAX_DEPTH} levels"
            errors.append(FieldError(index=index, field=_path(path), reason=reason))
            continue
        if isinstance(value, dict):
            if len(value) > MAX_OBJECT_KEYS:
                reason = f"object has more than {MAX_OBJECT_KEYS} properties"
                errors.append(FieldError(index=index, field=_path(path), reason=reason))
                continue
            for key, member in reversed(value.items()):
                if len(key) > MAX_KEY_CHARS:
                    reason = f"key longer than {MAX_KEY_CHARS} characters"
                    errors.append(FieldError(index=index, field=_path((*path, key)), reason=reason))
                elif _SURROGATE.search(key):
                    reason = "key contains a lone surrogate (not valid Unicode)"
                    errors.append(FieldError(index=index, field=_path((*path, key)), reason=reason))
                else:
                    stack.append(((*path, key), member, depth + 1))
        elif isinstance(value, list):
            stack.extend(
                ((*path, position), member, depth + 1)
                for position, member in reversed(list(enumerate(value)))
            )
        elif problem := _scalar_problem(value):
            errors.append(FieldError(index=index, field=_path(path), reason=problem))
    return errors[:MAX_ERRORS_PER_EVENT]


def carried(value: Any, depth: int = 1) -> Any:
    """`value` made encodable for a dead letter: lone surrogates become U+FFFD, numbers
    JSON cannot hold become their text, and what is nested too deep becomes a marker."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else str(value)[:64]
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth > MAX_DEPTH:
        return "[nested too deep]"
    if isinstance(value, dict):
        return {carried(key): carried(member, depth + 1) for key, member in value.items()}
    if isinstance(value, list):
        return [carried(member, depth + 1) for member in value]
    return str(value)
