"""Use cases of LoRA tuning: the GUI wizard and ``workbench tune`` call only this.

inspect a base model → import data (files or the session) → prepare rows with the base's own
template and tokenizer (preview, problems, length histogram) → estimate → start a job (a
trainer process; progress stored as it comes) → cancel / resume → export the adapter as a GGUF
LoRA registered in the library → variants to compare base and adapter on one loaded model.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ..core.catalog import AdapterEntry
from ..core.errors import NotFoundError
from ..core.job_state import JobWatcher
from ..core.paths import AppPaths
from ..core.prompts import PromptVersion
from ..core.tune_jobs import TuneJob
from ..core.tuning_errors import TuningError
from ..plugins.manager import PluginManager
from ..store import Store

# The window builds configs and settings pages from these (ui imports only services/core).
from ..tuning.architectures import ALL_LINEAR  # noqa: F401
from ..tuning.base_model import BaseInfo, inspect_base
from ..tuning.base_tokenizer import FolderTokenizer, HostTokenizer
from ..tuning.config import PRESETS, TuneConfig, TuneSettings, TuneWhere  # noqa: F401
from ..tuning.estimate import Estimate, estimate
from ..tuning.formats import OWN_SUFFIXES, Imported, read_files
from ..tuning.job_files import JobFolder
from ..tuning.job_run import TuneRun
from ..tuning.on_ray.probe import check_reachable, parse_address, ray_version, require_ray
from ..tuning.rows import Histogram, Prepared, length_histogram, prepare, require_rows, split
from ..tuning.runner import RAY_DRIVER_MODULE, TRAINER_MODULE, stop_orphan, trainer_alive
from ..tuning.session_data import session_examples
from .compare import VariantSpec
from .models import ModelService


@dataclass(frozen=True)
class DataPlan:
    """The prepared data of a job, as the wizard previews it."""

    examples: int
    train: list
    val: list
    problems: list
    histogram: Histogram

    @property
    def rows(self) -> list:
        return [*self.train, *self.val]




class TuningService:
    def __init__(self, store: Store, models: ModelService, paths: AppPaths | None = None,
                 plugins: PluginManager | None = None):
        self.store = store
        self.models = models
        self.paths = paths or models.paths
        self.plugins = plugins
        self._runs: dict[str, TuneRun] = {}
        self._lock = threading.Lock()

    # -- base model and data -------------------------------------------------------------

    def resolve_base(self, name_or_path: str | None) -> str:
        """A Hugging Face folder as given; anything else through the model library."""
        if name_or_path and Path(name_or_path).expanduser().is_dir():
            return str(Path(name_or_path).expanduser().resolve())
        return str(self.models.resolve(name_or_path))

    def inspect_base(self, name_or_path: str | None) -> BaseInfo:
        return inspect_base(self.resolve_base(name_or_path))

    def tokenizer(self, base: BaseInfo):
        if base.is_gguf:  # llama.cpp's own tokenizer; shares a host already loaded
            return HostTokenizer(self.models.load_named(base.path))
        return FolderTokenizer(base.path)

    def import_files(self, paths) -> Imported:
        """Training data files: a suffix tuning does not read itself (JSONL, JSON, CSV) is
        read by the importer plugins, as a table of test cases is."""
        return read_files(paths, self.plugins.read_table if self.plugins is not None else None)

    def data_suffixes(self) -> list[str]:
        """What a training data file may be: tuning's own formats, then every suffix an
        importer plugin reads (what the wizard's file dialog offers)."""
        suffixes = list(OWN_SUFFIXES)
        if self.plugins is not None:
            suffixes += [suffix.lower() for _, importer in
                         self.plugins.contributions("register_importers")
                         for suffix in importer.suffixes]
        return list(dict.fromkeys(suffixes))

    def session_examples(self, session_id: str, *, include_examples: bool = True,
                         min_rating: float = 4.0) -> Imported:
        return session_examples(self.store, session_id, include_examples=include_examples,
                                min_rating=min_rating)

    def plan(self, config: TuneConfig, imported: Imported | None = None,
             base: BaseInfo | None = None, tokenizer=None) -> DataPlan:
        """Render and tokenize every row; refuse data that leaves nothing to train on."""
        base = base or self.inspect_base(config.base_model)
        settings = config.settings.validate()
        imported = imported if imported is not None else self.import_files(config.data)
        if not imported.examples:  # say so before loading anything
            require_rows(Prepared([], imported.problems), 0, settings.max_length)
        tokenizer = tokenizer or self.tokenizer(base)
        prepared: Prepared = prepare(tokenizer, imported.examples, settings.max_length)
        problems = [*imported.problems, *prepared.problems]
        require_rows(Prepared(prepared.rows, problems), len(imported.examples),
                     settings.max_length)
        if config.validation:
            extra = self.import_files([config.validation])
            held = prepare(tokenizer, extra.examples, settings.max_length)
            train, val = prepared.rows, held.rows
            problems += [*extra.problems, *held.problems]
        else:
            train, val = split(prepared.rows, settings.val_fraction, settings.seed)
        histogram = length_histogram([len(r.ids) for r in prepared.rows], settings.max_length,
                                     truncated=sum(r.truncated for r in prepared.rows))
        return DataPlan(len(imported.examples), train, val, problems, histogram)

    def estimate(self, config: TuneConfig, plan: DataPlan,
                 base: BaseInfo | None = None) -> Estimate:
        base = base or self.inspect_base(config.base_model)
        device = config.settings.device
        workers = config.where.workers if config.where.on_ray else 1
        if config.where.on_ray and device == "auto":  # the workers' devices, not this one's
            device = "cuda" if config.where.gpus_per_worker else "cpu"
        return estimate(base, config.settings, [len(r.ids) for r in plan.train],
                        "cpu" if device == "auto" else device, config.settings.threads,
                        workers=workers)

    # -- where ----------------------------------------------------------------------------

    def ray_version(self) -> str | None:
        """The installed Ray (the ``ray`` extra), or None."""
        return ray_version()

    def check_where(self, where: TuneWhere) -> None:
        """Refuse, in seconds and with what to do, a Ray job that cannot start: Ray missing,
        an address that is not one or where nothing answers."""
        where.validate()
        if not where.on_ray:
            return
        require_ray()
        parse_address(where.address)
        check_reachable(where.address)

    # -- jobs ------------------------------------------------------------------------------

    def start(self, config: TuneConfig, plan: DataPlan, watcher: JobWatcher | None = None,
              *, memory_limit_bytes: int | None = None) -> TuneRun:
        """Start the trainer; the run is a JobState (trainer events as partial results, the
        stored TuneJob as its outcome). ``watcher`` is attached before the first event."""
        self.check_where(config.where)
        base_path = self.resolve_base(config.base_model)
        name = config.name or f"{Path(base_path).stem}-lora"
        config = replace(config, name=name)
        job = self.store.jobs.add(TuneJob(session_id=config.session_id,
                                          config=config.to_dict()))
        folder = JobFolder(self.paths.data / "tune-jobs" / job.id)
        spec = {"job_id": job.id, "base_path": base_path, "settings": asdict(config.settings),
                "memory_limit_bytes": memory_limit_bytes, "where": asdict(config.where)}
        folder.create(spec, (r.to_wire() for r in plan.train), (r.to_wire() for r in plan.val))
        self.store.jobs.update(job.id, artifacts={"folder": str(folder.root)})
        return self._launch(job.id, folder, watcher)

    def resume(self, job_id: str, watcher: JobWatcher | None = None) -> TuneRun:
        """Continue a cancelled, failed or interrupted job from its last checkpoint."""
        job = self.store.jobs.get(job_id)
        with self._lock:
            running = self._runs.get(job_id)
        if running is not None and not running.done.is_set():
            raise TuningError("This tune job is still running.")
        if job.status == "done":
            raise TuningError("This tune job has finished; start a new one to train more.")
        folder = JobFolder(job.artifacts.get("folder", ""))
        if not folder.spec.is_file():
            raise TuningError(f"The files of tune job {job_id} are gone; it cannot be resumed.")
        self.check_where(_where_of(folder))
        stop_orphan(_int(job.artifacts.get("pid")), folder.root)
        return self._launch(job_id, folder, watcher)

    def _launch(self, job_id: str, folder: JobFolder, watcher: JobWatcher | None) -> TuneRun:
        module = RAY_DRIVER_MODULE if _where_of(folder).on_ray else TRAINER_MODULE
        run = TuneRun(self.store, job_id, folder, lambda: self._publish(job_id, folder),
                      module=module)
        if self.plugins is not None:  # told first; guarded: a raising plugin is reported
            plugins = self.plugins
            run.watch(JobWatcher(on_finished=lambda state: plugins.emit(
                "tune_job_did_finish", job=state.outcome) if state.outcome else None))
        if watcher is not None:
            run.watch(watcher)
        with self._lock:
            self._runs[job_id] = run
        return run.start()

    def _publish(self, job_id: str, folder: JobFolder) -> dict[str, str]:
        config = TuneConfig.from_dict(self.store.jobs.get(job_id).config)
        spec = folder.read_spec()
        from ..tuning.publish import publish  # numpy and gguf: only when an adapter is ready

        result = publish(self.store, folder, job_id=job_id, base_path=spec["base_path"],
                         name=config.name, adapters_dir=self.paths.adapters, merge=config.merge)
        artifacts = {"adapter_gguf": result.adapter_path, "adapter_id": result.adapter_id,
                     "base_path": spec["base_path"]}
        if result.merged_path:
            artifacts["merged_gguf"] = result.merged_path
        return artifacts

    def cancel(self, job_id: str) -> None:
        with self._lock:
            run = self._runs.get(job_id)
        if run is None:
            raise NotFoundError(f"Tune job {job_id} is not running in this app.")
        run.cancel()

    def jobs(self) -> list[TuneJob]:
        return self.store.jobs.list()

    def job(self, job_id: str) -> TuneJob:
        return self.store.jobs.get(job_id)

    def resumable(self) -> list[TuneJob]:
        """Jobs that stopped before the end and still have their files: newest first."""
        with self._lock:
            running = {job_id for job_id, run in self._runs.items() if not run.done.is_set()}
        return [job for job in reversed(self.store.jobs.list())
                if job.status in ("cancelled", "failed") and job.id not in running
                and JobFolder(job.artifacts.get("folder", "")).spec.is_file()]

    def adapters(self) -> list[AdapterEntry]:
        """Adapters in the library whose file is still there (exported tune jobs, imports)."""
        return [a for a in self.store.catalog.adapters() if Path(a.path).is_file()]

    def recover(self) -> list[TuneJob]:
        """At start-up: jobs stored as running whose trainer is gone are marked resumable."""
        recovered = []
        for job in self.store.jobs.list():
            if job.status not in ("running", "queued") or job.id in self._runs:
                continue
            folder = Path(job.artifacts.get("folder", ""))
            if trainer_alive(_int(job.artifacts.get("pid")), folder):
                continue  # still checkpointing after the app died; resume() waits for it
            steps = JobFolder(folder).checkpoint_steps()
            where = (f"from the checkpoint of step {steps[-1]}" if steps
                     else "from the start (no checkpoint was written)")
            recovered.append(self.store.jobs.update(job.id, status="failed", error=(
                f"The trainer stopped when the app closed; resume the job to continue {where}.")))
        return recovered

    # -- comparing -------------------------------------------------------------------------

    def variant_specs(self, job_id: str, version: PromptVersion,
                      scales: tuple[float, ...] = (1.0, 0.5), **spec_options) -> list[VariantSpec]:
        """Base, and base + adapter at each scale: one loaded model serves them all."""
        job = self.store.jobs.get(job_id)
        adapter = job.artifacts.get("adapter_gguf")
        base = job.artifacts.get("base_path")
        if job.status != "done" or not adapter or not base:
            raise TuningError("Only a finished tune job with an exported adapter can be "
                              "compared.")
        if not Path(base).is_file():
            raise TuningError("The base model is a Hugging Face folder, which llama.cpp cannot "
                              "run; compare with a GGUF of the same model.")
        name = job.config.get("name") or "adapter"
        specs = [VariantSpec(label="base", prompt_version=version, model=base, **spec_options)]
        specs += [VariantSpec(label=f"{name} ×{scale:g}", prompt_version=version, model=base,
                              adapter_path=adapter, adapter_scale=scale, **spec_options)
                  for scale in scales]
        return specs


def _where_of(folder: JobFolder) -> TuneWhere:
    """Where a job trains, from its folder (jobs from before Ray have no ``where``)."""
    return TuneWhere(**(folder.read_spec().get("where") or {}))


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
