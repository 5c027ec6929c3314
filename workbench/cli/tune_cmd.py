"""``workbench tune CONFIG.toml``: a LoRA tune job on the command line.

Prints the data problems (file:line: reason), the estimate, then one line per step. Ctrl-C
cancels (the trainer checkpoints and stops; ``--resume JOB_ID`` continues it); a second Ctrl-C
kills the trainer. Exit code 0 when the adapter is exported, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ..core.errors import WorkbenchError
from ..core.job_state import JobWatcher
from ..core.paths import app_paths
from .shipped import shipped_or_path

if TYPE_CHECKING:  # the services import the store: only when a tune command runs
    from ..services.tuning import TuningService

MAX_PROBLEMS_SHOWN = 20


def register(commands: argparse._SubParsersAction) -> None:
    tune = commands.add_parser("tune", help="train a LoRA adapter (see docs/tuning.md)")
    tune.add_argument("config", metavar="CONFIG.toml", nargs="?",
                      help="the tune config, or a shipped example's name (made-up-fact)")
    tune.add_argument("--check", action="store_true",
                      help="read the config and its data, print the plan and the estimate, "
                           "train nothing")
    tune.add_argument("--resume", metavar="JOB_ID", help="continue a stopped job (id or prefix)")
    tune.add_argument("--jobs", action="store_true", help="list tune jobs and exit")
    where = tune.add_argument_group("where it trains (else the config's [where]: this machine)")
    where.add_argument("--ray", metavar="ADDRESS", nargs="?", const="local",
                       help="on a Ray cluster: ray://HOST:10001 (the Ray Client), "
                            "http://HOST:8265 (Ray Jobs: give --storage too) or HOST:6379; "
                            "without an address, a Ray started on this machine (needs the ray "
                            "extra)")
    where.add_argument("--workers", type=int, help="Ray Train workers (data-parallel)")
    where.add_argument("--gpus-per-worker", type=float, help="GPUs per Ray worker (0: CPU)")
    where.add_argument("--storage", help="checkpoints: a folder the cluster shares or an "
                                         "object store URL (s3://…, gs://…)")
    tune.set_defaults(func=cmd_tune)


class Printer(JobWatcher):
    """Watches a tune run: its trainer events become lines on stdout (called from the job's
    reader thread)."""

    def __init__(self):
        super().__init__(on_partial=self.show)
        self.total = 0
        self.eval_loss = None

    def show(self, event) -> None:
        if event.event == "start":
            self.total = int(event.get("total_steps") or 0)
            how = "resumed at step" if event.get("resumed") else "started at step"
            on = event.get("device")
            if event.get("place") == "ray":
                on = (f"Ray at {event.get('ray_address')}, {event.get('workers')} workers "
                      f"({event.get('ray_devices')}), Ray job {event.get('ray_job_id')}")
            print(f"trainer {how} {event.step} of {self.total} on {on} "
                  f"({event.get('train_rows')} training rows, {event.get('val_rows')} held out)",
                  flush=True)
        elif event.event == "eval":
            self.eval_loss = event.get("eval_loss")
            print(f"step {event.step}/{self.total}  eval loss {self.eval_loss:.4f}", flush=True)
        elif event.event == "step":
            eta = int(event.get("eta_s") or 0)
            workers = int(event.get("workers") or 1)
            print(f"step {event.step}/{self.total}  loss {event.get('loss'):.4f}  "
                  f"{event.get('tokens_per_second'):.0f} tok/s  "
                  + (f"{workers} workers  " if workers > 1 else "")
                  + f"ETA {eta // 60}:{eta % 60:02d}", flush=True)
        elif event.event == "checkpoint":
            print(f"checkpoint at step {event.step}", flush=True)


def cmd_tune(args: argparse.Namespace) -> int:
    from ..services.models import ModelService
    from ..services.plugins import start_plugins
    from ..services.tuning import TuningService
    from ..store import Store

    paths = app_paths().ensure()
    store = Store.open(paths.database)
    models = ModelService(paths)
    # an importer plugin's table is training data; an engine plugin loads the base model
    plugins = start_plugins(models, safe_mode=args.safe_mode, paths=paths)
    service = TuningService(store, models, paths, plugins=plugins)
    try:
        service.recover()
        if args.jobs:
            return _list(service)
        printer = Printer()
        if args.resume:
            job_id = _find_job(service, args.resume)
            print(f"resuming tune job {job_id}", flush=True)
            run = service.resume(job_id, printer)
        elif args.config and args.check:
            _plan(service, config_path(args.config), args)
            return 0
        elif args.config:
            run = _start(service, config_path(args.config), printer, args)
        else:
            raise WorkbenchError("Give a tune config (CONFIG.toml) or --resume JOB_ID.")
        job = _wait(run)
    finally:
        models.close()
        store.close()
    if job.status == "done":
        print(f"adapter: {job.artifacts['adapter_gguf']}")
        if job.artifacts.get("merged_gguf"):
            print(f"merged model: {job.artifacts['merged_gguf']}")
        return 0
    if job.status == "cancelled":
        print(f"cancelled; continue with: workbench tune --resume {job.id[:8]}", file=sys.stderr)
        return 1
    raise WorkbenchError(job.error or "The tune job failed.")


def config_path(text: str) -> str:
    """A file, else an example shipped with the app (``made-up-fact``)."""
    return str(shipped_or_path(text, "EXAMPLES", ".toml"))


def with_where(config, args: argparse.Namespace):
    """The config's [where], with what the command line says over it."""
    from dataclasses import replace

    where = config.where
    if args.ray is not None:
        where = replace(where, place="ray", address="" if args.ray == "local" else args.ray)
    for option, key in (("workers", "workers"), ("gpus_per_worker", "gpus_per_worker"),
                        ("storage", "storage")):
        if getattr(args, option, None) is not None:
            where = replace(where, **{key: getattr(args, option)})
    return replace(config, where=where.validate())


