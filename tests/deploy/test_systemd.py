"""deploy/systemd: the one-server unit passes `systemd-analyze verify` without a warning,
runs `lookout up` over its state directory with a stop longer than the drain, and its
example environment file sets only real settings."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

from support.repo import ROOT, settings_classes

from lookout_common.infra.settings import StackSettings

UNIT = ROOT / "deploy" / "systemd" / "lookout.service"
INSTALLED_LOOKOUT = "/opt/lookout/.venv/bin/lookout"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive
    parser.read_string(UNIT.read_text())
    return parser


def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: point it at this checkout's CLI.
    here = Path(sys.executable).parent / "lookout"
    assert here.exists()
    unit = tmp_path / "lookout.service"
    unit.write_text(UNIT.read_text().replace(INSTALLED_LOOKOUT, str(here)))
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_unit_runs_lookout_up_over_its_state_directory() -> None:
    service = _unit()["Service"]
    program, *arguments = service["ExecStart"].split()
    assert program == INSTALLED_LOOKOUT
    assert arguments[:3] == ["up", "--data-dir", f"/var/lib/{service['StateDirectory']}"]
    assert service["WorkingDirectory"] == f"/var/lib/{service['StateDirectory']}"
    assert service["User"] != "root"
    # Only `lookout up` gets SIGTERM and stops its children in order; the stop outlasts
    # the default drain.
    assert service["KillMode"] == "mixed"
    default_drain = StackSettings.model_fields["drain_timeout_s"].default
    assert float(service["TimeoutStopSec"]) > default_drain + 30
    assert service["Restart"] == "on-failure"


def test_example_environment_sets_only_real_settings() -> None:
    known = {f"LOOKOUT_{field.upper()}" for cls in settings_classes() for field in cls.model_fields}
    example = (UNIT.parent / "lookout.env.example").read_text().splitlines()
    names = {
        line.lstrip("# ").split("=", 1)[0]
        for line in example
        if line.lstrip("# ").startswith("LOOKOUT_") and "=" in line
    }
    assert "LOOKOUT_S3_BUCKET" in names
    assert names - known == set()
