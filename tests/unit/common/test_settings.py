from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from lookout_common.contracts.topics import Topic, topic_name
from lookout_common.infra.logging import JsonFormatter
from lookout_common.infra.settings import IngestSettings, LookoutSettings


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
