"""The JavaScript clients' own checks (clients/js: @lookout/tracker, and clients/js/admin:
@lookout/admin): their Node test suites pass, their hand-written types check with tsc,
the tracker's build produces the files a page loads, and both packages `npm pack` with
exactly the files a user needs. Needs Node and npm, which `make test` installs
(scripts/system-deps.sh); `npm ci` installs the devDependencies (React, the test renderer,
TypeScript) from package-lock.json. Without Node this fails rather than skips."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

CLIENTS = Path(__file__).resolve().parents[2] / "clients" / "js"
ADMIN = CLIENTS / "admin"


def npm(*args: str, cwd: Path = CLIENTS, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`npm <args>` in `cwd`; fails the test with npm's output unless it exits 0."""
    executable = shutil.which("npm")
    if executable is None or shutil.which("node") is None:
        pytest.fail(
            "node and npm are needed for clients/js: run scripts/system-deps.sh "
            "(Debian packages nodejs and npm), as `make test` does"
        )
    done = subprocess.run(
        [executable, *args],
        cwd=cwd,
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
    """A reproducible install of the devDependencies from package-lock.json; the admin
    package's tests resolve them from clients/js/node_modules too."""
    npm("ci", "--no-audit", "--no-fund")


def packed_files(cwd: Path) -> set[str]:
    [packed] = json.loads(npm("pack", "--dry-run", "--json", cwd=cwd).stdout)
    return {entry["path"] for entry in packed["files"]}


def test_tracker_node_test_suite_passes(installed: None) -> None:
    npm("test")


def test_admin_node_test_suite_passes(installed: None) -> None:
    npm("test", cwd=ADMIN)


def test_both_packages_types_check_with_tsc(installed: None) -> None:
    npm("run", "typecheck")


def test_tracker_build_writes_the_script_the_module_and_the_react_hook(installed: None) -> None:
    npm("run", "build")
    dist = CLIENTS / "dist"
    assert "root.Lookout = " in (dist / "lookout.js").read_text()
    assert "init" in (dist / "lookout.mjs").read_text()
    react = (dist / "react.mjs").read_text()
    assert "from 'react';" in react
    assert "useAnalytics" in react


def test_both_packages_pack_with_their_code_types_and_readme(installed: None) -> None:
    npm("run", "build")
    assert packed_files(CLIENTS) == {
        "package.json",
        "README.md",
        "dist/lookout.js",
        "dist/lookout.mjs",
        "dist/react.mjs",
        "types/index.d.ts",
        "types/react.d.ts",
    }
    sources = {f"src/{path.name}" for path in (ADMIN / "src").glob("*.js")}
    assert "src/index.js" in sources
    assert packed_files(ADMIN) == {
        "package.json",
        "README.md",
        "types/index.d.ts",
        "types/react.d.ts",
        *sources,
    }
    manifest = json.loads((ADMIN / "package.json").read_text())
    assert "dependencies" not in manifest, "@lookout/admin has no runtime dependencies"
