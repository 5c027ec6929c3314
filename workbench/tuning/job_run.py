"""One tune job while it runs: trainer events become stored metrics, states and messages.

A reader thread turns each event into a store update (the job, its metric series and its
artifacts live in the session database) and hands it to a listener (the GUI's bridge, the
CLI's printer). Whatever way the trainer ends, the job gets a final state and one clear
sentence; checkpoints on disk are never removed on failure, so a job can be resumed.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from ..core.job_state import JobState
from ..core.tune_jobs import MetricPoint, TuneJob
from ..core.tuning_errors import TrainerFailed, TrainerOutOfMemory, TuningError
from ..engine.process import describe_exit
from ..store import Store
from .job_files import JobFolder
from .progress import TrainerEvent
from .runner import TRAINER_MODULE, TrainerProcess

PROVENANCE = ("ray_", "workers", "place", "torch_version")
METRICS = {"step": ("loss", "tokens_per_second", "lr"), "eval": ("eval_loss",)}


class TuneRun(JobState):
    """A tune job as a job: progress in steps, each trainer event as a partial result, cancel
    (the trainer finishes its step and checkpoints; this JobState is the trainer's one cancel
    flag), the stored TuneJob as its outcome (``job``). ``wait`` answers as every job's does:
    whether it has ended."""

    def __init__(self, store: Store, job_id: str, folder: JobFolder,
                 publish: Callable[[], dict[str, str]], env: dict[str, str] | None = None,
                 module: str = TRAINER_MODULE):
        super().__init__(f"tune job {job_id[:8]}")
        self.store = store
        self.job_id = job_id
        self.folder = folder
        self.publish = publish  # export + register after "done"; returns artifacts
        self.process = TrainerProcess(folder, self, env=env, module=module)
        self.last_step = 0
        self.total_steps = 0
        self._thread = threading.Thread(target=self._run, daemon=True, name="tune-job")

    def start(self) -> TuneRun:
        self.process.start()
        self.store.jobs.update(self.job_id, status="running",
                               artifacts={"folder": str(self.folder.root),
                                          "pid": str(self.process.pid)})
        self._thread.start()
        return self

    def kill(self) -> None:
        self.process.kill()

    @property
    def job(self) -> TuneJob | None:
        """The stored tune job once the run has ended (its outcome); None while it runs."""
        return self.outcome

    # -- the reader thread -------------------------------------------------------------

    def _run(self) -> None:
        terminal: TrainerEvent | None = None
        job: TuneJob | None = None
        try:
            for event in self.process.events():
                self._record(event)
                if event.event in ("done", "cancelled", "error"):
                    terminal = event
                self.add_partial(event)  # watchers see every trainer event as it comes
            code = self.process.wait()
            job = self._conclude(terminal, code)
        except Exception as error:  # noqa: BLE001 - the job must always get a final state
            job = self.store.jobs.update(self.job_id, status="failed",
                                         error=f"The tune job failed: {error}")
        finally:
            # Watchers are told before ``done`` is set: whoever waits on it sees what they did.
            if job is None or job.status == "failed":
                self.fail(job.error if job else "The tune job failed.", job)
            else:
                self.finish(job, status=job.status)

    def _record(self, event: TrainerEvent) -> None:
        if event.event in ("step", "eval"):
            self.last_step = max(self.last_step, event.step)
            self.set_progress(self.last_step, self.total_steps, "steps")
            points = [MetricPoint(event.step, name, float(event.get(name)))
                      for name in METRICS[event.event] if event.get(name) is not None]
            self.store.jobs.update(self.job_id, new_metrics=points)
        elif event.event == "checkpoint":
            self.store.jobs.update(self.job_id, artifacts={"checkpoint": event.get("path")})
        elif event.event == "start":
            self.total_steps = int(event.get("total_steps") or 0)
            self.store.jobs.update(self.job_id, artifacts={
                "total_steps": str(event.get("total_steps")), "device": event.get("device", ""),
                "device_note": event.get("device_note", ""),
                # a Ray job's provenance: job id, address, workers, devices, versions
                **{key: str(value) for key, value in event.data.items()
                   if key.startswith(PROVENANCE)}})

    def _conclude(self, terminal: TrainerEvent | None, code: int) -> TuneJob:
        if terminal is not None and terminal.event == "done":
            try:
                artifacts = self.publish()
            except TuningError as error:
                return self.store.jobs.update(self.job_id, status="failed", error=str(error))
            return self.store.jobs.update(self.job_id, status="done", artifacts=artifacts,
                                          error="")
        if terminal is not None and terminal.event == "cancelled":
            return self.store.jobs.update(self.job_id, status="cancelled", error="")
        if self.cancelled and terminal is None:  # asked to stop, it ended without saying so
            return self.store.jobs.update(self.job_id, status="cancelled",
                                          error=self._stopped_by_force(code))
        return self.store.jobs.update(self.job_id, status="failed",
                                      error=self.failure_message(terminal, code))

    def _stopped_by_force(self, code: int) -> str:
        """Why a cancelled job has no checkpoint of its last step: killed after the grace
        period, or ended by the stop signal before the trainer could take it cleanly."""
        how = ("did not stop in time and was killed" if code == -signal.SIGKILL
               else f"ended ({describe_exit(code)}) before it could stop cleanly")
        return f"Cancelled at step {self.last_step}: the trainer {how}.{self._kept()}"

    def _kept(self) -> str:
        """What a stopped job can resume from, as a sentence."""
        kept = self.folder.checkpoint_steps()
        return (f" The checkpoint of step {kept[-1]} is kept: resume the job to continue."
                if kept else " No checkpoint was written yet.")

    def failure_message(self, terminal: TrainerEvent | None, code: int) -> str:
        tail = self._kept()
        if terminal is not None and terminal.get("kind") == "oom":
            return str(TrainerOutOfMemory(
                f"The trainer ran out of memory at step {self.last_step}: lower the batch size "
                f"or the max length (gradient accumulation keeps the effective batch).{tail}"))
        if terminal is not None and terminal.get("kind") == "config":
            return terminal.get("message", "The trainer refused the job.")
        if terminal is not None:
            return str(TrainerFailed(f"The trainer failed at step {self.last_step}: "
                                     f"{terminal.get('message')}.{tail}"))
        log = self.folder.log_tail()
        return str(TrainerFailed(f"The trainer process ended unexpectedly "
                                 f"({describe_exit(code)}) at step {self.last_step}.{tail}"
                                 + (f" Last lines of its log:\n{log}" if log else "")))
