"""The Kubernetes manifests: valid for a pinned Kubernetes version, locked down, and
consistent with the services they run."""

from __future__ import annotations

import kubernetes_validate
import yaml
from kustomize import render
from support.repo import ROOT

KUBERNETES_VERSION = "1.30.0"
CRDS = {"ServiceMonitor", "PrometheusRule"}
PUBLIC = {"ingest", "dashboard-api"}


def workloads(documents: list[dict]):
    for doc in documents:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]["spec"]


def test_every_object_validates_against_the_kubernetes_schema(overlay) -> None:
    _, documents = overlay
    kinds = {doc["kind"] for doc in documents}
    assert {"Deployment", "Service", "ConfigMap", "Job", "HorizontalPodAutoscaler"} <= kinds
    assert {"PodDisruptionBudget", "NetworkPolicy", "Ingress"} <= kinds
    assert kinds >= CRDS
    for doc in documents:
        if doc["kind"] in CRDS:
            assert doc["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert all(doc["metadata"]["namespace"].startswith("lookout") for doc in documents)


def test_containers_run_non_root_read_only_without_privileges_and_with_limits(overlay) -> None:
    _, documents = overlay
    for doc, pod in workloads(documents):
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["automountServiceAccountToken"] is False, where
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["runAsNonRoot"] is True, where
            assert context["runAsUser"] >= 10000, where
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert set(container["resources"]["requests"]) == {"cpu", "memory"}, where
            assert set(container["resources"]["limits"]) == {"cpu", "memory"}, where
            mounts = {mount["mountPath"] for mount in container.get("volumeMounts", [])}
            assert "/tmp" in mounts, f"{where}: a read-only root needs a writable /tmp"  # noqa: S108


def test_probes_use_readyz_and_healthz_on_the_container_port(overlay) -> None:
    _, documents = overlay
    for doc, pod in workloads(documents):
        if doc["kind"] != "Deployment":
            continue
        [container] = pod["containers"]
        [port] = container["ports"]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port["name"]}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port["name"]}
        env = {item["name"]: item for item in container["env"]}
        assert env["LOOKOUT_HTTP_PORT"]["value"] == str(port["containerPort"])


def test_secrets_only_come_from_secret_references(overlay) -> None:
    _, documents = overlay
    assert not [doc for doc in documents if doc["kind"] == "Secret"]
    secret_like = ("PASSWORD", "SECRET", "KEY", "TOKEN", "DATABASE_URL")
    for doc, pod in workloads(documents):
        for container in pod["containers"]:
            for item in container.get("env", []):
                if any(word in item["name"] for word in secret_like):
                    assert "value" not in item, f"{doc['metadata']['name']}: {item['name']}"
                    assert item["valueFrom"]["secretKeyRef"]["name"] == "lookout-secrets"
    config = next(doc for doc in documents if doc["kind"] == "ConfigMap")
    assert not [key for key in config["data"] if any(word in key for word in secret_like)]


def test_aggregator_never_scales_past_the_partition_count(overlay) -> None:
    _, documents = overlay
    config = next(doc for doc in documents if doc["kind"] == "ConfigMap")
    hpa = next(
        doc
        for doc in documents
        if doc["kind"] == "HorizontalPodAutoscaler"
        and doc["spec"]["scaleTargetRef"]["name"] == "analytics-aggregator"
    )
    assert hpa["spec"]["maxReplicas"] == int(config["data"]["LOOKOUT_TOPIC_PARTITIONS"])


def test_only_ingest_and_dashboard_api_are_reachable_from_outside(overlay) -> None:
    _, documents = overlay
    services = [doc for doc in documents if doc["kind"] == "Service"]
    assert all(doc["spec"].get("type", "ClusterIP") == "ClusterIP" for doc in services)
    ingress = next(doc for doc in documents if doc["kind"] == "Ingress")
    backends = {
        path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == PUBLIC
    policies = {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == "NetworkPolicy"}
    internal = policies["lookout-internal-only"]["spec"]
    assert internal["podSelector"]["matchLabels"] == {"app.kubernetes.io/part-of": "lookout"}
    sources = internal["ingress"][0]["from"]
    assert sources[0] == {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "lookout"}}}
    public = policies["lookout-public-endpoints"]["spec"]
    assert set(public["podSelector"]["matchExpressions"][0]["values"]) == PUBLIC


def test_prometheus_rule_object_carries_the_rules_file() -> None:
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules/lookout.yml").read_text())
    rule_object = yaml.safe_load((ROOT / "deploy/k8s/base/prometheusrule.yaml").read_text())
    assert rule_object["spec"] == rules


def test_renderer_applies_overlay_patches() -> None:
    prod = render(ROOT / "deploy/k8s/overlays/prod")
    config = next(doc for doc in prod if doc["kind"] == "ConfigMap")
    assert config["data"]["LOOKOUT_TOPIC_PARTITIONS"] == "12"
    assert config["data"]["LOOKOUT_KAFKA_BOOTSTRAP"] == "kafka-bootstrap:9092"  # kept
