"""A tune job submitted through Ray Jobs (``http://HEAD:8265``): its driver runs on the cluster.

This is the Ray Jobs way in, which Ray recommends for Ray Train over the Ray Client: the job
folder's inputs (job.json, the token rows, the checkpoint pointers of a resumed job) go up as
the Ray job's working_dir, and the entrypoint is the usual driver
(``python -m workbench.tuning.on_ray .``) with the address ``auto``, the cluster it runs in.
This process stays the app's trainer process: it follows the Ray job's log and forwards the
event lines in it, keeps the checkpoint pointers in the job folder, stops the Ray job on cancel
(Ray sends SIGTERM to the cluster's driver, which stops the team after its step with a
checkpoint), and brings the adapter home from the job's storage. So the storage must be one
both sides reach: a shared folder or an object store URL (config.py requires one).
"""

from __future__ import annotations

import asyncio
import json
import queue
import shutil
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from ..job_files import JobFolder
from ..progress import TrainerEvent, decode
from .driver import ANSWER_TIMEOUT_S, POINTER, POLL_S, run_name, write_pointer
from .probe import IN_CLUSTER, check_reachable

ENTRYPOINT = "python -m workbench.tuning.on_ray ."  # the cluster's Python, with the workbench
STATUS_EVERY_S = 1.0
# The cluster's driver gets this long after SIGTERM to end its step and checkpoint before Ray
# kills it: under the app's 60 s grace, so the app never kills this process first.
STOP_WAIT_S = 50
LOG_AFTER_END_S = 10.0  # the log's last lines, once Ray says the job has ended


class JobsDriver:
    def __init__(self, folder: JobFolder, emit, stop):
        self.folder, self.emit, self.stop = folder, emit, stop
        self.spec = folder.read_spec()
        self.address = self.spec["where"]["address"]
        self.submission_id = ""
        self.last_step = 0
        self.terminal: TrainerEvent | None = None

    def run(self) -> int:
        from ray.job_submission import JobSubmissionClient

        check_reachable(self.address)
        client = JobSubmissionClient(self.address)
        self.submission_id = self.submit(client)
        print(f"Submitted Ray job {self.submission_id} to {self.address}", file=sys.stderr)
        status = StatusWatch(client, self.submission_id)
        log = LogFollower(client, self.submission_id)
        status.start()
        log.start()
        stop_sent, ended_at = False, None
        while True:
            if self.stop.requested and not stop_sent:
                stop_sent = status.stop_job()
            for line in log.lines():
                self.forward(line)
            if log.broken() and not status.ended and status.silent_for() < STATUS_EVERY_S * 3:
                # A blip in the log's stream while the cluster answers: follow it again.
                for line in log.lines() + log.rest():
                    self.forward(line)
                log = LogFollower(client, self.submission_id, skip=log.seen)
                log.start()
            if status.silent_for() > ANSWER_TIMEOUT_S:
                return self.lost(status)
            if status.ended:
                ended_at = ended_at or time.monotonic()
                if log.finished or time.monotonic() - ended_at > LOG_AFTER_END_S:
                    break
            time.sleep(POLL_S)
        for line in log.lines() + log.rest():
            self.forward(line)
        return self.conclude(status.info)

    def submit(self, client) -> str:
        with tempfile.TemporaryDirectory(prefix="workbench-ray-job-") as upload:
            self.pack(Path(upload))
            return client.submit_job(
                entrypoint=ENTRYPOINT,
                submission_id=f"{run_name(self.spec)}-{uuid.uuid4().hex[:8]}",
                # The workers' variables come from the driver's ray.init (Ray refuses a key
                # set in both); this one is read by Ray's job supervisor.
                runtime_env={"working_dir": upload,
                             "env_vars": {"RAY_JOB_STOP_WAIT_TIME_S": str(STOP_WAIT_S)}},
                metadata={"workbench_tune_job": self.spec["job_id"]})

    def pack(self, upload: Path) -> None:
        """What the cluster's driver needs of the job folder: the spec (its address now the
        cluster itself), the rows, and the checkpoint pointers a resumed job starts from."""
        spec = {**self.spec, "where": {**self.spec["where"], "address": IN_CLUSTER}}
        remote = JobFolder(upload)
        remote.spec.write_text(json.dumps(spec, indent=1))
        for path in (self.folder.train, self.folder.val):
            if path.is_file():
                shutil.copy(path, upload / path.name)
        for step in self.folder.checkpoint_steps():
            pointer = self.folder.checkpoint(step) / POINTER
            if pointer.is_file():
                remote.checkpoint(step).mkdir(parents=True)
                shutil.copy(pointer, remote.checkpoint(step) / POINTER)

    def forward(self, line: str) -> None:
        event = decode(line)
        if event is None:
            if line.strip():
                print(line, file=sys.stderr)  # the cluster's driver's log, in the job's log
            return
        if event.event == "start":
            event = TrainerEvent("start", event.step, {
                **event.data, "ray_address": self.address,
                "ray_submission_id": self.submission_id})
        if event.event in ("step", "eval", "checkpoint"):
            self.last_step = max(self.last_step, event.step)
        if event.event == "checkpoint":
            write_pointer(self.folder, event.step, event.get("path"))
        if event.event in ("done", "cancelled", "error"):
            self.terminal = event
        if event.event == "done":
            self.bring_adapter_home()
            event = TrainerEvent("done", event.step, {"adapter": str(self.folder.adapter)})
        self.emit(event)

    def bring_adapter_home(self) -> None:
        """The chief reported the adapter as the run's checkpoint ``adapter`` in the job's
        storage (worker.RayTeam.finished); copied from there, wherever that is."""
        from ray.train import Checkpoint

        storage = self.spec["where"]["storage"].rstrip("/")
        shutil.rmtree(self.folder.adapter, ignore_errors=True)
        Checkpoint(f"{storage}/{run_name(self.spec)}/adapter").to_directory(
            str(self.folder.adapter))

    def conclude(self, info) -> int:
        if self.terminal is not None:
            if self.terminal.event == "error":
                return {"config": 2, "oom": 3}.get(self.terminal.get("kind"), 1)
            return 0
        if info is not None and str(info.status) == "STOPPED":
            return 1  # stopped by force before it said cancelled: the app tells it so
        reason = (info.message if info is not None else "") or "it ended without a word"
        self.emit(TrainerEvent("error", self.last_step, {
            "kind": "crash", "message": f"the Ray job {self.submission_id} failed: {reason}"
                                        [:500]}))
        return 1

    def lost(self, status: StatusWatch) -> int:
        self.emit(TrainerEvent("error", self.last_step, {
            "kind": "crash",
            "message": f"the Ray cluster at {self.address} stopped answering for "
                       f"{ANSWER_TIMEOUT_S:.0f} s (Ray job {self.submission_id}; last "
                       f"error: {status.problem or 'none, no answer'})"[:500]}))
        return 1


