"""Topic and consumer-group names: defined once, versioned, optionally prefixed per deployment."""

from __future__ import annotations

from enum import StrEnum


class Topic(StrEnum):
    EVENTS = "analytics.events.v1"
    EVENTS_DLQ = "analytics.events.dlq.v1"
    HEALTH_CHECKS = "health.checks.v1"
    HEALTH_INCIDENTS = "health.incidents.v1"
    HEALTH_CANARY = "health.canary.v1"  # the kafka check produces and reads back here
    BACKUP_COMMANDS = "backup.commands.v1"
    BACKUP_RESULTS = "backup.results.v1"


def topic_name(topic: Topic, prefix: str = "") -> str:
    """The name on the broker: `prefix` + the versioned name."""
    return f"{prefix}{topic.value}"


def group_name(group: str, prefix: str = "") -> str:
    """A consumer group's name on the broker: `prefix` + the group. Deployments (or test
    stacks) sharing a broker then share neither topics nor groups, so a member one of them
    left behind never holds up another's rebalance."""
    return f"{prefix}{group}"
