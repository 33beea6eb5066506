"""The event table in services/ingest/README.md stays true: every product event type has a
row, and each row's example is accepted by that type's model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lookout_common.contracts.events import EventType, typed_properties

README = Path(__file__).parents[3] / "services" / "ingest" / "README.md"
ROW = re.compile(r"^\| `(?P<event>[a-z_]+)`[^|]*\|[^|]*\| `(?P<example>\{.*\})` \|$")


def examples() -> dict[str, dict]:
    section = README.read_text().split("## Events", 1)[1].split("\n## ", 1)[0]
    found = {}
    for line in section.splitlines():
        if match := ROW.match(line):
            found[match["event"]] = json.loads(match["example"].replace("…", ""))
    return found


def test_every_product_event_has_a_documented_example() -> None:
    assert {event.value for event in EventType} <= set(examples())


@pytest.mark.parametrize("event", [event.value for event in EventType])
def test_each_documented_example_is_valid(event: str) -> None:
    assert typed_properties(event, examples()[event]) is not None
