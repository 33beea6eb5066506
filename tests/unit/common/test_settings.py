from __future__ import annotations

import importlib
import json
import logging
import pkgutil
import typing

import pytest
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra import settings as settings_package
from lookout_common.infra.logging import JsonFormatter
from lookout_common.infra.settings import DashboardSettings, IngestSettings, LookoutSettings


def test_settings_read_lookout_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOOKOUT_KAFKA_BOOTSTRAP", "kafka-1:9092,kafka-2:9092")
    monkeypatch.setenv("LOOKOUT_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("LOOKOUT_PUBLISH_TIMEOUT_S", "2.5")
    settings = IngestSettings()
    assert settings.kafka_bootstrap == "kafka-1:9092,kafka-2:9092"
    assert settings.zone.key == "Europe/Berlin"
    assert settings.publish_timeout_s == 2.5
    assert settings.http_port == 8001


def test_unknown_time_zone_is_refused_with_its_name() -> None:
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        LookoutSettings(timezone="Mars/Olympus")


def test_database_password_never_appears_in_repr() -> None:
    settings = LookoutSettings(database_url="postgresql://lookout:hunter2@db:5432/lookout")
    assert "hunter2" not in repr(settings)
    assert "hunter2" in settings.dsn()


def test_topic_prefix_applies_to_versioned_names() -> None:
    assert topic_name(Topic.EVENTS) == "analytics.events.v1"
    assert topic_name(Topic.BACKUP_RESULTS, "tenant-a.") == "tenant-a.backup.results.v1"


def test_json_log_lines_carry_context_fields() -> None:
    record = logging.LogRecord(
        "lookout.x", logging.WARNING, __file__, 1, "batch failed", None, None
    )
    record.batch_size = 42
    line = json.loads(JsonFormatter("aggregator").format(record))
    assert line["msg"] == "batch failed"
    assert line["level"] == "warning"
    assert line["service"] == "aggregator"
    assert line["batch_size"] == 42


@pytest.mark.parametrize(
    ("raw", "origins"),
    [
        ("", []),
        ("https://admin.example.com", ["https://admin.example.com"]),
        (
            " https://admin.example.com , http://127.0.0.1:8080",
            ["https://admin.example.com", "http://127.0.0.1:8080"],
        ),
        ('["http://[::1]:9000"]', ["http://[::1]:9000"]),
    ],
)
def test_cors_origins_read_commas_or_a_json_list(
    monkeypatch: pytest.MonkeyPatch, raw: str, origins: list[str]
) -> None:
    monkeypatch.setenv("LOOKOUT_CORS_ORIGINS", raw)
    assert DashboardSettings().cors_origins == origins


@pytest.mark.parametrize(
    "origin", ["*", "https://admin.example.com/", "https://admin.example.com/admin", "admin.io"]
)
def test_a_cors_origin_that_is_not_exact_is_refused_with_its_value(
    monkeypatch: pytest.MonkeyPatch, origin: str
) -> None:
    monkeypatch.setenv("LOOKOUT_CORS_ORIGINS", origin)
    with pytest.raises(ValidationError, match="is not an origin"):
        DashboardSettings()


def test_every_settings_class_of_the_package_is_exported_from_its_stable_path() -> None:
    # Deployment checks collect every LOOKOUT_* name from the package's __all__: a service
    # module whose class is not exported there would hide its names.
    defined = {
        value
        for module in pkgutil.iter_modules(settings_package.__path__)
        for value in vars(
            importlib.import_module(f"{settings_package.__name__}.{module.name}")
        ).values()
        if isinstance(value, type) and issubclass(value, BaseSettings) and value is not BaseSettings
    }
    assert len(defined) == 8
    for settings_class in defined:
        assert settings_class.__name__ in settings_package.__all__
        assert getattr(settings_package, settings_class.__name__) is settings_class
        assert set(typing.get_type_hints(settings_class)) >= set(settings_class.model_fields)


@pytest.mark.parametrize(
    ("raw", "keys"),
    [("password, pin ,, ", ["password", "pin"]), ('["pass,word"]', ["pass,word"]), ("", [])],
)
def test_list_settings_read_commas_or_a_json_list(
    monkeypatch: pytest.MonkeyPatch, raw: str, keys: list[str]
) -> None:
    monkeypatch.setenv("LOOKOUT_PII_DENY_KEYS", raw)
    monkeypatch.setenv("LOOKOUT_BOT_EXTRA_PATTERNS", raw)
    settings = IngestSettings()
    assert settings.pii_deny_keys == keys
    assert settings.bot_extra_patterns == keys