def describe_where(where) -> str:
    if not where.on_ray:
        return "this machine (a trainer process)"
    gpus = f", {where.gpus_per_worker:g} GPU each" if where.gpus_per_worker else ""
    at = f"Ray at {where.address}" if where.address else "a Ray started here for the job"
    return f"{at}, {where.workers} workers × {where.cpus_per_worker} CPU{gpus}"


def _plan(service: TuningService, path: str, args: argparse.Namespace):
    from ..tuning.config import load_toml

    config = with_where(load_toml(path), args)
    print(f"where: {describe_where(config.where)}", flush=True)
    service.check_where(config.where)  # Ray missing or no cluster there: said before loading
    base = service.inspect_base(config.base_model)
    print(f"base model: {base.name} ({base.model_type}, {base.kind})", flush=True)
    plan = service.plan(config, base=base)
    for problem in plan.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"skipped {problem}", file=sys.stderr)
    if len(plan.problems) > MAX_PROBLEMS_SHOWN:
        print(f"… and {len(plan.problems) - MAX_PROBLEMS_SHOWN} more skipped rows",
              file=sys.stderr)
    print(f"data: {len(plan.train)} training rows, {len(plan.val)} held out, "
          f"{len(plan.problems)} skipped", flush=True)
    print(f"estimate: {service.estimate(config, plan, base).describe()}", flush=True)
    return config, plan


def _start(service: TuningService, path: str, printer: Printer, args: argparse.Namespace):
    config, plan = _plan(service, path, args)
    run = service.start(config, plan, printer)
    print(f"tune job {run.job_id}", flush=True)
    return run


def _wait(run):
    """Wait for the run to end and return its stored job; Ctrl-C cancels cleanly, a second
    Ctrl-C kills the trainer."""
    interrupts = 0
    while True:
        try:
            if run.wait(timeout=0.5):
                if run.job is None:  # it failed before the store could record why
                    raise WorkbenchError(run.error or "The tune job failed.")
                return run.job
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts == 1:
                print("cancelling: the trainer finishes its step and checkpoints "
                      "(Ctrl-C again to kill it)", file=sys.stderr, flush=True)
                run.cancel()
            else:
                run.kill()


def _find_job(service: TuningService, prefix: str) -> str:
    matches = [j.id for j in service.jobs() if j.id.startswith(prefix)]
    if len(matches) != 1:
        raise WorkbenchError(f"No single tune job matches '{prefix}' "
                             f"({len(matches)} found); see workbench tune --jobs.")
    return matches[0]


def _list(service: TuningService) -> int:
    jobs = service.jobs()
    if not jobs:
        print("No tune jobs yet.")
    for job in jobs:
        steps = [m.step for m in job.metrics if m.name == "loss"]
        print(f"{job.id[:8]}  {job.status:<9}  {job.config.get('name', '')}  "
              f"step {max(steps, default=0)}  {job.created_at:%Y-%m-%d %H:%M}"
              + (f"  {job.error}" if job.error and job.status != "done" else ""))
    return 0
