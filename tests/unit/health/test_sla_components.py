"""Components: the groups of checks the status page and the SLA report show."""

from __future__ import annotations

import pytest

from lookout_health.config import ConfigError, parse_config


def test_a_check_belongs_to_its_component_or_else_to_itself() -> None:
    config = parse_config(
        "checks:\n"
        "  - {name: api-eu, kind: tcp, host: a, port: 1, component: Public API}\n"
        "  - {name: api-us, kind: tcp, host: b, port: 1, component: Public API}\n"
        "  - {name: smtp, kind: tcp, host: c, port: 25}\n"
    )
    assert [check.component_name for check in config.checks] == [
        "Public API",
        "Public API",
        "smtp",
    ]


def test_a_component_name_is_a_label_not_markup() -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config("checks:\n  - {name: a, kind: tcp, host: a, port: 1, component: '<b>x'}\n")
    assert refused.value.line == 2
    assert "component" in refused.value.reason
