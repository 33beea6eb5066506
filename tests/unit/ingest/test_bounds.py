"""The shape bounds every event must fit: each hostile value is an item error naming its
field, never an exception, and a dead letter can always be encoded."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, JsonValue

from lookout_common.contracts.events import DeadLetterCode
from lookout_ingest.bounds import (
    MAX_DEPTH,
    MAX_ERRORS_PER_EVENT,
    MAX_KEY_CHARS,
    MAX_OBJECT_KEYS,
    MAX_STRING_CHARS,
    carried,
    shape_errors,
    shown_key,
)
from lookout_ingest.messages import Rejected, to_event

RECEIVED = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def nested(depth: int) -> dict:
    """An object `depth` levels deep (the object itself is level 1)."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def event(properties: dict) -> dict:
    return {"type": "track", "event": "custom", "anonymousId": "a", "properties": properties}


def fields(item) -> dict[str, str]:
    return {error.field: error.reason for error in shape_errors(item, 3)}


@pytest.mark.parametrize(
    ("properties", "field", "reason"),
    [
        ({"q": "\ud800"}, "properties.q", "lone surrogate"),
        ({"q": ["ok", "x\udfffy"]}, "properties.q.1", "lone surrogate"),
        ({"\ud800": 1}, "properties.\\ud800", "key contains a lone surrogate"),
        ({"n": math.nan}, "properties.n", "finite"),
        ({"n": math.inf}, "properties.n", "finite"),
        ({"n": -math.inf}, "properties.n", "finite"),
        ({"n": 2**63}, "properties.n", "64-bit"),
        ({"n": -(2**63) - 1}, "properties.n", "64-bit"),
        ({"s": "x" * (MAX_STRING_CHARS + 1)}, "properties.s", "longer than 16384"),
        ({"k" * (MAX_KEY_CHARS + 1): 1}, "properties." + "k" * 64 + "…", "key longer than 256"),
        ({f"p{n}": n for n in range(MAX_OBJECT_KEYS + 1)}, "properties", "more than 256"),
    ],
)
def test_each_hostile_value_is_named_by_its_field(properties, field, reason) -> None:
    found = fields(event(properties))
    assert field in found, found
    assert reason in found[field]
    assert all(error.index == 3 for error in shape_errors(event(properties), 3))


def test_nesting_is_allowed_to_the_limit_and_refused_past_it() -> None:
    # The event is level 1 and `properties` level 2.
    assert shape_errors(event(nested(MAX_DEPTH - 1)), None) == []
    too_deep = fields(event(nested(MAX_DEPTH)))
    assert too_deep == {"properties" + ".a" * (MAX_DEPTH - 1): "nested deeper than 32 levels"}


def test_a_value_nested_past_any_recursion_limit_is_walked_without_recursion() -> None:
    value: list = []
    for _ in range(5_000):
        value = [value]
    assert [error.reason for error in shape_errors(event({"v": value}), None)] == [
        "nested deeper than 32 levels"
    ]


def test_values_at_the_limits_pass() -> None:
    properties = {
        "big": 2**63 - 1,
        "small": -(2**63),
        "float": 1.5e308,
        "text": "é" * MAX_STRING_CHARS,
        "k" * MAX_KEY_CHARS: True,
        "pair": "\U0001f600",  # an astral character is a surrogate pair only in UTF-16
    }
    assert shape_errors(event(properties), None) == []


def test_errors_of_one_event_are_capped() -> None:
    properties = {f"n{n}": math.nan for n in range(50)}
    assert len(shape_errors(event(properties), None)) == MAX_ERRORS_PER_EVENT


def test_shown_key_escapes_what_an_answer_cannot_carry() -> None:
    assert shown_key("\ud800x") == "\\ud800x"
    assert shown_key("a\nb") == "a\\x0ab"
    assert shown_key("k" * 300) == "k" * 64 + "…"


def test_carried_makes_any_parsed_value_encodable() -> None:
    hostile = {"\ud800": ["\udfff", math.nan, math.inf, 10**40, nested(MAX_DEPTH + 5)]}

    class Letter(BaseModel):
        payload: JsonValue

    encoded = Letter(payload=carried(hostile)).model_dump_json()
    decoded = json.loads(encoded)["payload"]
    assert decoded["\ufffd"][:4] == ["\ufffd", "nan", "inf", str(10**40)]
    assert "[nested too deep]" in encoded


@pytest.mark.parametrize(
    ("properties", "field"),
    [
        ({"q": "\ud800"}, "properties.q"),
        ({"n": math.nan}, "properties.n"),
        ({"n": 10**30}, "properties.n"),
        ({"deep": nested(40)}, "properties.deep" + ".a" * (MAX_DEPTH - 2)),
    ],
)
def test_to_event_refuses_a_hostile_item_as_invalid_before_validating_it(properties, field):
    with pytest.raises(Rejected) as caught:
        to_event(
            event(properties),
            kind=None,
            index=0,
            received_at=RECEIVED,
            source="web",
            request_id="r",
        )
    assert caught.value.code is DeadLetterCode.INVALID
    assert [error.field for error in caught.value.errors] == [field]


def test_lone_surrogate_in_an_actor_id_is_refused_too() -> None:
    raw = {"type": "track", "event": "custom", "userId": "u\ud800"}
    with pytest.raises(Rejected) as caught:
        to_event(raw, kind=None, index=None, received_at=RECEIVED, source="w", request_id="r")
    assert caught.value.errors[0].field == "userId"
