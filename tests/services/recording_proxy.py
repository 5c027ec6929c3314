"""A recording proxy on 127.0.0.1 in front of a real OpenAI-compatible server: every request
is forwarded as it came (streams streamed back as they arrive) and recorded with its JSON
body, so a test sees exactly what the app asked the model."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict | None


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # the answer ends when the connection closes

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._forward(None)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        self._forward(self.rfile.read(length))

    def _forward(self, data: bytes | None) -> None:
        body = json.loads(data) if data else None
        with self.server.lock:
            self.server.requests.append(Request(self.command, self.path, body))
        upstream = http.client.HTTPConnection(self.server.upstream.hostname,
                                              self.server.upstream.port, timeout=600)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream.request(self.command, self.path, body=data, headers=headers)
        answer = upstream.getresponse()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in HOP_BY_HOP:
                self.send_header(key, value)
        self.end_headers()
        while chunk := answer.read1(65536):
            self.wfile.write(chunk)
            self.wfile.flush()
        upstream.close()


@contextlib.contextmanager
def recording_proxy(upstream_base: str):
    """``upstream_base``: the server's ``http://127.0.0.1:PORT/v1``; yields (the proxy's /v1
    address, the list its requests are recorded in)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProxyHandler)
    server.daemon_threads = True
    server.upstream = urllib.parse.urlsplit(upstream_base)
    server.requests = []
    server.lock = threading.Lock()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.requests
    finally:
        server.shutdown()
        server.server_close()
