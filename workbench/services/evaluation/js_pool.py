"""The parent side of the JavaScript sandbox (``js_sandbox.py``): its processes, a request
line in and a reply line out each, kept in a pool, one process per call running at once.

A sandbox stops a call itself at its limits (CPU time, memory, waiting); this side replaces a
process after such a call, when one dies (V8 ends its process on some allocations too large
for its heap), or when one does not answer in time.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import subprocess
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from ...core.errors import WorkbenchError
from ...engine.process import describe_exit
from ...engine.quantlab.child_io import PARENT_ENV

CPU_SECONDS = 1.0  # of CPU time, per call
WALL_SECONDS = 10.0  # per call, waiting included (a promise that never settles)
MEMORY_MB = 128  # V8's heap, per call (the process may grow 64 MB more around it)
START_SECONDS = 30.0  # a sandbox process's start (Python, mini-racer's import, V8)
MAX_SANDBOXES = 4  # processes at once (~70 MB each); more callers wait for one to be free
REPLY_CHARS = 1_000_000  # what a call may give back


class SandboxProcess:
    """One sandbox process: a request line in, a reply line out."""

    def __init__(self):
        env = dict(os.environ, **{PARENT_ENV: str(os.getpid())})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "workbench.services.evaluation.js_sandbox"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            text=True, encoding="utf-8", start_new_session=True)
        self.replies: queue.Queue = queue.Queue()
        self.errors: deque[str] = deque(maxlen=20)
        threading.Thread(target=self._read, daemon=True, name="js-sandbox-out").start()
        threading.Thread(target=self._drain, daemon=True, name="js-sandbox-err").start()
        ready = self._reply(START_SECONDS)
        if not ready.get("ok"):
            self.kill()
            raise WorkbenchError(f"The JavaScript sandbox did not start: "
                                 f"{ready.get('message', 'no reason given')}")

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.replies.put(line)
        self.replies.put(None)

    def _drain(self) -> None:
        for line in self.proc.stderr:
            if line.strip():
                self.errors.append(line.strip())

    def _reply(self, timeout: float) -> dict:
        try:
            line = self.replies.get(timeout=timeout)
        except queue.Empty:
            self.kill()
            return {"ok": False, "kind": "wall"}
        if line is None:
            return self._died()
        try:
            return json.loads(line)
        except ValueError:
            return {"ok": False, "kind": "error", "message": "an unreadable reply"}

    def _died(self) -> dict:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            code = self.proc.returncode
        said = " ".join(self.errors).lower()
        if any(word in said for word in ("out of memory", "invalid size", "heap limit",
                                         "allocation failed")):
            return {"ok": False, "kind": "memory"}
        tail = f"; {self.errors[-1]}" if self.errors else ""
        return {"ok": False, "kind": "died", "message": f"{describe_exit(code)}{tail}"}

    def call(self, source: str) -> dict:
        request = json.dumps({"source": source, "cpu_s": CPU_SECONDS, "wall_s": WALL_SECONDS,
                              "memory_mb": MEMORY_MB})
        try:
            self.proc.stdin.write(request + "\n")
            self.proc.stdin.flush()
        except (OSError, ValueError):
            return self._died()
        # The sandbox stops a call itself at its limits; this is for a sandbox that cannot.
        reply = self._reply(WALL_SECONDS + 5)
        if len(reply.get("result") or "") > REPLY_CHARS:
            return {"ok": False, "kind": "error",
                    "message": f"it gave back more than {REPLY_CHARS:,} characters"}
        return reply

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass


class Pool:
    """Sandbox processes, one per call running at once (up to MAX_SANDBOXES), kept for the
    next calls.

    They are started from one long-lived thread: a sandbox ends with the thread that started
    it (Linux's parent-death signal follows the thread), and evaluation threads come and go."""

    def __init__(self):
        self._idle: list[SandboxProcess] = []
        self._all: list[SandboxProcess] = []
        self._lock = threading.Lock()
        self._starter = ThreadPoolExecutor(1, thread_name_prefix="js-sandbox-start")
        self._free = threading.BoundedSemaphore(MAX_SANDBOXES)
        atexit.register(self.close)

    def _take(self) -> SandboxProcess | None:
        with self._lock:
            while self._idle:
                process = self._idle.pop()
                if process.alive:
                    return process
                self._all.remove(process)
        return None

    def call(self, source: str) -> dict:
        with self._free:
            return self._call(source)

    def _call(self, source: str) -> dict:
        process = self._take()
        if process is None:
            try:
                process = self._starter.submit(SandboxProcess).result()
            except (OSError, WorkbenchError) as error:
                return {"ok": False, "kind": "died", "message": str(error)}
            with self._lock:
                self._all.append(process)
        reply = {"ok": False, "kind": "died"}
        try:
            reply = process.call(source)
            return reply
        finally:
            # A call stopped at a limit leaves V8 busy or its memory spent: a new process
            # serves the next call.
            spent = reply.get("kind") in ("timeout", "wall", "memory", "died")
            if spent:
                process.kill()
            with self._lock:
                if process.alive and not spent:
                    self._idle.append(process)
                elif process in self._all:
                    self._all.remove(process)

    def close(self) -> None:
        with self._lock:
            processes, self._all, self._idle = self._all, [], []
        for process in processes:
            process.kill()


pool = Pool()
