"""The repository's root and what its deployment checks compare against."""

from __future__ import annotations

import inspect
from pathlib import Path

from pydantic_settings import BaseSettings

from lookout_common.infra import settings as settings_module

ROOT = Path(__file__).resolve().parents[2]


def settings_classes() -> list[type[BaseSettings]]:
    return [
        cls
        for _, cls in inspect.getmembers(settings_module, inspect.isclass)
        if issubclass(cls, BaseSettings) and cls.__module__ == settings_module.__name__
    ]