class StatusWatch(threading.Thread):
    """Asks the Jobs API for the job's status every second: its end, and whether the
    cluster still answers (a request that hangs counts as silence too)."""

    def __init__(self, client, submission_id: str):
        super().__init__(daemon=True, name="ray-job-status")
        self.client, self.submission_id = client, submission_id
        self.info = None
        self.ended = False
        self.problem: str | None = None
        self.answered = time.monotonic()

    def run(self) -> None:
        while not self.ended:
            try:
                self.info = self.client.get_job_info(self.submission_id)
            except Exception as error:  # noqa: BLE001 - told when the silence is too long
                self.problem = f"{type(error).__name__}: {error}"[:200]
            else:
                self.answered, self.problem = time.monotonic(), None
                self.ended = self.info.status.is_terminal()
            time.sleep(STATUS_EVERY_S)

    def silent_for(self) -> float:
        return time.monotonic() - self.answered

    def stop_job(self) -> bool:
        """Ask Ray to stop the job (SIGTERM to its driver); False to try again later."""
        try:
            self.client.stop_job(self.submission_id)
        except Exception as error:  # noqa: BLE001 - the next turn of the loop tries again
            print(f"Stopping the Ray job failed: {error}", file=sys.stderr)
            return False
        return True


class LogFollower(threading.Thread):
    """Follows the Ray job's log (its driver's stdout and stderr) as it is written, in lines;
    ``skip``: lines a previous follower already gave (the log is sent from its start)."""

    def __init__(self, client, submission_id: str, skip: int = 0):
        super().__init__(daemon=True, name="ray-job-log")
        self.client, self.submission_id = client, submission_id
        self.chunks: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.partial = ""
        self.seen = 0
        self.skip = skip
        self.finished = False
        self.error: BaseException | None = None

    def run(self) -> None:
        async def follow() -> None:
            async for chunk in self.client.tail_job_logs(self.submission_id):
                self.chunks.put(chunk)

        try:
            asyncio.run(follow())
        except Exception as error:  # noqa: BLE001 - the driver follows again or gives up
            self.error = error
        finally:
            self.finished = True

    def broken(self) -> bool:
        return self.finished and self.error is not None

    def lines(self) -> list[str]:
        text = self.partial
        while True:
            try:
                text += self.chunks.get_nowait()
            except queue.Empty:
                break
        *whole, self.partial = text.split("\n")
        return self._new(whole)

    def rest(self) -> list[str]:
        last, self.partial = self.partial, ""
        return self._new([last]) if last.strip() else []

    def _new(self, lines: list[str]) -> list[str]:
        fresh = lines[max(0, self.skip - self.seen):]
        self.seen += len(lines)
        return fresh

