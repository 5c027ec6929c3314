"""The driver of a tune job on Ray: ``python -m workbench.tuning.on_ray JOB_FOLDER``.

It speaks the trainer process's protocol (one JSON event per line on stdout, SIGTERM to stop,
the same exit codes; see trainer/__main__.py), so the app starts, watches, cancels and kills
it exactly like a local trainer. It connects to the cluster (or starts a local Ray), runs
Ray Train's TorchTrainer with the shared training loop on N workers, and forwards the chief
worker's events as they come. When the job ends it brings the adapter home into the job
folder; the app then exports and registers it as for a local job.

Checkpoints live where Ray Train persists them (the job's storage path); the job folder keeps
a pointer per step (checkpoints/step-N/ray_checkpoint.json), so a failed or cancelled job
shows and resumes from its last checkpoint like a local one. The driver owns the Ray job: when
it ends or is killed, Ray ends the job's workers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from ...core.errors import WorkbenchError
from ..job_files import JobFolder
from ..progress import TrainerEvent, decode
from ..trainer.__main__ import _watch_parent, event_emitter, is_out_of_memory
from .client_connect import init_ray
from .probe import check_reachable, parse_address

POINTER = "ray_checkpoint.json"
KEEP = 2
POLL_S = 0.2
ANSWER_TIMEOUT_S = 60.0  # a lost cluster fails the job after this long
WORKER_ENV = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
              "OMP_WAIT_POLICY": "PASSIVE", "PYTHONUNBUFFERED": "1"}


class StopFlag:
    requested = False


def storage_path(folder: JobFolder, where: dict) -> str:
    """Where Ray Train persists this job's checkpoints: the user's shared folder or object
    store URL, else (a local Ray or a one-machine cluster) the job folder itself."""
    return where.get("storage") or str(folder.root / "ray")


def run_name(spec: dict) -> str:
    return f"workbench-tune-{spec['job_id']}"


def write_pointer(folder: JobFolder, step: int, path: str) -> None:
    """Mark the checkpoint of ``step`` in the job folder (atomically; the last KEEP kept)."""
    final = folder.checkpoint(step)
    tmp = final.with_name(final.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / POINTER).write_text(json.dumps({"path": path, "step": step}))
    shutil.rmtree(final, ignore_errors=True)
    tmp.rename(final)
    for old in folder.checkpoint_steps()[:-KEEP]:
        shutil.rmtree(folder.checkpoint(old), ignore_errors=True)


def latest_pointer(folder: JobFolder) -> str | None:
    latest = folder.latest_checkpoint()
    if latest is None or not (latest / POINTER).is_file():
        return None
    return json.loads((latest / POINTER).read_text())["path"]


def connect(where: dict) -> None:
    """ray.init for the job's address: a GCS address, the Ray Client (ray://), the cluster
    this process runs in (``auto``: a job submitted through Ray Jobs) or a new local Ray."""
    check_reachable(where.get("address", ""))
    address = where.get("address") or "local"  # "local": a new Ray, never one found running
    init_ray(address, logging_level="ERROR", log_to_driver=False,
             runtime_env={"env_vars": WORKER_ENV},
             **({"num_cpus": _local_cpus(where)} if address == "local" else {}))


def is_jobs_address(text: str) -> bool:
    address = parse_address(text)
    return address is not None and address.jobs


def _local_cpus(where: dict) -> int:
    """A Ray started for the job gets the CPUs its workers ask for (at least this machine's)."""
    return max(os.cpu_count() or 1, int(where["workers"]) * int(where["cpus_per_worker"]))


def provenance(job_id: str, where: dict, team: dict) -> dict:
    import ray
    import torch

    workers = [team[rank] for rank in sorted(team)]
    return {"place": "ray", "ray_address": where.get("address") or "local",
            "ray_job_id": ray.get_runtime_context().get_job_id(),
            "ray_run": job_id, "workers": len(workers) or where["workers"],
            "ray_devices": ", ".join(f"{w['device']}@{w['host']}" for w in workers),
            "ray_worker_pids": ",".join(str(w["pid"]) for w in workers),
            "ray_version": ray.__version__, "torch_version": torch.__version__}


class Driver:
    def __init__(self, folder: JobFolder, emit):
        self.folder = folder
        self.spec = folder.read_spec()
        self.where = self.spec["where"]
        self.emit = emit
        self.error_event: TrainerEvent | None = None
        self.terminal: TrainerEvent | None = None
        self.last_step = 0

    def trainer(self, channel):
        from ray.train import CheckpointConfig, FailureConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer

        from .worker import train_on_worker

        spec = dict(self.spec)
        settings = dict(spec["settings"])
        settings["threads"] = settings.get("threads") or int(self.where["cpus_per_worker"])
        spec["settings"] = settings
        storage = storage_path(self.folder, self.where)
        gpus = float(self.where.get("gpus_per_worker") or 0)
        resources = {"CPU": float(self.where["cpus_per_worker"])}
        if gpus:
            resources["GPU"] = gpus
        return TorchTrainer(
            train_on_worker,
            train_loop_config={
                "spec": spec, "channel": channel,
                "train_rows": _rows(self.folder.train), "val_rows": _rows(self.folder.val),
                "checkpoint_root": f"{storage.rstrip('/')}/{run_name(self.spec)}",
                # The newest checkpoint known persisted (worker.restore_checkpoint).
                "resume_from": latest_pointer(self.folder)},
            scaling_config=ScalingConfig(num_workers=int(self.where["workers"]),
                                         use_gpu=gpus > 0, resources_per_worker=resources),
            run_config=RunConfig(
                name=run_name(self.spec), storage_path=storage,
                # A lost worker fails the job with Ray's reason; the user resumes it.
                failure_config=FailureConfig(max_failures=0),
                checkpoint_config=CheckpointConfig(num_to_keep=KEEP + 1)))

    def forward(self, line: str, channel_team) -> None:
        event = decode(line)
        if event is None:
            return
        if event.event == "start":
            event = TrainerEvent("start", event.step, {
                **event.data, **provenance(self.spec["job_id"], self.where, channel_team())})
        if event.event in ("step", "eval", "checkpoint"):
            self.last_step = max(self.last_step, event.step)
        if event.event == "checkpoint":
            write_pointer(self.folder, event.step, event.get("path"))
        if event.event == "error":
            self.error_event = event
            return  # told once, when the Ray job has ended
        if event.event in ("done", "cancelled"):
            self.terminal = event
            if event.event == "done":
                return  # told when the adapter is home
        self.emit(event)

    def run(self) -> int:
        import ray

        from .channel import JobChannel

        connect(self.where)
        stop_on_sigterm()  # again: ray.init replaces the handler with one that exits
        channel = JobChannel.remote()
        outcome: dict = {}

        def fit() -> None:
            try:
                outcome["result"] = self.trainer(channel).fit()
            except BaseException as error:  # noqa: BLE001 - reported by the main thread
                outcome["error"] = error

        fitting = threading.Thread(target=fit, daemon=True, name="ray-fit")
        fitting.start()
        stop_sent = False
        team = lambda: ray.get(channel.team.remote())  # noqa: E731
        while True:
            finished = not fitting.is_alive()
            if StopFlag.requested and not stop_sent:
                channel.request_stop.remote()
                stop_sent = True
            try:
                lines = self.take(channel)
            except ClusterLost as lost:
                return self.lost(lost)
            for line in lines:
                self.forward(line, team)
            if finished:
                break
            time.sleep(POLL_S)
        if "error" in outcome:
            return self.failed(outcome["error"])
        if self.terminal is not None and self.terminal.event == "done":
            self.bring_adapter_home(outcome["result"])
            self.emit(TrainerEvent("done", self.terminal.step,
                                   {"adapter": str(self.folder.adapter)}))
        return 0

    def take(self, channel) -> list[str]:
        """The events waiting in the channel. A cluster that stops answering, or whose job
        actor is gone with it, is a ClusterLost (never a hang: Ray's own reconnection could
        wait much longer)."""
        import ray
        from ray.exceptions import GetTimeoutError

        try:
            return ray.get(channel.take.remote(), timeout=ANSWER_TIMEOUT_S)
        except GetTimeoutError:
            raise ClusterLost(f"the Ray cluster at {self.address} stopped answering for "
                              f"{ANSWER_TIMEOUT_S:.0f} s") from None
        except Exception as error:  # noqa: BLE001 - Ray's errors for a lost cluster vary
            raise ClusterLost(f"lost the Ray cluster at {self.address}: "
                              f"{cluster_reason(error)}") from None

    @property
    def address(self) -> str:
        return self.where.get("address") or "local"

    def bring_adapter_home(self, result) -> None:
        shutil.rmtree(self.folder.adapter, ignore_errors=True)
        result.checkpoint.to_directory(str(self.folder.adapter))

    def lost(self, lost: ClusterLost) -> int:
        """Told at once; then the process ends without Ray's exit handlers, which would wait
        on the lost cluster (ray.shutdown) while the job is already known failed."""
        self.emit(TrainerEvent("error", self.last_step, {"kind": "crash",
                                                         "message": str(lost)[:500]}))
        sys.stderr.flush()
        os._exit(1)

    def failed(self, error: BaseException) -> int:
        if self.error_event is not None:  # the worker said what went wrong
            self.emit(self.error_event)
            return 2 if self.error_event.get("kind") == "config" else 1
        print("".join(traceback.format_exception(error)), file=sys.stderr)
        if is_out_of_memory(error):
            self.emit(TrainerEvent("error", self.last_step,
                                   {"kind": "oom", "message": str(error)[:300]}))
            return 3
        self.emit(TrainerEvent("error", self.last_step, {
            "kind": "crash", "message": f"the Ray job failed: {cluster_reason(error)}"}))
        return 1


class ClusterLost(ConnectionError):
    """The cluster stopped answering the driver: the job fails, resumable."""


def cluster_reason(error: BaseException) -> str:
    """The cluster's reason in a sentence: Ray's errors wrap the worker's in long tracebacks."""
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    telling = [line for line in lines if any(word in line.lower() for word in (
        "died", "unexpectedly", "killed", "lost", "connection", "error:", "exited"))]
    reason = telling[0] if telling else (lines[0] if lines else type(error).__name__)
    return f"{type(error).__name__}: {reason}"[:500]


def _rows(path: Path) -> list[dict]:
    from ..job_files import read_rows

    return read_rows(path)


def stop_on_sigterm() -> None:
    """SIGTERM (the app's cancel) asks the team to stop after its step, with a checkpoint."""
    signal.signal(signal.SIGTERM, lambda *_: setattr(StopFlag, "requested", True))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m workbench.tuning.on_ray JOB_FOLDER", file=sys.stderr)
        return 2
    emit = event_emitter(StopFlag)  # the app gone: stop at the end of the step, checkpointed

    stop_on_sigterm()
    _watch_parent(StopFlag)
    folder = JobFolder(Path(argv[1]))
    try:
        if is_jobs_address(folder.read_spec()["where"].get("address", "")):
            from .jobs import JobsDriver  # the driver runs on the cluster, submitted

            return JobsDriver(folder, emit, StopFlag).run()
        return Driver(folder, emit).run()
    except WorkbenchError as error:
        emit(TrainerEvent("error", 0, {"kind": "config", "message": str(error)}))
        return 2
    except BaseException as error:  # noqa: BLE001 - every failure becomes an event
        traceback.print_exc()
        emit(TrainerEvent("error", 0, {"kind": "crash",
                                       "message": f"{type(error).__name__}: {error}"[:500]}))
        return 1
