"""The parent side of the model host: spawn the child, talk to it, survive its death.

Every public method is thread-safe and blocking; the GUI calls them from worker threads.
"""

from __future__ import annotations

import itertools
import queue
import subprocess
import threading
import time
from array import array
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from ...core.errors import (
    HostRequestError,
    ModelFileError,
    ModelProcessDied,
    ModelUnloadedError,
    WorkbenchError,
)
from ...core.generation import GenerationRequest, ScoreRequest
from ...core.job_state import JobState
from ...core.messages import ChatMessage
from ...core.model_info import LoadSettings, ModelMetadata
from ...core.tokens import AnswerLikelihood
from ...library.gguf_check import check_adapter_file, check_model_file
from ...library.offload import vram_failure_message
from ..process import LOG_TAIL_LINES, describe_exit, read_log_tail
from . import wire
from .loading import PROGRESS, LoadCancelled
from .replies import TERMINAL, Died
from .spawn import start_process, take_spare
from .stream import GenerationStream


class ModelHost:
    """One llama.cpp model in its own process.

    If the process dies, pending callers get ModelProcessDied and the next call starts a
    fresh process with the same settings.
    """

    def __init__(
        self,
        settings: LoadSettings,
        *,
        logs_dir: Path,
        cancel_grace_s: float = 1.0,
        kill_after_s: float = 5.0,
    ):
        self.settings = settings
        self.logs_dir = Path(logs_dir)
        self.cancel_grace_s = cancel_grace_s
        self.kill_after_s = kill_after_s
        self.metadata: ModelMetadata | None = None
        self.restarts = 0
        self._proc: subprocess.Popen | None = None
        self._pending: dict[int, queue.Queue] = {}
        self._settling = 0  # cancelled requests whose watchdog has not finished
        self._settling_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._lock = threading.RLock()  # guards starting and stopping the process
        self._table_lock = threading.Lock()  # guards the pending table; never held while waiting
        self._write_lock = threading.Lock()
        self._closed = False
        # A load in flight and the jobs that follow it (start(job=…)); a cancelled load
        # abandons this host: it never loads again (the service starts a new one).
        self._jobs_lock = threading.Lock()
        self._load_jobs: list[JobState] = []
        self._load_id: int | None = None
        self._loading = False
        self._abandoned = False

    # -- life cycle ----------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path:
        return self.logs_dir / f"host-{Path(self.settings.path).stem}.log"

    def start(self, job: JobState | None = None) -> ModelMetadata:
        """Start the process and load the model (blocking: seconds for large models).

        With ``job``: how far llama.cpp has read the weights is the job's progress (0 to 1,
        keeping the job's message), and the job's cancel stops the load — the host is asked
        to stop (llama.cpp's progress callback says no), killed if it does not answer, and
        this call and every other waiting on the same load raise LoadCancelled. A caller that
        joins a load already running (the window's, after the preload's) follows it the same
        way. A cancel once the model is up changes nothing."""
        if job is not None:
            self._follow(job)
        try:
            with self._lock:
                return self._start_locked()
        finally:
            if job is not None:
                with self._jobs_lock:
                    self._load_jobs.remove(job)

    def _start_locked(self) -> ModelMetadata:
        if self._abandoned:
            raise LoadCancelled(self.settings.path)
        if self._closed:
            raise ModelUnloadedError("This model was unloaded.")
        if self.alive and self.metadata is not None:
            return self.metadata
        check_model_file(self.settings.path)
        for adapter in self.settings.adapters:
            check_adapter_file(adapter.path)
        if self.metadata is not None:
            self.restarts += 1
        with self._jobs_lock:
            self._loading = True
        try:
            self._spawn()
            data = self._load_reply()
        except BaseException as error:
            self._kill()
            if self._loading_ends():
                raise LoadCancelled(self.settings.path) from None
            if isinstance(error, WorkbenchError):
                raise self._load_failure(error) from None
            raise
        if self._loading_ends():  # cancelled as the answer came: nothing half-loaded stays
            self._kill()
            raise LoadCancelled(self.settings.path)
        self.metadata = ModelMetadata.from_wire(data)
        return self.metadata

    def _load_failure(self, error: WorkbenchError) -> WorkbenchError:
        if isinstance(error, ModelProcessDied):
            # Some GPU backends abort on an allocation failure instead of returning one:
            # the log still says it ran out of VRAM, and how many layers to try.
            layers = self.settings.n_gpu_layers
            vram = vram_failure_message(self.log_tail(40), -1 if layers is None else layers, 0)
            return ModelFileError(
                self.settings.path, vram or f"llama.cpp crashed while loading it ({error.how})")
        if isinstance(error, HostRequestError):
            return ModelFileError(self.settings.path, error.reason or str(error))
        return error

    # -- a load's progress and cancel ------------------------------------------------------

    def _load_reply(self) -> Any:
        """Send the load request; tell progress events to the jobs following it; its result."""
        request_id, replies = self._send(self._proc, "load", {"settings": self.settings.to_wire()})
        with self._jobs_lock:
            self._load_id = request_id
            abandoned = self._abandoned
        if abandoned:  # cancelled while the process was starting
            self._stop_load(request_id)
        try:
            while True:
                message = replies.get()
                if isinstance(message, dict) and message.get("type") == PROGRESS:
                    self._tell_progress(float(message["fraction"]))
                    continue
                return self._result_of(message)
        finally:
            self._forget(request_id)
            with self._jobs_lock:
                self._load_id = None

    def _follow(self, job: JobState) -> None:
        with self._jobs_lock:
            self._load_jobs.append(job)
        job.on_cancel(partial(self._cancel_load, job))

    def _cancel_load(self, job: JobState) -> None:
        """``job``'s cancel: stop the load it waits for, if one is still to finish."""
        with self._jobs_lock:
            ready = self.alive and self.metadata is not None and not self._loading
            if job not in self._load_jobs or ready or self._abandoned:
                return
            self._abandoned = True
            request_id = self._load_id
        if request_id is not None:
            self._stop_load(request_id)

    def _stop_load(self, request_id: int) -> None:
        self.send_cancel([request_id])
        self.watch_cancelled(request_id)  # killed if it has not answered in kill_after_s

    def _loading_ends(self) -> bool:
        """The load has answered: True when it was cancelled meanwhile."""
        with self._jobs_lock:
            self._loading = False
            return self._abandoned

    def _tell_progress(self, fraction: float) -> None:
        with self._jobs_lock:
            jobs = list(self._load_jobs)
        for job in jobs:
            job.set_progress(fraction, 1.0, job.progress.message)

    def _spawn(self) -> None:
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path
        if log.exists():
            log.replace(log.with_suffix(".log.1"))  # keep the previous run's log for a post-mortem
        self._proc = take_spare(self.logs_dir, log) or start_process(log)
        threading.Thread(
            target=self._read_replies, args=(self._proc,), daemon=True, name="host-replies"
        ).start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            with self._write_lock:
                proc.stdin.write(wire.encode({"id": 0, "op": "shutdown"}))
                proc.stdin.flush()
                proc.stdin.close()
            proc.wait(timeout=3)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    # -- replies -------------------------------------------------------------------------

    def _read_replies(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            try:
                message = wire.decode(line)
            except ValueError:
                continue
            with self._table_lock:
                if message.get("type") in TERMINAL:
                    target = self._pending.pop(message.get("id"), None)
                else:
                    target = self._pending.get(message.get("id"))
            if target is not None:
                target.put(message)
        code = proc.wait()
        died = ModelProcessDied(describe_exit(code), self.log_tail())
        with self._table_lock:
            proc.workbench_death = died  # requests registered from now on learn it at once
            if self._proc is not proc:
                return  # an old process we replaced; its callers were already told
            pending = list(self._pending.values())
        for target in pending:
            target.put(Died(died))

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return read_log_tail(self.log_path, lines)

    # -- requests ------------------------------------------------------------------------

    def _register(self, proc: subprocess.Popen) -> tuple[int, queue.Queue]:
        with self._table_lock:
            request_id = next(self._ids)
            replies: queue.Queue = queue.Queue()
            self._pending[request_id] = replies
            death = getattr(proc, "workbench_death", None)
        if death is not None:
            replies.put(Died(death))
        return request_id, replies

    def _submit(self, op: str, **fields: Any) -> tuple[int, queue.Queue]:
        """Send a request, starting (or restarting) the process first if it is not running."""
        with self._lock:
            if not self.alive:
                self.start()
            proc = self._proc
        return self._send(proc, op, fields)

    def _send(self, proc: subprocess.Popen, op: str, fields: dict) -> tuple[int, queue.Queue]:
        request_id, replies = self._register(proc)
        try:
            with self._write_lock:
                proc.stdin.write(wire.encode({"id": request_id, "op": op, **fields}))
                proc.stdin.flush()
        except OSError:
            pass  # the reader sees the death and tells this request's queue
        return request_id, replies

    def _forget(self, request_id: int) -> None:
        with self._table_lock:
            self._pending.pop(request_id, None)

    def is_pending(self, request_id: int) -> bool:
        with self._table_lock:
            return request_id in self._pending

    def _call(self, op: str, **fields: Any) -> Any:
        request_id, replies = self._submit(op, **fields)
        try:
            return self._await_result(replies)
        finally:
            self._forget(request_id)

    @classmethod
    def _await_result(cls, replies: queue.Queue) -> Any:
        return cls._result_of(replies.get())

    @staticmethod
    def _result_of(message: dict | Died) -> Any:
        if isinstance(message, Died):
            raise message.error
        if message["type"] == "error":
            raise HostRequestError(message["message"], message.get("kind", ""), message.get("reason"))
        return message["data"]

    def send_cancel(self, request_ids: Iterable[int]) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        try:
            with self._write_lock:
                proc.stdin.write(wire.encode({"id": 0, "op": "cancel", "targets": list(request_ids)}))
                proc.stdin.flush()
        except OSError:
            pass

    def watch_cancelled(self, request_id: int) -> None:
        """Kill the process if a cancelled request is still running after ``kill_after_s``."""
        with self._settling_lock:
            self._settling += 1

        def watchdog(proc: subprocess.Popen | None) -> None:
            try:
                deadline = time.monotonic() + self.kill_after_s
                while time.monotonic() < deadline:
                    if not self.is_pending(request_id):
                        return
                    time.sleep(0.05)
                unanswered = self.is_pending(request_id) and self._proc is proc
                if unanswered and proc is not None and proc.poll() is None:
                    proc.kill()
            finally:
                with self._settling_lock:
                    self._settling -= 1

        threading.Thread(target=watchdog, args=(self._proc,), daemon=True).start()

    def wait_settled(self, timeout_s: float | None = None) -> bool:
        """Wait until no cancelled request is still running here: each has answered, or its
        host was killed (the next request starts a new one). A run that starts right after a
        stop waits for this, or the stop's kill would fail the new run's cells."""
        deadline = time.monotonic() + (self.kill_after_s + 1.0 if timeout_s is None
                                       else timeout_s)
        while time.monotonic() < deadline:
            with self._settling_lock:
                if not self._settling:
                    return True
            time.sleep(0.02)
        return False

    # -- the protocol --------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        return self._call("tokenize", text=text, add_special=add_special,
                          parse_special=parse_special)["ids"]

    def tokenize_with_pieces(self, text: str, *, add_special: bool = True) -> list[tuple[int, str]]:
        data = self._call("tokenize", text=text, add_special=add_special, parse_special=True,
                          pieces=True)
        return list(zip(data["ids"], data["pieces"]))

    def detokenize(self, ids: Sequence[int]) -> str:
        return self._call("detokenize", ids=list(ids))["text"]

    def pieces(self, ids: Sequence[int]) -> list[bytes]:
        """Each token's exact bytes, special tokens spelled out (one request for all)."""
        return [wire.unpack_bytes(p) for p in self._call("pieces", ids=list(ids))["pieces"]]

    def score(self, request: ScoreRequest) -> AnswerLikelihood:
        """The answer's per-token log-probabilities under the prompt (blocking). It runs in
        the host as a sequence of its own, between generation steps, and never changes what
        a generation gives."""
        for adapter in request.adapters or ():
            check_adapter_file(adapter.path)
        return wire.likelihood_from_wire(
            self._call("score", request=wire.score_request_to_wire(request)))

    def embed_packed(self, texts: Sequence[str]) -> list[bytes]:
        """Each text's pooled, L2-normalised embedding as float32 little-endian bytes (what
        sqlite-vec stores), batched in the host. Needs a host loaded with ``embedding=True``."""
        return [wire.unpack_bytes(v) for v in self._call("embed", texts=list(texts))["vectors"]]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """``embed_packed`` as lists of floats."""
        return [array("f", packed).tolist() for packed in self.embed_packed(texts)]

    def render(self, messages: Sequence[ChatMessage], *, add_generation_prompt: bool = True) -> str:
        return self._call("render", messages=[m.to_dict() for m in messages],
                          add_generation_prompt=add_generation_prompt)["text"]

    def generate(self, request: GenerationRequest) -> GenerationStream:
        for adapter in request.adapters or ():
            check_adapter_file(adapter.path)  # a bad file is refused here, not crashed on there
        request_id, replies = self._submit("generate", request=request.to_wire())
        return GenerationStream(self, request_id, request, replies)

    def generate_many(self, requests: Sequence[GenerationRequest]) -> list[GenerationStream]:
        """Queue several requests at once; the host runs them in order, sharing prompt prefixes."""
        return [self.generate(request) for request in requests]
