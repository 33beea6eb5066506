"""The JavaScript clients' own checks (clients/js: @lookout/tracker, and clients/js/admin:
@lookout/admin): their Node test suites pass, their hand-written types check with tsc,
the tracker's build produces the files a page loads, both packages `npm pack` with
exactly the files a user needs, and the admin package's answer types have exactly the
properties, and the JSON types, of dashboard-api's OpenAPI answers. Needs Node and npm,
which `make test` installs (scripts/system-deps.sh); `npm ci` installs the
devDependencies (React, the test renderer, TypeScript) from package-lock.json. Without
Node this fails rather than skips."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

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


# The admin package's answer types, checked against dashboard-api's OpenAPI document:
# each call's answer, by the method that resolves with it (scheduleBackup resolves with
# the new schedule's id, deleteSchedule with null: neither is a schema).
JS_ANSWERS: dict[tuple[str, str], tuple[str, str]] = {
    ("HealthService", "performHealthCheck"): ("POST", "/api/v1/health/checks/run"),
    ("HealthService", "getSystemStatus"): ("GET", "/api/v1/health/status"),
    ("HealthService", "getIncidents"): ("GET", "/api/v1/health/incidents"),
    ("HealthService", "getChecks"): ("GET", "/api/v1/health/checks"),
    ("HealthService", "getLocations"): ("GET", "/api/v1/health/locations"),
    ("BackupService", "performBackup"): ("POST", "/api/v1/backups/actions"),
    ("BackupService", "restoreFromBackup"): ("POST", "/api/v1/backups/actions"),
    ("BackupService", "list"): ("GET", "/api/v1/backups/runs"),
    ("BackupService", "getRun"): ("GET", "/api/v1/backups/runs/{run_id}"),
    ("BackupService", "listSchedules"): ("GET", "/api/v1/backups/schedules"),
}
REF = "#/components/schemas/"
Shape = frozenset[object]  # the JSON values a type allows, one entry per alternative


class DtsContract:
    """Compares the .d.ts types (as tests/clients/dts_interfaces.mjs reads them) with the
    document's schemas: property names both ways, and the JSON each property may hold
    (integers are numbers, date-times and enumerations strings, as TypeScript sees them).
    Interfaces and inline object types are paired with the schema found in their place."""

    def __init__(self, declared: dict[str, Any], document: dict[str, Any]) -> None:
        self.interfaces: dict[str, Any] = declared["interfaces"]
        self.aliases: dict[str, Any] = declared["aliases"]
        self.document = document
        self.pairs: dict[str, str] = {}  # interface name (or inline object path) → schema
        self.inline: dict[str, dict[str, Any]] = {}  # inline object path → its properties
        self.problems: list[str] = []

    def schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.document["components"]["schemas"][schema["$ref"].removeprefix(REF)]
        return schema

    def properties(self, name: str) -> dict[str, Any]:
        if name in self.inline:
            return self.inline[name]
        interface = self.interfaces[name]
        merged: dict[str, Any] = {}
        for parent in interface["extends"]:
            merged |= self.properties(parent)
        return merged | interface["properties"]

    def document_shape(self, schema: dict[str, Any]) -> Shape:
        if "anyOf" in schema:
            return frozenset().union(*(self.document_shape(one) for one in schema["anyOf"]))
        if "$ref" in schema:
            target = self.schema(schema)
            if "properties" in target:
                return frozenset({("object", schema["$ref"].removeprefix(REF))})
            return self.document_shape(target)
        kind = schema.get("type")
        if kind == "array":
            return frozenset({("array", self.document_shape(schema["items"]))})
        if kind == "object":
            values = schema.get("additionalProperties", True)
            held = "unknown" if values is True else self.document_shape(values)
            return frozenset({("map", held)})
        assert kind in ("string", "integer", "number", "boolean", "null"), schema
        return frozenset({"number" if kind == "integer" else kind})

    def type_shape(self, declared: Any, where: str) -> Shape:
        if isinstance(declared, str):
            return frozenset({declared})
        if "union" in declared:
            return frozenset().union(*(self.type_shape(one, where) for one in declared["union"]))
        if "array" in declared:
            return frozenset({("array", self.type_shape(declared["array"], where))})
        if "object" in declared:
            self.inline[where] = declared["object"]
            return frozenset({("object", self.pairs.get(where, f"(inline) {where}"))})
        if "ref" in declared:
            name, arguments = declared["ref"], declared["args"]
            if name == "Record":
                key, value = arguments
                assert key == "string", declared
                held = "unknown" if value == "unknown" else self.type_shape(value, where)
                return frozenset({("map", held)})
            if name in self.aliases:
                return self.type_shape(self.aliases[name], where)
            assert name in self.interfaces, declared
            return frozenset({("object", self.pairs.get(name, f"(interface) {name}"))})
        raise AssertionError(f"{where}: no JSON shape for {declared}")

    def pair(self, declared: Any, schema: dict[str, Any], where: str) -> None:
        """Records which schema each interface or inline object in `declared` stands for."""
        if "anyOf" in schema:
            for one in schema["anyOf"]:
                self.pair(declared, one, where)
            return
        if isinstance(declared, str):
            return
        if "union" in declared:
            for one in declared["union"]:
                self.pair(one, schema, where)
            return
        if "$ref" in schema and "properties" in self.schema(schema):
            name = schema["$ref"].removeprefix(REF)
            if "object" in declared:
                self.inline[where] = declared["object"]
                self.pairs.setdefault(where, name)
            elif "ref" in declared and declared["ref"] in self.interfaces:
                self.pairs.setdefault(declared["ref"], name)
            return
        if schema.get("type") == "array" and "array" in declared:
            self.pair(declared["array"], schema["items"], where)
        if isinstance(schema.get("additionalProperties"), dict) and declared.get("ref") == "Record":
            self.pair(declared["args"][1], schema["additionalProperties"], where)

    def compare(self, name: str) -> None:
        schema = self.document["components"]["schemas"][self.pairs[name]]
        declared = self.properties(name)
        for wire in schema["properties"]:
            if wire not in declared:
                self.problems.append(f"{name} ({self.pairs[name]}): no property `{wire}`")
        for wire, declared_type in declared.items():
            where = f"{name}.{wire}"
            if wire not in schema["properties"]:
                self.problems.append(f"{where}: the document has no such property")
                continue
            self.pair(declared_type, schema["properties"][wire], where)
            expected = self.document_shape(schema["properties"][wire])
            if self.type_shape(declared_type, where) != expected:
                self.problems.append(f"{where}: {declared_type} in the .d.ts, {expected}")

    def run(self) -> set[str]:
        """Compares every answer and every type inside one; returns what was compared."""
        for (service, method), (verb, path) in JS_ANSWERS.items():
            responses = self.document["paths"][path][verb.lower()]["responses"]
            (success,) = [answer for status, answer in responses.items() if status[0] == "2"]
            schema = success["content"]["application/json"]["schema"]
            promise = self.interfaces[service]["methods"][method]
            assert promise["ref"] == "Promise", promise
            (answer,) = promise["args"]
            where = f"{service}.{method}()"
            self.pair(answer, schema, where)
            if self.type_shape(answer, where) != self.document_shape(schema):
                self.problems.append(f"{where}: {answer} in the .d.ts, {schema}")
        compared: set[str] = set()
        while pending := [name for name in self.pairs if name not in compared]:
            for name in pending:
                compared.add(name)
                self.compare(name)
        return compared


def admin_declarations() -> dict[str, Any]:
    done = subprocess.run(
        [
            "node",
            str(Path(__file__).with_name("dts_interfaces.mjs")),
            str(CLIENTS / "package.json"),
            str(ADMIN / "types" / "index.d.ts"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    declared: dict[str, Any] = json.loads(done.stdout)
    return declared


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    from lookout_dashboard.app import create_app

    # No lifespan: building the document needs neither the database nor the broker.
    document: dict[str, Any] = create_app().openapi()
    return document


def test_admin_answer_types_carry_every_property_of_dashboard_apis_answers(
    installed: None, openapi: dict[str, Any]
) -> None:
    contract = DtsContract(admin_declarations(), openapi)
    compared = contract.run()
    assert not contract.problems, "\n".join(contract.problems)
    # Every interface a call answers with, and every one inside them, was compared.
    assert {name for name in compared if "." not in name} == {
        "Accepted",
        "CheckLocation",
        "CheckResult",
        "CheckSummary",
        "CriticalIssue",
        "Incident",
        "Retention",
        "Run",
        "RunDetail",
        "Schedule",
        "StoredArtifact",
        "SystemStatus",
    }
    assert "CheckSummary.uptime" in compared


def test_admin_contract_finds_a_missing_an_extra_and_a_retyped_property(
    installed: None, openapi: dict[str, Any]
) -> None:
    declared = admin_declarations()
    declared["interfaces"]["Accepted"]["properties"] = {
        "operation": "boolean",  # retyped
        "queued": "boolean",  # not in the document
    }  # commandId left out
    contract = DtsContract(declared, openapi)
    contract.run()
    assert [problem.split(":")[0] for problem in contract.problems] == [
        "Accepted (Accepted)",
        "Accepted.operation",
        "Accepted.queued",
    ]
    assert contract.problems[0].endswith("no property `commandId`")
