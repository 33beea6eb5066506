"""Every Kafka client Lookout builds connects with the configured SASL and TLS: the
factories carry `LOOKOUT_KAFKA_*` into what aiokafka and FastStream are given, and no
module builds a client any other way."""

from __future__ import annotations

import ast
import ssl
from pathlib import Path

import certifi
import pytest
from pydantic import ValidationError

from lookout_common.infra.kafka import KafkaAuth, kafka_auth, make_admin, make_broker, make_producer
from lookout_common.infra.settings import HealthMonitorSettings, LookoutSettings

REPO = Path(__file__).parents[3]
CLIENTS = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient", "KafkaBroker"}
# The only expressions a client construction may take its connection from.
CONNECTION_SOURCES = {"client_options", "auth_options", "_connection", "broker_security"}


def sasl_settings(**extra: object) -> LookoutSettings:
    return LookoutSettings(
        kafka_bootstrap="kafka-1:9093",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="lookout-ingest",
        kafka_sasl_password="s3cret-pass",
        kafka_ssl_cafile=Path(certifi.where()),
        **extra,
    )


def _client_security(client) -> dict[str, object]:
    return {
        "protocol": client._security_protocol,
        "mechanism": client._sasl_mechanism,
        "username": client._sasl_plain_username,
        "password": client._sasl_plain_password,
        "tls": isinstance(client._ssl_context, ssl.SSLContext),
    }


EXPECTED = {
    "protocol": "SASL_SSL",
    "mechanism": "SCRAM-SHA-512",
    "username": "lookout-ingest",
    "password": "s3cret-pass",
    "tls": True,
}


async def test_producer_and_admin_client_connect_with_sasl_over_tls() -> None:
    settings = sasl_settings()
    producer = make_producer(settings, client_id="t")
    admin = make_admin(settings, timeout_s=1)
    assert _client_security(producer.client) == EXPECTED
    assert _client_security(admin._client) == EXPECTED
    await producer.stop()  # never started: nothing to close but the client object


def test_broker_hands_sasl_and_tls_to_its_producer_and_consumers() -> None:
    broker = make_broker(sasl_settings(), client_id="t")
    options = broker._connection_kwargs
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "lookout-ingest"
    assert options["sasl_plain_password"] == "s3cret-pass"
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED
    assert context.check_hostname


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_each_mechanism_reaches_the_broker_without_tls(mechanism: str) -> None:
    settings = LookoutSettings(
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="u",
        kafka_sasl_password="p",
    )
    options = make_broker(settings, client_id="t")._connection_kwargs
    assert (options["security_protocol"], options["sasl_mechanism"]) == (
        "SASL_PLAINTEXT",
        mechanism,
    )
    assert options["ssl_context"] is None


def test_plaintext_is_the_default_for_the_embedded_stack() -> None:
    options = make_broker(LookoutSettings(), client_id="t")._connection_kwargs
    assert options.get("security_protocol", "PLAINTEXT") == "PLAINTEXT"  # aiokafka's default
    assert "sasl_plain_password" not in options


def test_sasl_without_credentials_is_refused_naming_the_protocol() -> None:
    settings = LookoutSettings(kafka_security_protocol="SASL_SSL")
    with pytest.raises(ValidationError, match="SASL_SSL needs a SASL username and password"):
        kafka_auth(settings)


def test_sasl_password_never_appears_in_settings_or_auth_repr() -> None:
    settings = sasl_settings()
    assert "s3cret-pass" not in repr(settings)
    assert "s3cret-pass" not in repr(kafka_auth(settings))


def test_the_health_monitors_own_kafka_check_uses_the_services_credentials() -> None:
    from lookout_health.defaults import default_config

    settings = HealthMonitorSettings(**sasl_settings().model_dump())
    kafka_check = next(c for c in default_config(settings).checks if c.kind == "kafka")
    assert kafka_check.auth == kafka_auth(settings)


def test_a_configured_kafka_check_may_carry_its_own_sasl() -> None:
    from lookout_health.config import parse_config

    config = parse_config(
        "checks:\n  - {name: k, kind: kafka, bootstrap: 'b:9093', auth: "
        "{security_protocol: SASL_PLAINTEXT, sasl_mechanism: PLAIN, sasl_username: u, "
        "sasl_password: p}}\n"
    )
    assert config.checks[0].auth == KafkaAuth(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_username="u",
        sasl_password="p",
    )


def _constructions(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) in CLIENTS
    ]


def _takes_connection_from_one_place(call: ast.Call) -> bool:
    for keyword in call.keywords:
        value = keyword.value
        if isinstance(value, ast.Call):
            name = getattr(value.func, "id", None) or getattr(value.func, "attr", None)
            if name in CONNECTION_SOURCES and keyword.arg in (None, "security"):
                return True
    return False


def test_every_kafka_client_in_the_services_takes_its_connection_from_kafka_py() -> None:
    sources = [*REPO.glob("services/*/lookout_*/**/*.py"), *REPO.glob("libs/*/lookout_*/**/*.py")]
    constructions = [(path, call) for path in sources for call in _constructions(path)]
    # The factories, the health check's three clients, the live stream's consumer.
    assert len(constructions) >= 7, constructions
    stray = [
        f"{path.relative_to(REPO)}:{call.lineno}"
        for path, call in constructions
        if not _takes_connection_from_one_place(call)
    ]
    assert stray == []
