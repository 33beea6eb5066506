"""The browser tracker's own checks (clients/js): its Node test suite passes and its build
produces the files a page loads. Needs Node and npm, which `make test` installs
(scripts/system-deps.sh); without them this fails rather than skips."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

CLIENT = Path(__file__).resolve().parents[2] / "clients" / "js"


def npm(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`npm <args>` in clients/js; fails the test with npm's output unless it exits 0."""
    executable = shutil.which("npm")
    if executable is None or shutil.which("node") is None:
        pytest.fail(
            "node and npm are needed for clients/js: run scripts/system-deps.sh "
            "(Debian packages nodejs and npm), as `make test` does"
        )
    done = subprocess.run(
        [executable, *args],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, (
        f"npm {' '.join(args)} exited {done.returncode}\n"
        f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    )
    return done


@pytest.fixture(scope="module")
def installed() -> None:
    """A reproducible install from package-lock.json (the tracker has no dependencies)."""
    if (CLIENT / "package-lock.json").exists():
        npm("ci", "--no-audit", "--no-fund")
    else:
        npm("install", "--no-audit", "--no-fund")


def test_tracker_node_test_suite_passes(installed: None) -> None:
    npm("test")


def test_tracker_build_writes_the_script_the_module_and_the_react_hook(installed: None) -> None:
    npm("run", "build")
    dist = CLIENT / "dist"
    assert "root.Lookout = " in (dist / "lookout.js").read_text()
    assert "init" in (dist / "lookout.mjs").read_text()
    react = (dist / "react.mjs").read_text()
    assert "from 'react';" in react
    assert "useAnalytics" in react
