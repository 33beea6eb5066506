"""Shared inputs of the deployment checks: rendered overlays, compose, settings."""

from __future__ import annotations

import pytest
import yaml
from kustomize import render
from support.repo import ROOT

OVERLAYS = ["dev", "prod"]


@pytest.fixture(scope="session", params=OVERLAYS)
def overlay(request) -> tuple[str, list[dict]]:
    return request.param, render(ROOT / "deploy" / "k8s" / "overlays" / request.param)


@pytest.fixture(scope="session")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())
