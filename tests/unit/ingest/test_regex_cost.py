"""Every pattern the scrubber runs on client text costs time linear in it: 32 KB shaped
to make a backtracking engine retry at every position costs under 5 ms each.

CPU time of this thread is measured (median of seven runs), so that other processes on
a busy machine do not count; the 30 KB `a@a.a.a…1` that took Python's engine 1.4 s is
one of the inputs.
"""

from __future__ import annotations

import statistics
import time

import pytest

from lookout_ingest import pii

SIZE = 32 * 1024
BUDGET_S = 0.005


def text(unit: str, tail: str = "") -> str:
    return (unit * (SIZE // len(unit) + 1))[: SIZE - len(tail)] + tail


# Inputs that make each pattern start, extend and give up at (nearly) every position.
ADVERSARIAL = {
    "email": [
        "a@" + text("a.", "1")[2:],  # the issue's `a@a.a.a.…1`
        text("a@a.", "1"),
        text("a.", "@"),
        text("a", "@"),
        "@" + text("a.", "1")[1:],
        text("a-", "@a"),
        text("é.", "@é.1"),
    ],
    "card": [text("1 "), text("1-"), text("1"), text("4111 1111 1111 111x "), text("1 x")],
    "phone": [
        text("1 "),
        text("1()"),
        text("+(1"),
        text("1"),
        text("12345678 x"),
        text("1.-"),
        text("(1) "),
    ],
    "nine_digits": [text("x", "1" * 8), "1" * 8 + text("x")[8:], text("1x")],
    "phone_run": [text("1 (", "x"), text("1) (1"), text("1"), "1" * 8 + text(" ")[8:]],
    "date": [text("1"), text("2026-1"), text("1.1.")],
    "grouped_number": [text("1 "), text("1."), text("1 000"), text("1.1", "x")],
    "ipv4": [text("1."), text("111.")],
}
PATTERNS = {
    "email": lambda s: pii.EMAIL.sub("", s),
    "card": lambda s: pii.CARD.sub("", s),
    "phone": lambda s: pii.PHONE.sub("", s),
    "nine_digits": lambda s: pii._NINE_DIGITS.search(s),
    "phone_run": lambda s: pii._PHONE_RUN.search(s),
    "date": lambda s: pii._DATE.search(s),
    "grouped_number": lambda s: pii._GROUPED_NUMBER.fullmatch(s),
    "ipv4": lambda s: pii._IPV4.fullmatch(s),
}


def cpu_seconds(run, value: str) -> float:
    samples = []
    for _ in range(7):
        started = time.thread_time()
        run(value)
        samples.append(time.thread_time() - started)
    return statistics.median(samples)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_each_scrubber_pattern_costs_under_5_ms_on_32_kb_of_adversarial_text(name) -> None:
    for value in ADVERSARIAL[name]:
        assert len(value) == SIZE
        cost = cpu_seconds(PATTERNS[name], value)
        assert cost < BUDGET_S, f"{name} took {cost * 1000:.1f} ms on {value[:20]!r}…"


def test_scrubbing_a_whole_adversarial_string_stays_under_the_budget_too() -> None:
    # Up to four patterns run on one string, each within its own budget.
    scrubber = pii.Scrubber(deny_keys=())
    for name, values in ADVERSARIAL.items():
        for value in values:
            cost = cpu_seconds(scrubber.text, value)
            assert cost < 3 * BUDGET_S, f"scrubbing {name} input took {cost * 1000:.1f} ms"


def test_email_pattern_still_finds_unicode_addresses_in_linear_time() -> None:
    found = pii.Scrubber(deny_keys=()).text("write to jö.smith@exämple.de, or a@b.c")
    assert found == "write to [redacted:email], or a@b.c"
