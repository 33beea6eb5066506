"""`Allow` on 405 answers lists every method the path supports.

Starlette answers a wrong method with the methods of the first route whose path matched,
so a path served by two routes (GET and POST of one collection) would claim to allow only
one of them. This middleware rewrites the header from the app's OpenAPI document, which
lists every operation of every path (included routers too).
"""

from __future__ import annotations

import re
from functools import cache

from fastapi import FastAPI
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AllowHeader:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = allowed(scope)
                if methods:
                    headers = [(k, v) for k, v in message["headers"] if k.lower() != b"allow"]
                    headers.append((b"allow", ", ".join(methods).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_allow)


def allowed(scope: Scope) -> list[str]:
    path = scope["path"]
    methods: set[str] = set()
    for pattern, verbs in _paths(scope["app"]):
        if pattern.match(path):
            methods |= verbs
    return sorted(methods)


@cache
def _paths(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    return [
        (compile_path(path)[0], frozenset(verb.upper() for verb in operations))
        for path, operations in app.openapi()["paths"].items()
    ]
