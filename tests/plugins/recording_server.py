"""A small real HTTP server on 127.0.0.1 that answers as an OpenAI-compatible server and as
Ollama do, and records every request exactly as it arrived (path, headers, JSON body), so a
test can see what the app sent."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANSWER = ("Hello", " there")


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


class RecordingHandler(BaseHTTPRequestHandler):
    """``GET /v1/models`` and ``GET /api/tags`` list ``server.models``; the four generation
    endpoints stream ``ANSWER`` and end it as a complete answer (SSE with a finish_reason and
    ``[DONE]``; Ollama's newline-delimited records ending with ``done: true``); Ollama's
    ``/api/embed`` gives input i the vector [1, i]."""

    def log_message(self, *args) -> None:  # keep the test output clean
        pass

    def do_GET(self) -> None:
        self._record(None)
        models = self.server.models
        if self.path.endswith("/api/tags"):
            body = {"models": [{"name": name, "model": name} for name in models]}
        else:
            body = {"object": "list", "data": [{"id": name, "object": "model"}
                                               for name in models]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"null")
        self._record(body)
        if self.path == "/api/embed":  # one vector per input
            data = json.dumps({"embeddings": [[1.0, float(i)] for i, _ in
                                              enumerate(body["input"])]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        ollama = self.path.startswith("/api/")
        self.send_header("Content-Type", "application/x-ndjson" if ollama
                         else "text/event-stream")
        self.send_header("Connection", "close")  # the body ends when the socket does
        self.end_headers()
        if ollama:
            for piece in ANSWER:
                key = {"message": {"role": "assistant", "content": piece}} \
                    if self.path == "/api/chat" else {"response": piece}
                self._line({"model": "m", **key, "done": False})
            self._line({"model": "m", "done": True, "done_reason": "stop", "eval_count": 2})
        else:
            chat = self.path.endswith("/chat/completions")
            for piece in ANSWER:
                self._event({"delta": {"content": piece}} if chat else {"text": piece})
            self._event({"delta": {}, "finish_reason": "stop"} if chat
                        else {"text": "", "finish_reason": "stop"})
            self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def _record(self, body) -> None:
        with self.server.lock:
            self.server.requests.append(Recorded(self.command, self.path,
                                                 dict(self.headers.items()), body))

    def _line(self, record: dict) -> None:
        self.wfile.write(json.dumps(record).encode() + b"\n")

    def _event(self, choice: dict) -> None:
        chunk = {"object": "chat.completion.chunk", "choices": [{"index": 0, **choice}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int = 0, models: tuple[str, ...] = ()):
        super().__init__(("127.0.0.1", port), RecordingHandler)
        self.models = list(models)
        self.requests: list[Recorded] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"

    def posts(self, path: str | None = None) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"
                    and (path is None or r.path == path)]


@contextlib.contextmanager
def recording(port: int = 0, models: tuple[str, ...] = ()):
    """A RecordingServer answering on 127.0.0.1 for the block."""
    server = RecordingServer(port, models)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
