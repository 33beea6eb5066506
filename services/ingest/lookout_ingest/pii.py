"""Scrubbing personal data out of event values before they reach Kafka.

Inside every string (at any depth of dicts and lists) an email address, a phone
number or a payment card number is replaced by `[redacted:email]`, `[redacted:phone]`
or `[redacted:card]`. The value of a deny-listed key (compared ignoring case, `_` and
`-`) is replaced whole by `[redacted]`, whatever its type. Keys are never changed.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import re2

from lookout_ingest.privacy import normalized_key

REDACTED = "[redacted]"

# Every pattern here runs on client text, so each runs in time linear in it. EMAIL and
# _NINE_DIGITS have unbounded repeats that backtrack quadratically in Python's engine
# (30 KB of `a@a.a.a…1` took 1.4 s), so RE2 runs them (Unicode classes spelled out: its
# \w and \d are ASCII). CARD and PHONE need look-arounds, which RE2 lacks; they stay in
# `re` because every repeat in them is bounded (at most 19 digit groups, separators and
# digits never overlap), so each start position costs a constant; the separators and
# the `+(` prefix are possessive (`?+`, `{0,2}+`): giving one back can never let a digit
# match, so the engine does not try. PHONE runs only when RE2 finds a run it could match.
_WORD = r"\p{L}\p{N}_"
EMAIL = re2.compile(rf"[{_WORD}.%+\-]+@[{_WORD}\-]+(?:\.[{_WORD}\-]+)*\.\p{{L}}{{2,}}")
# A run of digits with single spaces or dashes, not glued to a word, a path, a decimal
# or a longer number; Luhn and the length are checked on each candidate.
CARD = re.compile(r"(?<![\w.+\-/:])(?<!\d[ .\-])\d(?:[ \-]?+\d){12,18}(?![\w/:]|[ .\-]\d)")
# At least 9 digits with spaces, dots, dashes or parentheses, optionally after a `+`;
# never started inside a token (version numbers, UUIDs, paths) nor ended inside one
# (`2026-11-25 12:00` stops at the colon and has too few digits before it).
PHONE = re.compile(
    r"(?<![\w.+\-/:])(?<!\d[ .\-])\+?+\(?+\d(?:[ .\-()]{0,2}+\d){8,18}(?![\w/:]|[ .\-]\d)"
)
_D = r"\p{Nd}"
# Every PHONE match lies inside one of these: 9 or more digits, each pair at most two
# separators apart.
_PHONE_RUN = re2.compile(rf"\+?\(?{_D}(?:[ .\-()]{{0,2}}{_D}){{8,}}")
_DATE = re2.compile(
    rf"{_D}{{4}}[-./]{_D}{{1,2}}[-./]{_D}{{1,2}}|{_D}{{1,2}}[-./]{_D}{{1,2}}[-./]{_D}{{4}}"
)
_GROUPED_NUMBER = re2.compile(
    rf"{_D}{{1,3}}(?:[ .]{_D}{{3}})+(?:[.,]{_D}{{1,2}})?|{_D}+[ .{_D}]*\.{_D}{{1,2}}"
)
_IPV4 = re2.compile(rf"{_D}{{1,3}}(?:\.{_D}{{1,3}}){{3}}")
_NINE_DIGITS = re2.compile(r"(?:\p{Nd}\P{Nd}*){9}")
# Issuer identification numbers start with 2 to 6 (Mastercard 2-series, Amex, Visa,
# Mastercard, Discover/UnionPay); this keeps Luhn-valid millisecond timestamps and
# order numbers out.
_CARD_FIRST_DIGITS = frozenset("23456")


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def is_card_number(candidate: str) -> bool:
    digits = _digits(candidate)
    return 13 <= len(digits) <= 19 and digits[0] in _CARD_FIRST_DIGITS and luhn_valid(digits)


def is_phone_number(candidate: str) -> bool:
    digits = _digits(candidate)
    if not 9 <= len(digits) <= 15:
        return False
    has_separator = candidate.startswith("+") or any(not char.isdigit() for char in candidate)
    if not has_separator:
        return False  # a bare digit run is an id, a timestamp or an amount as often
    if candidate.startswith("+"):
        return True
    return not (
        _DATE.search(candidate)
        or _GROUPED_NUMBER.fullmatch(candidate)
        or _IPV4.fullmatch(candidate)
    )


@functools.cache
def _normalized(deny_keys: tuple[str, ...]) -> frozenset[str]:
    # One scrubber is made per request and per dead letter, from the same few lists.
    return frozenset(normalized_key(key) for key in deny_keys)


class Scrubber:
    """Applies the rules above; `redactions` counts what it replaced, by kind."""

    def __init__(self, deny_keys: Iterable[str]) -> None:
        self._deny = _normalized(tuple(deny_keys))
        self.redactions: Counter[str] = Counter()

    def denied(self, key: str) -> bool:
        return normalized_key(key) in self._deny

    def value(self, value: Any) -> Any:
        """`value` with personal data replaced (a new object; the input is not changed)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return self.mapping(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        return value

    def mapping(self, values: dict[str, Any]) -> dict[str, Any]:
        scrubbed = {}
        for key, value in values.items():
            if self.denied(key) and value not in (None, ""):
                self.redactions["key"] += 1
                scrubbed[key] = REDACTED
            else:
                scrubbed[key] = self.value(value)
        return scrubbed

    def text(self, text: str) -> str:
        if "@" in text:
            text = EMAIL.sub(self._replace("email"), text)
        # Nine digits need nine characters: most values are shorter, and are spared the
        # call into RE2.
        if len(text) >= 9 and _NINE_DIGITS.search(text):
            text = CARD.sub(self._replace("card", is_card_number), text)
            if _PHONE_RUN.search(text):
                text = PHONE.sub(self._replace("phone", is_phone_number), text)
        return text

    def _replace(
        self, kind: str, accept: Callable[[str], bool] | None = None
    ) -> Callable[[Any], str]:
        def replace(match: Any) -> str:
            found: str = match.group()
            if accept is not None and not accept(found):
                return found
            self.redactions[kind] += 1
            return f"[redacted:{kind}]"

        return replace
