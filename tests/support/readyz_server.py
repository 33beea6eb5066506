"""A stand-in service for `lookout up`'s process handling: serves 200 on every GET at
LOOKOUT_HTTP_HOST:LOOKOUT_HTTP_PORT, and exits 3 with the bind error when the port is
taken, as uvicorn does. Run as `python -m readyz_server` with tests/support on the path."""

from __future__ import annotations

import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Ready(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    address = (os.environ["LOOKOUT_HTTP_HOST"], int(os.environ["LOOKOUT_HTTP_PORT"]))
    try:
        server = HTTPServer(address, Ready)
    except OSError as error:
        print(f"error while attempting to bind on address {address}: {error}", flush=True)
        sys.exit(3)
    server.serve_forever()


if __name__ == "__main__":
    main()
