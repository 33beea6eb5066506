"""Kafka takes authenticated clients only (SCRAM, one user per service) in Compose and
Kubernetes; only Lookout reaches the brokers in Kubernetes; Compose publishes nothing but
ingest and dashboard-api beyond this machine."""

from __future__ import annotations

import re

from support.repo import ROOT

from lookout_common.infra.settings import LookoutSettings

PUBLIC = {"ingest", "dashboard-api"}
KAFKA_CLIENTS = {
    "migrate",
    "ingest",
    "analytics-aggregator",
    "health-monitor",
    "alert-consumer",
    "backup-worker",
    "dashboard-api",
}
SCRIPT = ROOT / "deploy/compose/kafka-scram.sh"


def _environment(compose: dict, service: str) -> dict[str, str]:
    return compose["services"][service]["environment"]


def test_compose_kafka_listens_only_with_scram(compose) -> None:
    kafka = compose["services"]["kafka"]
    environment = kafka["environment"]
    listeners = environment["KAFKA_LISTENERS"].split(",")
    assert "SASL_PLAINTEXT://:9092" in listeners
    assert not [item for item in listeners if item.startswith("PLAINTEXT")]
    # The controller answers inside the container only.
    assert "CONTROLLER://127.0.0.1:9093" in listeners
    assert environment["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512"
    assert environment["KAFKA_INTER_BROKER_LISTENER_NAME"] == "SASL_PLAINTEXT"
    assert "--command-config" in kafka["healthcheck"]["test"][1]
    assert kafka["command"] == ["bash", "/opt/lookout/kafka-scram.sh"]
    assert f"./{SCRIPT.relative_to(ROOT)}:/opt/lookout/kafka-scram.sh:ro" in kafka["volumes"]


def test_compose_gives_every_kafka_client_its_own_scram_user(compose) -> None:
    users = {}
    for service in KAFKA_CLIENTS:
        environment = _environment(compose, service)
        assert environment["LOOKOUT_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT", service
        assert environment["LOOKOUT_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512", service
        users[service] = environment["LOOKOUT_KAFKA_SASL_USERNAME"]
        password = environment["LOOKOUT_KAFKA_SASL_PASSWORD"]
        variable = re.fullmatch(r"\$\{(SCRAM_PASSWORD_[A-Z]+):-[^}]+\}", password).group(1)
        # The broker creates this user with the same variable.
        assert variable in compose["services"]["kafka"]["environment"], service
        user = users[service].removeprefix("lookout-")
        assert variable == f"SCRAM_PASSWORD_{user.upper()}", service
    assert len(set(users.values())) == len(KAFKA_CLIENTS)  # one user per service
    created = re.search(r"^for user in ([a-z ]+); do$", SCRIPT.read_text(), re.MULTILINE)
    assert {f"lookout-{u}" for u in created.group(1).split()} == {*users.values(), "lookout-broker"}
    # The settings the services read accept what Compose sets.
    settings = LookoutSettings(
        kafka_security_protocol=_environment(compose, "ingest")["LOOKOUT_KAFKA_SECURITY_PROTOCOL"],
        kafka_sasl_mechanism=_environment(compose, "ingest")["LOOKOUT_KAFKA_SASL_MECHANISM"],
    )
    assert settings.kafka_security_protocol == "SASL_PLAINTEXT"


def test_compose_publishes_only_ingest_and_dashboard_beyond_this_machine(compose) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            if name in PUBLIC:
                continue
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port}"
    published = {name for name, service in compose["services"].items() if service.get("ports")}
    assert published == PUBLIC | {"prometheus", "alertmanager", "minio", "postgres"}


def test_compose_signs_backup_commands_with_one_key(compose) -> None:
    keys = {
        _environment(compose, name)["LOOKOUT_BACKUP_COMMAND_KEY"]
        for name in ("dashboard-api", "backup-worker")
    }
    assert len(keys) == 1


def _workloads(documents: list[dict]):
    for doc in documents:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]["spec"]


def test_kubernetes_workloads_use_sasl_ssl_each_with_its_own_user(overlay) -> None:
    _, documents = overlay
    config = next(doc for doc in documents if doc["kind"] == "ConfigMap")["data"]
    assert config["LOOKOUT_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["LOOKOUT_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    cafile = config["LOOKOUT_KAFKA_SSL_CAFILE"]
    users = {}
    for doc, pod in _workloads(documents):
        name = doc["metadata"]["name"]
        [container] = pod["containers"]
        env = {item["name"]: item for item in container["env"]}
        users[name] = env["LOOKOUT_KAFKA_SASL_USERNAME"]["value"]
        secret = env["LOOKOUT_KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert secret["name"] == "lookout-secrets", name
        assert secret["key"] == f"kafka-password-{users[name].removeprefix('lookout-')}", name
        mounts = {m["name"]: m for m in container["volumeMounts"]}
        assert cafile.startswith(mounts["kafka-ca"]["mountPath"] + "/"), name
        assert mounts["kafka-ca"]["readOnly"] is True, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["kafka-ca"]["configMap"]["name"] == "lookout-kafka-ca", name
    assert len(users) == 7
    assert len(set(users.values())) == len(users)


def test_kubernetes_lets_only_lookout_pods_and_brokers_reach_kafka(overlay) -> None:
    _, documents = overlay
    policy = next(
        doc
        for doc in documents
        if doc["kind"] == "NetworkPolicy"
        and doc["metadata"]["name"] == "kafka-lookout-clients-only"
    )["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "kafka"}}
    assert policy["policyTypes"] == ["Ingress"]
    clients, brokers = policy["ingress"]
    assert clients["from"] == [
        {"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "lookout"}}}
    ]
    assert clients["ports"] == [{"port": 9092, "protocol": "TCP"}]
    assert brokers == {
        "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "kafka"}}}]
    }
    # Every Kafka client workload carries the label the policy admits.
    for doc, _ in _workloads(documents):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert labels["app.kubernetes.io/part-of"] == "lookout", doc["metadata"]["name"]
