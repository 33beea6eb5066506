"""The single-page app: `/` and its assets, served by dashboard-api itself.

The page's own code lives in `static/`: native ES modules (`main.js` imports `lib/`, `tabs/`
and `analytics/`), no bundler and no build step. `/embed/lookout-dashboard.js` is the
`<lookout-dashboard>` element a host admin page on another origin imports (it redirects to
`/assets/lookout-dashboard.js`); it runs the same modules. The assets hold no data and are
sent without a key, so any origin may read them (`Access-Control-Allow-Origin: *`); the API
and the live stream answer only the origins in `LOOKOUT_CORS_ORIGINS`. The charting library
is Plotly's JavaScript bundle as the `plotly` Python package installs it — no third-party
code is kept in this repository. Assets are gzipped once, in memory, and sent compressed to
browsers that accept it, with an ETag so a reload costs a 304.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

STATIC = resources.files("lookout_dashboard") / "static"
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# A file of static/ or of one folder in it: no "..", no hidden files, no deeper paths.
ASSET_NAME = re.compile(r"(?:[a-z]+/)?[a-z][a-z0-9-]*\.[a-z]+")
EMBED_MODULE = "lookout-dashboard.js"
# What the page may load: itself only (no CDN, no inline script).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


def _asset(data: bytes, media_type: str) -> Asset:
    digest = hashlib.sha256(data).hexdigest()[:16]
    return Asset(data, gzip.compress(data, 6, mtime=0), media_type, f'"{digest}"')


def plotly_path() -> Path:
    """plotly.min.js from the installed `plotly` package."""
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


@cache
def load(name: str) -> Asset:
    if name == "plotly.min.js":
        return _asset(plotly_path().read_bytes(), TYPES[".js"])
    suffix = Path(name).suffix
    if not ASSET_NAME.fullmatch(name) or suffix not in TYPES:
        raise FileNotFoundError(name)
    resource = STATIC.joinpath(*name.split("/"))
    if not resource.is_file():
        raise FileNotFoundError(name)
    return _asset(resource.read_bytes(), TYPES[suffix])


def send(request: Request, asset: Asset, cache_control: str, *, public: bool = False) -> Response:
    """`asset`, gzipped if the browser takes it, or 304 when it has it. `public`: any origin
    may read it (a host page's <lookout-dashboard> loads the modules and the markup)."""
    headers = {"ETag": asset.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    headers.update(SECURITY_HEADERS)
    if public:
        headers["Access-Control-Allow-Origin"] = "*"
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def mount(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> Response:
        return send(request, load("index.html"), "no-cache")

    @app.get("/assets/{name:path}", include_in_schema=False)
    async def asset(request: Request, name: str) -> Response:
        try:
            # The first load reads and gzips the file (Plotly: 4.8 MB), off the event loop.
            found = await asyncio.to_thread(load, name)
        except FileNotFoundError:
            raise HTTPException(404, f"no asset {name!r}") from None
        return send(request, found, "no-cache", public=True)

    @app.get(f"/embed/{EMBED_MODULE}", include_in_schema=False)
    async def embed() -> Response:
        # The stable address a host page imports. The module itself is served from /assets/,
        # so that its relative imports (./lib/dashboard.js) resolve to the page's own modules;
        # a module script's base URL is the one it was redirected to. A cross-origin module
        # fetch checks CORS on the redirect too, hence the header here.
        return RedirectResponse(
            f"/assets/{EMBED_MODULE}",
            status_code=307,
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )
