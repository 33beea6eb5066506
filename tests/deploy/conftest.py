"""Shared inputs of the deployment checks: rendered overlays, compose, settings."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import yaml
from kustomize import render
from pydantic_settings import BaseSettings

from lookout_common import settings as settings_module

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ["dev", "prod"]


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request) -> tuple[str, list[dict]]:
    return request.param, render(ROOT / "deploy" / "k8s" / "overlays" / request.param)


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def settings_classes() -> list[type[BaseSettings]]:
    return [
        cls
        for _, cls in inspect.getmembers(settings_module, inspect.isclass)
        if issubclass(cls, BaseSettings) and cls.__module__ == settings_module.__name__
    ]
