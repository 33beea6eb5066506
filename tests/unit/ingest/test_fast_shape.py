"""The quick path of acceptance: `parse_plain_json` reads a body exactly as `parse_json`
does, and proves it free of surrogates only when it is; `fits` passes exactly the items
`shape_errors` finds nothing in, so an item that skips `shape_errors` could not have
failed it."""

from __future__ import annotations

import codecs
import json
import math
import random
import re

import pytest

from lookout_ingest.body import BodyRefused, parse_json, parse_plain_json
from lookout_ingest.bounds import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    MAX_KEY_CHARS,
    MAX_OBJECT_KEYS,
    MAX_STRING_CHARS,
    fits,
    shape_errors,
)


def nested(depth: int, leaf: object = 1) -> object:
    """A value `depth` levels deep, alternating objects and lists."""
    value = leaf
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def event(properties: object) -> dict:
    return {"type": "track", "event": "custom", "anonymousId": "a", "properties": properties}


AT_THE_LIMITS = [
    {"n": INT64_MAX, "m": INT64_MIN, "f": 1.5e308, "t": True, "z": None},
    {"s": "é" * MAX_STRING_CHARS},
    {"k" * MAX_KEY_CHARS: 1},
    {f"p{n}": n for n in range(MAX_OBJECT_KEYS - 1)},
    {"deep": nested(MAX_DEPTH - 2)},
    {"list": [nested(MAX_DEPTH - 3, "x"), [], {}]},
    {"pair": "\U0001f600"},
]
PAST_THE_LIMITS = [
    {"n": INT64_MAX + 1},
    {"n": INT64_MIN - 1},
    {"n": 10**40},
    {"f": math.nan},
    {"f": math.inf},
    {"f": -math.inf},
    {"s": "x" * (MAX_STRING_CHARS + 1)},
    {"list": ["ok", "x" * (MAX_STRING_CHARS + 1)]},
    {"k" * (MAX_KEY_CHARS + 1): 1},
    {f"p{n}": n for n in range(MAX_OBJECT_KEYS + 1)},
    {"deep": nested(MAX_DEPTH - 1)},
    {"deep": nested(MAX_DEPTH + 40)},
    {"list": [[1], [[2]], nested(MAX_DEPTH, "x")]},
]


@pytest.mark.parametrize("properties", AT_THE_LIMITS)
def test_values_at_the_limits_fit(properties) -> None:
    assert shape_errors(event(properties), None) == []
    assert fits(event(properties))


@pytest.mark.parametrize("properties", PAST_THE_LIMITS)
def test_each_value_past_a_limit_does_not_fit(properties) -> None:
    assert shape_errors(event(properties), None) != []
    assert not fits(event(properties))


def test_fits_agrees_with_shape_errors_on_random_values() -> None:
    generator = random.Random(16)
    scalars = [
        0,
        -7,
        INT64_MAX,
        INT64_MAX + 1,
        INT64_MIN - 1,
        2.5,
        math.nan,
        math.inf,
        True,
        None,
        "",
        "text",
        "x" * (MAX_STRING_CHARS + 1),
    ]

    def value(depth: int) -> object:
        roll = generator.random()
        if roll < 0.3 and depth < MAX_DEPTH + 3:
            return [value(depth + 1) for _ in range(generator.randint(0, 3))]
        if roll < 0.6 and depth < MAX_DEPTH + 3:
            key = "k" * (MAX_KEY_CHARS + 1) if generator.random() < 0.02 else "k"
            return {f"{key}{n}": value(depth + 1) for n in range(generator.randint(0, 3))}
        return generator.choice(scalars)

    items = [value(1) for _ in range(3_000)]
    outcomes = {fits(item) for item in items}
    assert outcomes == {True, False}, "the generator must make both kinds"
    for item in items:
        assert fits(item) == (shape_errors(item, None) == []), item


BODIES = [
    b'{"batch": [{"a": "x"}]}',
    b'{"a": "\\ud800"}',  # an escaped lone surrogate
    b'{"a": "\\uDFFF"}',
    b'{"\\udabc": 1}',
    b'{"a": "\\ud83d\\ude00"}',  # an escaped pair: still the slow, exact path
    b'{"a": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8 (json reads it through)
    codecs.BOM_UTF8 + b'{"a": 1}',
    '{"a": "\u00e9"}'.encode("utf-16"),
    '{"a": 1}'.encode("utf-16-le"),
    b'{"a": NaN, "b": 1e999}',
    b'{"a": ' + b"9" * 5000 + b"}",
    b"[" * 5000 + b"]" * 5000,
    b'{"a": 1} trailing',
    # Integers past 64 bits, which orjson would read as floats: left to `json`.
    b'{"a": 18446744073709551616}',
    b'{"a": [1, -9223372036854775809]}',
    b'{"a" :\n\t -9223372036854775809, "b": 1}',
    b'{"a": 123456789012345678901234567890.5}',
    b'{"a": 9223372036854775807, "b": -9223372036854775808, "c": 18446744073709551615}',
    b"[1, 2]",
    b'"text"',
    b"\xff\xfe\x00",
    b"",
]


@pytest.mark.parametrize("body", BODIES)
def test_parse_plain_json_reads_every_body_as_parse_json_does(body: bytes) -> None:
    refusal = None
    try:
        expected = parse_json(body)
    except BodyRefused as refused:
        refusal = refused.reason
    if refusal is not None:
        with pytest.raises(BodyRefused) as caught:
            parse_plain_json(body)
        assert caught.value.reason == refusal
        return
    data, plain = parse_plain_json(body)
    assert json.dumps(data, sort_keys=True) == json.dumps(expected, sort_keys=True)
    if plain:
        assert not re.search("[\ud800-\udfff]", json.dumps(data, ensure_ascii=False))


def test_only_utf8_text_without_surrogate_escapes_is_plain() -> None:
    assert parse_plain_json('{"a": "é \\n \\u00e9"}'.encode()) == ({"a": "é \n é"}, True)
    assert parse_plain_json(b'{"a": "\\ud800"}')[1] is False
    assert parse_plain_json(b'{"a": "\\uD83D\\uDE00"}')[1] is False
    assert parse_plain_json(codecs.BOM_UTF8 + b'{"a": 1}') == ({"a": 1}, False)
    assert parse_plain_json('{"a": 1}'.encode("utf-16")) == ({"a": 1}, False)


def test_a_body_nested_past_pythons_limit_but_within_orjsons_is_read_then_refused() -> None:
    # The one difference from parse_json (Python's recursion limit, ~1,000 levels, less
    # the stack in use; orjson's is 1,024): its items are refused one by one instead.
    body = b'{"batch": [' + b"[" * 1_010 + b"]" * 1_010 + b"]}"
    with pytest.raises(BodyRefused, match="nested too deeply"):
        parse_json(body)
    data, plain = parse_plain_json(body)
    assert plain
    assert not fits(data["batch"][0])
    assert shape_errors(data["batch"][0], 0)[0].reason == "nested deeper than 32 levels"
