"""What every Lookout process reads: broker, database, time zone, HTTP, logging, and the
supervision of its background loops. Each service's settings class extends this one.

Defaults point at the embedded stack (`lookout up`). Secrets are `SecretStr`, so they
never appear in logs or reprs.
"""

import json
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Every class reads `LOOKOUT_<FIELD>` from the environment or `.env`; unknown names are
# ignored, because one `.env` serves every service.
LOOKOUT_ENVIRONMENT = SettingsConfigDict(env_prefix="LOOKOUT_", env_file=".env", extra="ignore")


def list_or_commas(value: Any) -> Any:
    """A list setting as written in the environment: a JSON list (`["a", "b"]`) or comma
    separated names (`a, b`; blanks dropped). Anything but a string passes unchanged."""
    if isinstance(value, str):
        if value.strip().startswith("["):
            return json.loads(value)
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class LookoutSettings(BaseSettings):
    """What every Lookout process needs: broker, database, time zone, HTTP, logging."""

    model_config = LOOKOUT_ENVIRONMENT

    kafka_bootstrap: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma separated"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How every Kafka client connects (SASL_SSL in production)"
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", description="SASL mechanism (with a SASL_* protocol)"
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user of this service")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (secret)")
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA bundle that signs the brokers' certificates (SSL, SASL_SSL)"
    )
    kafka_ssl_certfile: Path | None = Field(
        None, description="Client certificate (PEM) for brokers that require mutual TLS"
    )
    kafka_ssl_keyfile: Path | None = Field(None, description="Private key of the certificate")
    database_url: SecretStr = Field(
        SecretStr("postgresql://postgres@127.0.0.1:5432/lookout"),
        description="PostgreSQL URL of Lookout's own database",
    )
    topic_prefix: str = Field(
        "", description="Prefix for every topic name (isolates tenants or test runs)"
    )
    topic_partitions: int = Field(4, ge=1, description="Partitions for topics Lookout creates")
    topic_replication: int = Field(1, ge=1, description="Replication factor for created topics")
    timezone: str = Field("UTC", description="IANA zone that defines 'today' in metrics")
    log_level: str = Field("INFO", description="Root log level")
    http_host: str = Field("127.0.0.1", description="Interface the HTTP server binds")
    http_port: int = Field(8000, ge=0, le=65535, description="Port the HTTP server binds")
    db_pool_max: int = Field(10, ge=1, description="Largest asyncpg pool size")
    io_timeout_s: float = Field(10.0, gt=0, description="Timeout for one network call")
    api_docs: bool = Field(
        False, description="Serve /docs, /redoc and /openapi.json (off: they answer 404)"
    )
    loop_backoff_s: float = Field(
        1.0, gt=0, description="First restart delay of a failed background loop (doubles)"
    )
    loop_backoff_max_s: float = Field(
        60.0, gt=0, description="Longest restart delay of a failed background loop"
    )
    loop_unhealthy_failures: int = Field(
        5, ge=1, description="Failures in a row after which a loop makes /healthz answer 503"
    )
    loop_stable_s: float = Field(
        30.0, gt=0, description="A loop run this long without failing ends its failure streak"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown IANA time zone {value!r}") from error
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def dsn(self) -> str:
        return self.database_url.get_secret_value()
