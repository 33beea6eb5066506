"""The repository's root and what its deployment checks compare against."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings

from lookout_common.infra import settings as settings_package

ROOT = Path(__file__).resolve().parents[2]


def settings_classes() -> list[type[BaseSettings]]:
    """Every settings class the settings package exports (its `__all__`): each service's
    and the shared base, whose `LOOKOUT_*` names the deployment files may set."""
    exported = (getattr(settings_package, name) for name in settings_package.__all__)
    return [
        value for value in exported if isinstance(value, type) and issubclass(value, BaseSettings)
    ]
