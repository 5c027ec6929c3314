"""The model host's main loop (child process).

A reader thread takes requests off stdin so that ``cancel`` is seen while a generation runs.
The main thread does the llama.cpp work: generation and scoring requests join the runtime's
batch and are decoded together, one step at a time (batch.py); between two steps it answers
the quick requests (tokenize, pieces, render, …) and takes in new generations. Loading another
model waits until the generations in flight have finished.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import traceback
from pathlib import Path
from typing import Any, BinaryIO

from ...core.errors import WorkbenchError
from ...core.generation import GenerationRequest, ScoreRequest, TokenEvent
from ...core.messages import ChatMessage
from ...core.model_info import LoadSettings
from . import wire
from .loading import LoadReporter


class HostServer:
    def __init__(self, out: BinaryIO, log_path: Path | None):
        self.out = out
        self.log_path = log_path
        self.runtime = None
        self.requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.cancelled: set[int] = set()
        self._write_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._write_lock:
            wire.send(self.out, message)

    # -- input ---------------------------------------------------------------------------

    def read_requests(self, stdin: BinaryIO) -> None:
        for line in stdin:
            if not line.strip():
                continue
            message = wire.decode(line)
            if message.get("op") == "cancel":
                # Handled here, not queued: the main thread is busy generating.
                self.cancelled.update(message.get("targets") or [])
                continue
            if message.get("op") == "log":  # a spare host learns its log's new name
                self.log_path = Path(message["path"])
                continue
            self.requests.put(message)
        self.requests.put(None)  # parent closed our stdin: finish and exit

    # -- work ----------------------------------------------------------------------------

    def serve(self) -> None:
        deferred: list[dict[str, Any] | None] = []  # load/shutdown wait for an idle runtime
        while True:
            busy = self.runtime is not None and self.runtime.busy
            if not busy and deferred:
                message = deferred.pop(0)
            elif busy:
                try:
                    message = self.requests.get_nowait()
                except queue.Empty:
                    message = False
            else:
                message = self.requests.get()
            if message is not False:
                stop = message is None or message.get("op") == "shutdown"
                if busy and (stop or message.get("op") == "load"):
                    deferred.append(message)
                elif stop:
                    break
                else:
                    self.answer(message)
            if self.runtime is not None and self.runtime.busy:
                self.step()
        # No runtime.close(): the process ends right after (main), and the system frees the
        # model's memory at once; llama.cpp's own teardown would only delay the caller's close.

    def answer(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        try:
            self.handle(message)
        except WorkbenchError as error:
            self.fail(request_id, error)
        except Exception as error:  # noqa: BLE001 - reported to the caller, host goes on
            traceback.print_exc()
            self.fail(request_id, error)
        if message.get("op") != "generate":
            self.cancelled.discard(request_id)

    def fail(self, request_id: int, error: Exception) -> None:
        if isinstance(error, WorkbenchError):
            self.send({"id": request_id, "type": "error", "kind": type(error).__name__,
                       "message": str(error), "reason": getattr(error, "reason", None)})
        else:
            self.send({"id": request_id, "type": "error", "kind": type(error).__name__,
                       "message": f"{type(error).__name__}: {error}"})

    def step(self) -> None:
        try:
            self.runtime.step(lambda request_id: request_id in self.cancelled)
        except Exception as error:  # noqa: BLE001 - a bug fails the batch, not the host
            traceback.print_exc()
            for sequence in self.runtime.decoder.active() + list(self.runtime.decoder.waiting):
                sequence.end("error", f"{type(error).__name__}: {error}")

    def handle(self, message: dict[str, Any]) -> None:
        op, request_id = message["op"], message["id"]
        if op == "ping":
            self.send({"id": request_id, "type": "result", "data": {"pid": os.getpid()}})
            return
        if op == "load":
            from .runtime import LlamaRuntime

            if self.runtime is not None:
                self.runtime.close()
                self.runtime = None
            # Progress events while llama.cpp reads the weights; a cancel stops the read.
            report = LoadReporter(self.send, request_id,
                                  lambda: request_id in self.cancelled)
            self.runtime = LlamaRuntime(LoadSettings.from_wire(message["settings"]),
                                        self.log_path, on_progress=report)
            self.send({"id": request_id, "type": "result",
                       "data": self.runtime.metadata.to_wire()})
            return
        if self.runtime is None:
            raise WorkbenchError("No model is loaded in this host.")
        runtime = self.runtime
        if op == "tokenize":
            ids = runtime.tokenize(message["text"], message.get("add_special", True),
                                   message.get("parse_special", True))
            data: Any = {"ids": ids}
            if message.get("pieces"):
                data["pieces"] = runtime.token_pieces(ids)
            self.send({"id": request_id, "type": "result", "data": data})
        elif op == "pieces":
            self.send({"id": request_id, "type": "result",
                       "data": {"pieces": [wire.pack_bytes(p)
                                           for p in runtime.pieces(message["ids"])]}})
        elif op == "detokenize":
            self.send({"id": request_id, "type": "result",
                       "data": {"text": runtime.detokenize(message["ids"])}})
        elif op == "render":
            messages = [ChatMessage.from_dict(m) for m in message["messages"]]
            text = runtime.render(messages, message.get("add_generation_prompt", True))
            self.send({"id": request_id, "type": "result", "data": {"text": text}})
        elif op == "generate":
            self.generate(request_id, GenerationRequest.from_wire(message["request"]))
        elif op == "score":
            self.score(request_id, wire.score_request_from_wire(message["request"]))
        elif op == "embed":  # float32 vectors, base64 (embedding.py)
            vectors = runtime.embed([str(text) for text in message["texts"]])
            self.send({"id": request_id, "type": "result",
                       "data": {"vectors": [wire.pack_bytes(v) for v in vectors]}})
        else:
            raise WorkbenchError(f"Unknown model host operation '{op}'.")

    def generate(self, request_id: int, request: GenerationRequest) -> None:
        def emit(event: TokenEvent) -> None:
            message: dict[str, Any] = {"id": request_id, "type": "token", "text": event.text,
                                       "token": event.token_id}
            if event.piece is not None:
                message["piece"] = wire.pack_bytes(event.piece)
            if event.logprob is not None:
                message["logprob"] = event.logprob
                message["top"] = event.top_logprobs
                message["alts"] = wire.alternatives_to_wire(event.alternatives)
            if event.forced:
                message["forced"] = True
            self.send(message)

        def finished(sequence) -> None:
            self.cancelled.discard(request_id)
            if sequence.finish == "error":
                self.send({"id": request_id, "type": "error", "kind": "HostRequestError",
                           "message": sequence.error or "The generation failed."})
                return
            self.send({"id": request_id, "type": "done", "text": sequence.text,
                       "stats": sequence.stats().to_dict(), "seed": sequence.seed})

        self.runtime.submit(request_id, request, emit, finished)

    def score(self, request_id: int, request: ScoreRequest) -> None:
        """Answered when the score's last chunk is decoded, between generation steps."""

        def finished(sequence) -> None:
            if sequence.finish == "stop":
                self.send({"id": request_id, "type": "result",
                           "data": wire.likelihood_to_wire(sequence.result())})
            else:
                self.send({"id": request_id, "type": "error", "kind": "HostRequestError",
                           "message": sequence.error or "The scoring was cancelled."})

        self.runtime.submit_score(request_id, request, finished)


def main() -> None:
    # The protocol owns the real stdout; anything else that writes to fd 1 (llama.cpp, a
    # stray print) lands in the log on stderr instead of corrupting the message stream.
    protocol_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    log_path = os.environ.get("WORKBENCH_HOST_LOG")
    server = HostServer(protocol_out, Path(log_path) if log_path else None)
    reader = threading.Thread(
        target=server.read_requests, args=(sys.stdin.buffer,), daemon=True, name="host-reader"
    )
    reader.start()
    # llama.cpp's import (~0.1 s) overlaps with the parent sending the load request.
    from . import runtime  # noqa: F401

    server.serve()
    sys.stderr.flush()
    os._exit(0)  # skip interpreter teardown: llama.cpp's destructors are not needed at exit


if __name__ == "__main__":
    main()
