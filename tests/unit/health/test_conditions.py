"""Conditions on a run: response time (`max_response_ms`), JSON paths on the body."""

from __future__ import annotations

import asyncio

import pytest

from lookout_common.contracts.health_events import CheckStatus
from lookout_health.checks.custom import add_custom_check
from lookout_health.checks.network import failed_conditions
from lookout_health.config import ConfigError, JsonCondition, parse_config
from lookout_health.incidents import CheckState, observe
from lookout_health.jsonpath import MISSING, lookup
from lookout_health.monitor import probe


async def test_a_run_slower_than_max_response_ms_fails_with_its_time() -> None:
    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "answered"

    check = add_custom_check("slow-answer", slow)
    check = check.model_copy(update={"max_response_ms": 10.0})
    run = await probe(check)
    assert not run.succeeded
    assert run.message.startswith("answered in ")
    assert run.message.endswith(" ms, more than max_response_ms 10: answered")
    fast = await probe(check.model_copy(update={"max_response_ms": 5000.0}))
    assert fast.succeeded
    assert fast.message == "answered"


def test_a_success_flagged_degraded_is_degraded_and_still_a_success() -> None:
    check = add_custom_check("flagged", lambda: None)  # type: ignore[arg-type, return-value]
    seen = observe(
        CheckState(failures=2),
        check,
        succeeded=True,
        response_time_ms=1.0,
        message="certificate expires in 3 days",
        degraded=True,
    )
    assert seen.status is CheckStatus.DEGRADED
    assert seen.state.failures == 0
    assert seen.state.successes == 1


BODY = {
    "status": "ok",
    "checks": [{"name": "db", "latency_ms": 12.5}, {"name": "queue", "depth": 40}],
    "x.y": {"count": 3},
    "version": "2.14.1",
    "flag": True,
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.status", "ok"),
        ("$.checks[0].name", "db"),
        ("$.checks[-1].depth", 40),
        ("$['x.y'].count", 3),
        ('$["x.y"]["count"]', 3),
        ("checks.1.name", "queue"),  # the older dotted form
        ("$", BODY),
    ],
)
def test_json_path_subset_finds_values(path: str, expected: object) -> None:
    assert lookup(BODY, path) == expected


@pytest.mark.parametrize("path", ["$.missing", "$.checks[2]", "$.status[0]", "$.checks.name"])
def test_json_path_to_nothing_is_missing(path: str) -> None:
    assert lookup(BODY, path) is MISSING


def json_condition(**fields: object) -> list[str]:
    return failed_conditions(BODY, [JsonCondition.model_validate(fields)])


def test_comparisons_hold_or_say_why_not() -> None:
    assert json_condition(path="$.status", op="==", value="ok") == []
    assert json_condition(path="$.status", equals="ok") == []
    assert json_condition(path="$.status", op="!=", value="ok") == [
        "$.status is 'ok', expected anything but 'ok'"
    ]
    assert json_condition(path="$.checks[0].latency_ms", op="<", value=100) == []
    assert json_condition(path="$.checks[0].latency_ms", op=">", value=100) == [
        "$.checks[0].latency_ms is 12.5, expected > 100"
    ]
    assert json_condition(path="$.checks[1].depth", op=">", value=10) == []
    assert json_condition(path="$.status", op="<", value=3) == [
        "$.status is 'ok', not a number, expected < 3"
    ]
    assert json_condition(path="$.flag", op=">", value=0) == [
        "$.flag is True, not a number, expected > 0"
    ]
    assert json_condition(path="$.version", op="matches", value=r"^2\.\d+\.\d+$") == []
    assert json_condition(path="$.version", op="matches", value=r"^3\.") == [
        "$.version is '2.14.1', expected a match of '^3\\\\.'"
    ]
    assert json_condition(path="$.nothing", op="==", value=1) == ["$.nothing is missing"]
    assert json_condition(path="$.nothing", op="==", value=1, present=False) == []


@pytest.mark.parametrize(
    ("condition", "line", "reason"),
    [
        (
            "{path: '$.a..b'}",
            4,
            "checks.0.json.0.path: Value error, at character 4: expected `.name`, "
            "`[index]` or `['name']`",
        ),
        (
            "{path: '$.a[x]'}",
            4,
            "checks.0.json.0.path: Value error, at character 4: expected `.name`, "
            "`[index]` or `['name']`",
        ),
        (
            "{path: $.a, op: '<', value: high}",
            4,
            "checks.0.json.0: Value error, `<` compares numbers; value 'high' is not one",
        ),
        (
            "{path: $.a, op: matches, value: '(unclosed'}",
            4,
            "checks.0.json.0: Value error, not a valid RE2 regular expression: missing ): "
            "(unclosed",
        ),
        (
            "{path: $.a, op: '~', value: 1}",
            4,
            "checks.0.json.0.op: Input should be '==', '!=', '<', '>' or 'matches'",
        ),
        (
            "{path: $.a, value: 1}",
            4,
            "checks.0.json.0: Value error, `value` needs an `op` (==, !=, <, > or matches)",
        ),
    ],
)
def test_a_bad_condition_is_refused_at_load_with_its_field_and_reason(
    condition: str, line: int, reason: str
) -> None:
    text = f"checks:\n  - name: api\n    kind: http\n    url: http://x/\n    json: [{condition}]\n"
    with pytest.raises(ConfigError) as refused:
        parse_config(text, "checks.yaml")
    assert refused.value.reason == reason
    assert refused.value.line in (line, line + 1)
