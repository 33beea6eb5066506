"""The alert rules pass promtool's checks and their unit tests (Debian's prometheus
package provides promtool; `make test` installs it)."""

from __future__ import annotations

import re
import shutil
import subprocess

import yaml
from support.repo import ROOT

RULES = ROOT / "deploy/prometheus/rules/lookout.yml"
TESTS = ROOT / "deploy/prometheus/tests/lookout_test.yml"
SOURCES = [
    *(ROOT / "services").glob("*/lookout_*/**/*.py"),
    *(ROOT / "libs").glob("*/lookout_*/**/*.py"),
]


def promtool(*arguments: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool missing: run scripts/system-deps.sh (Debian package prometheus)"
    return subprocess.run([binary, *arguments], capture_output=True, text=True, check=False)


def test_rules_are_valid() -> None:
    checked = promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout


def test_every_alert_has_a_passing_unit_test() -> None:
    tested = promtool("test", "rules", str(TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    covered = {
        case["alertname"]
        for test in yaml.safe_load(TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert alerts == covered


def test_rules_use_metrics_the_services_export() -> None:
    code = "\n".join(path.read_text() for path in SOURCES)
    exported = set(re.findall(r'"(lookout_[a-z_]+)"', code))
    rules = RULES.read_text()
    used = set(re.findall(r"\b(lookout_[a-z_]+?)(?:_bucket|_count|_sum)?\b[{\[)]", rules))
    assert {"lookout_ingest_events_total", "lookout_health_check_status"} <= used
    assert used <= exported, used - exported
