"""A JSON Web Key Set served over plain HTTP on loopback, for the tests and benchmarks that sign their own tokens.

The authorizer fetches keys over plain HTTP only from a loopback host (people_api.config.auth_settings).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class KeySetServer:
    """Serves `key_set()` at `url`; `served` counts the answers, `reachable = False` answers 503 instead."""

    def __init__(self, key_set: Callable[[], dict[str, Any]]):
        self.served = 0
        self.reachable = True
        server = self

        class Keys(BaseHTTPRequestHandler):
            def do_GET(self):
                if not server.reachable:
                    self.send_error(503)
                    return
                server.served += 1
                body = json.dumps(key_set()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/.well-known/jwks.json"
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
