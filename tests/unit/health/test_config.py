"""The YAML config: valid files load; invalid ones are refused with file, line, reason."""

from __future__ import annotations

import pytest

from lookout_health.config import ConfigError, HttpCheck, parse_config

VALID = """
checks:
  - name: auth-service
    kind: http
    url: ${AUTH_URL}/health
    json:
      - {path: status, equals: ok}
    degraded_after_ms: 300
  - name: marketplace
    kind: table
    dsn: postgresql://monitor@db/marketplace
    tables: [users, bookings, public.messages]
    critical: false
"""


def test_valid_config_loads_with_defaults_and_environment(monkeypatch) -> None:
    monkeypatch.setenv("AUTH_URL", "https://auth.internal")
    config = parse_config(VALID, "checks.yaml")
    http = config.checks[0]
    assert isinstance(http, HttpCheck)
    assert http.url == "https://auth.internal/health"
    assert (http.interval_s, http.timeout_s) == (60.0, 10.0)
    assert (http.failures_before_incident, http.successes_before_resolve) == (3, 2)
    assert config.checks[1].critical is False


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("checks:\n  - name: a\n    kind: http\n    url: ftp://x\n", 4, "url must start with"),
        ("checks:\n  - name: a\n    kind: tcp\n    host: h\n    port: 70000\n", 5, "65535"),
        ("checks:\n  - name: a\n    kind: http\n    url: http://x\n    tiemout_s: 3\n", 5, "Extra"),
        ("checks: [\n", 2, "invalid YAML"),
        ("checks:\n  - name: a\n    kind: smoke-signal\n", 2, "does not match"),
        ("checks:\n  - name: Bad Name\n    kind: dns\n    host: x\n", 2, "should match pattern"),
        (
            "checks:\n  - {name: a, kind: dns, host: x}\n  - {name: a, kind: dns, host: y}\n",
            2,
            "twice",
        ),
        ("checks:\n  - name: a\n    kind: postgres\n    dsn: ${NOT_SET_ANYWHERE}\n", 4, "NOT_SET"),
        (
            "checks:\n  - name: t\n    kind: table\n    dsn: x\n    tables: ['users; drop']\n",
            5,
            "pattern",
        ),
    ],
)
def test_invalid_config_names_file_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "/etc/lookout/checks.yaml")
    assert caught.value.path == "/etc/lookout/checks.yaml"
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"/etc/lookout/checks.yaml:{line}: ")
