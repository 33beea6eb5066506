"""docker-compose.yml and the Dockerfiles: valid, and consistent with the settings and
the Kubernetes manifests."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import jsonschema
import pytest
from kustomize import render
from support.repo import ROOT, settings_classes

SCHEMA = ROOT / ".venv" / "share" / "compose-spec.json"
DOCKERFILES = sorted((ROOT / "services").glob("*/Dockerfile"))


def test_compose_file_validates_against_the_compose_specification(compose) -> None:
    assert SCHEMA.exists(), "run `make test` (it fetches the Compose schema at install time)"
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)  # the draft the schema names
    services = compose["services"]
    assert {
        "kafka",
        "postgres",
        "minio",
        "minio-bucket",
        "migrate",
        "ingest",
        "analytics-aggregator",
        "health-monitor",
        "alert-consumer",
        "backup-worker",
        "dashboard-api",
        "prometheus",
        "alertmanager",
    } == set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"
    for name in ("ingest", "analytics-aggregator", "dashboard-api", "backup-worker"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["kafka"]["condition"] == "service_healthy"
        assert depends["migrate"]["condition"] == "service_completed_successfully"


def _environment_names(compose: dict) -> set[str]:
    names = set()
    for service in compose["services"].values():
        names |= set(service.get("environment") or {})
    for overlay in ("dev", "prod"):
        for doc in render(ROOT / "deploy/k8s/overlays" / overlay):
            if doc["kind"] == "ConfigMap":
                names |= set(doc["data"])
            if doc["kind"] in ("Deployment", "Job"):
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    names |= {item["name"] for item in container.get("env", [])}
    return {name for name in names if name.startswith("LOOKOUT_")}


def test_every_lookout_variable_set_in_deployments_is_a_real_setting(compose) -> None:
    known = {f"LOOKOUT_{field.upper()}" for cls in settings_classes() for field in cls.model_fields}
    used = _environment_names(compose)
    assert used, "no LOOKOUT_ variable found: the parser is broken"
    assert used - known == set()


def test_every_required_setting_is_set_everywhere(compose) -> None:
    required = {
        f"LOOKOUT_{name.upper()}"
        for cls in settings_classes()
        for name, field in cls.model_fields.items()
        if field.is_required()
    }
    assert required <= _environment_names(compose)
    for service in ("ingest", "analytics-aggregator", "dashboard-api", "backup-worker"):
        environment = compose["services"][service]["environment"]
        for name in ("LOOKOUT_DATABASE_URL", "LOOKOUT_KAFKA_BOOTSTRAP", "LOOKOUT_HTTP_HOST"):
            assert name in environment, f"{service}: {name}"


def _dockerfile(path: Path) -> dict:
    text = path.read_text()
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", text, re.MULTILINE).group(1))
    return {
        "module": cmd[cmd.index("-m") + 1],
        "expose": int(re.search(r"^EXPOSE (\d+)$", text, re.MULTILINE).group(1)),
        "health_port": int(
            re.search(r"HEALTHCHECK[\s\S]*?127\.0\.0\.1:(\d+)/healthz", text).group(1)
        ),
        "env_port": int(re.search(r"LOOKOUT_HTTP_PORT=(\d+)", text).group(1)),
        "user": re.search(r"^USER (\S+)$", text, re.MULTILINE).group(1),
        "stages": len(re.findall(r"^FROM ", text, re.MULTILINE)),
        "base": re.findall(r"^FROM (\S+)", text, re.MULTILINE)[-1],
    }


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda path: path.parent.name)
def test_dockerfile_runs_its_service_as_non_root_on_the_port_everyone_expects(
    path: Path, compose
) -> None:
    image = _dockerfile(path)
    assert image["stages"] >= 2
    assert image["user"] not in ("root", "0")
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", image["base"]), image["base"]
    assert importlib.util.find_spec(image["module"]) is not None, image["module"]
    assert image["expose"] == image["health_port"] == image["env_port"]
    service = path.parent.name
    compose_port = int(compose["services"][service]["environment"]["LOOKOUT_HTTP_PORT"])
    assert compose_port == image["expose"]
    for overlay in ("dev", "prod"):
        deployment = next(
            doc
            for doc in render(ROOT / "deploy/k8s/overlays" / overlay)
            if doc["kind"] == "Deployment" and doc["metadata"]["name"] == service
        )
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"] == ["python", "-m", image["module"]]
        assert container["ports"][0]["containerPort"] == image["expose"]


def test_settings_defaults_match_the_images() -> None:
    from lookout_common.infra.settings import (
        AggregatorSettings,
        AlertSettings,
        BackupWorkerSettings,
        DashboardSettings,
        HealthMonitorSettings,
        IngestSettings,
    )

    expected = {
        "ingest": IngestSettings,
        "analytics-aggregator": AggregatorSettings,
        "health-monitor": HealthMonitorSettings,
        "backup-worker": BackupWorkerSettings,
        "dashboard-api": DashboardSettings,
    }
    for service, settings in expected.items():
        image = _dockerfile(ROOT / "services" / service / "Dockerfile")
        assert settings.model_fields["http_port"].default == image["expose"], service
    assert AlertSettings.model_fields["http_port"].default == 8005
