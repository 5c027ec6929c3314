"""Train the experiment's adapters, one trainer process after another, through TuningService.

A trainer that fails (out of memory, crashed, refused its data) fails its adapter only: the
result says why, and the experiment goes on with the other arms. A cancel of the experiment
kills the running trainer at once (the experiment is being abandoned: no checkpoint needed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from ...core.errors import WorkbenchError
from ...core.job_state import JobState, JobWatcher
from ..tuning import TuneConfig, TuningService
from .fewshot_arms import AdapterPlan, training_examples
from .fewshot_config import FewShotConfig


@dataclass(frozen=True)
class AdapterResult:
    key: str
    label: str
    examples: int
    status: str  # "done", "failed", "cancelled"
    seconds: float = 0.0  # wall time: trainer start, steps, export to GGUF
    steps: int = 0
    adapter_path: str | None = None
    job_id: str | None = None
    error: str = ""

    def to_dict(self) -> dict:
        return {"key": self.key, "label": self.label, "examples": self.examples,
                "status": self.status, "seconds": self.seconds, "steps": self.steps,
                "adapter_path": self.adapter_path, "job_id": self.job_id, "error": self.error}


def train_adapter(tuning: TuningService, config: FewShotConfig, plan: AdapterPlan, *,
                  base: str, system: str, session_id: str | None, job: JobState,
                  tag: str) -> AdapterResult:
    """Blocking; reports "training <label>: step i/n" on ``job`` and hands the TuneRun to its
    watchers as a partial result ``("trainer", key, run)``."""
    if job.cancelled:
        return AdapterResult(plan.key, plan.label, len(plan.pairs), "cancelled")
    started = time.monotonic()
    settings = replace(config.training, val_fraction=0.0, seed=config.seed)
    tune = TuneConfig(base_model=base, name=f"fewshot-{tag}-{plan.key}", settings=settings,
                      session_id=session_id)

    def ended(status: str, error: str = "", run=None) -> AdapterResult:
        job_id = getattr(run, "job_id", None)
        return AdapterResult(plan.key, plan.label, len(plan.pairs), status,
                             round(time.monotonic() - started, 2),
                             getattr(run, "last_step", 0), None, job_id, error)

    job.set_progress(0, 0, f"training {plan.label}: preparing {len(plan.pairs)} rows")
    try:
        data = tuning.plan(tune, training_examples(plan.pairs, system))
        watcher = JobWatcher(on_progress=lambda p: job.set_progress(
            p.done, p.total, f"training {plan.label}: step {int(p.done)}/{int(p.total) or '?'}"))
        run = tuning.start(tune, data, watcher)
    except WorkbenchError as error:
        return ended("failed", str(error))
    # The experiment's cancel cancels the tune job (stored as cancelled, not failed) and kills
    # its trainer at once, at once too if the cancel came while it was starting.
    job.on_cancel(run.cancel)
    job.on_cancel(run.kill)
    job.add_partial(("trainer", plan.key, run))
    run.wait()
    stored = run.job
    if job.cancelled:
        return ended("cancelled", "The experiment was cancelled.", run)
    if stored is None or stored.status != "done":
        return ended("failed", (stored.error if stored else run.error) or "The trainer failed.",
                     run)
    path = stored.artifacts.get("adapter_gguf")
    if not path:
        return ended("failed", "The trainer finished but no GGUF adapter was written.", run)
    result = ended("done", run=run)
    return replace(result, adapter_path=path)
