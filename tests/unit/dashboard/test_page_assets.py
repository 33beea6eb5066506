"""The page's ES modules as dashboard-api serves them (in-process, no database): every import
of every module resolves to a served JavaScript asset, no module swallows an error, and
nothing outside static/ is reachable."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from lookout_dashboard import spa

STATIC = Path(str(spa.STATIC))
MODULES = sorted(path.relative_to(STATIC).as_posix() for path in STATIC.rglob("*.js"))
IMPORT = re.compile(r"^import\s[^;]*?from\s+'([^']+)';", re.MULTILINE)


@pytest.fixture
async def http() -> httpx.AsyncClient:
    app = FastAPI()
    spa.mount(app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dashboard.test"
    ) as client:
        yield client


def _imports(module: str) -> list[str]:
    """The asset names `module` imports, resolved as the browser resolves them."""
    source = (STATIC / module).read_text()
    base = httpx.URL(f"http://dashboard.test/assets/{module}")
    return [str(base.join(specifier).path) for specifier in IMPORT.findall(source)]


async def test_every_module_import_is_a_served_javascript_asset(http: httpx.AsyncClient) -> None:
    assert "main.js" in MODULES
    assert len(MODULES) > 20
    page = (await http.get("/")).text
    assert '<script type="module" src="/assets/main.js"></script>' in page
    seen = set()
    for module in MODULES:
        for path in _imports(module):
            seen.add(path)
            answer = await http.get(path)
            assert answer.status_code == 200, f"{module} imports {path}: {answer.status_code}"
            assert answer.headers["content-type"].startswith("text/javascript")
    # Every module but the two entry points (the page's, the embeddable element's) is
    # imported by another one.
    entry_points = {"/assets/main.js", "/assets/lookout-dashboard.js"}
    assert {f"/assets/{module}" for module in MODULES} - seen == entry_points


def test_no_module_swallows_an_error() -> None:
    silent = re.compile(r"\.catch\(\s*\(\s*\w*\s*\)\s*=>\s*(\{\s*\}|null|undefined)\s*\)")
    empty_catch = re.compile(r"catch\s*(\(\s*\w+\s*\))?\s*\{\s*(/\*[^*]*\*/\s*)?\}")
    for module in MODULES:
        source = (STATIC / module).read_text()
        assert not silent.search(source), f"{module} has a silent .catch"
        assert not empty_catch.search(source), f"{module} has an empty catch block"


async def test_the_embed_address_leads_any_origin_to_the_element_module(
    http: httpx.AsyncClient,
) -> None:
    origin = {"Origin": "http://admin.example.test"}
    moved = await http.get("/embed/lookout-dashboard.js", headers=origin)
    assert moved.status_code == 307
    assert moved.headers["location"] == "/assets/lookout-dashboard.js"
    assert moved.headers["access-control-allow-origin"] == "*"
    module = await http.get(moved.headers["location"], headers=origin)
    assert module.status_code == 200
    assert module.headers["content-type"].startswith("text/javascript")
    assert module.headers["access-control-allow-origin"] == "*"
    assert "customElements.define('lookout-dashboard'" in module.text


@pytest.mark.parametrize(
    "path",
    [
        "/assets/secrets.py",
        "/assets/..%2Fapp.py",
        "/assets/lib/..%2F..%2Fapp.py",
        "/assets/lib/../../spa.py",
        "/assets/lib/deeper/api.js",
        "/assets/.hidden.js",
        "/assets/lib/missing.js",
    ],
)
async def test_nothing_outside_static_is_served(http: httpx.AsyncClient, path: str) -> None:
    assert (await http.get(path)).status_code == 404
