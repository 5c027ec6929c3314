"""Few-shot vs fine-tune, end to end: split → adapters → one evaluation run of every arm on the
same held-out cases → results and a report, kept in the app's data folder
(``experiments/<UTC timestamp>-few-shot/``) and, as an evaluation run, in the session database.

The GUI and ``workbench experiment few-shot-vs-lora`` call only ``FewShotService``; the work is
one JobState (progress with the current step as its message, cancel, the outcome). Each step is
marked in the folder's progress file as it finishes, so an interrupted experiment resumes
(``FewShotService.resume``, fewshot_resume.py) without doing a finished step again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from ...core.experiment_split import Split, split_examples
from ...core.job_state import JobState, JobWatcher
from ...core.runs import Output
from .. import run_state
from ..evaluation.eval_service import EvalService
from ..evaluation.report import build_report
from ..evaluation.suite_session import store_suite
from ..job_start import start_job
from ..tuning import TuningService
from . import eval_step, experiment_state
from .eval_step import MarkRunStarted, finish_run, step_job
from .fewshot_arms import Arm, load_examples, plan_adapters, plan_arms, suite_for, variant_specs
from .fewshot_config import FewShotConfig
from .fewshot_control import control_result
from .fewshot_report import build_document
from .fewshot_resume import (
    Recorded,
    group_run,
    mark_adapter,
    mark_suite,
    read_folder,
    stored_outputs,
    stored_suite,
    trained_adapter,
)
from .fewshot_training import AdapterResult, train_adapter
from .folders import STAMP, new_experiment_folder
from .progress_file import ProgressFile, write_json
from .report_doc import ReportDocument


@dataclass(frozen=True)
class FewShotOutcome:
    folder: Path
    results: dict[str, Any]  # what results.json holds
    document: ReportDocument
    split: Split

    @property
    def cancelled(self) -> bool:
        return self.results.get("status") == "cancelled"


class FewShotService:
    def __init__(self, tuning: TuningService, evaluation: EvalService):
        self.tuning, self.evaluation = tuning, evaluation
        self.store, self.models = evaluation.store, evaluation.models

    def start(self, config: FewShotConfig, watcher: JobWatcher | None = None) -> JobState:
        """Run in a background thread; the job's outcome is the FewShotOutcome."""
        return self._in_thread(config.name, watcher, lambda job: self.run(config, job))

    def start_resume(self, folder: Path | str | None = None,
                     watcher: JobWatcher | None = None) -> JobState:
        """``resume`` in a background thread; the job's outcome is the FewShotOutcome."""
        return self._in_thread("resume", watcher, lambda job: self.resume(folder, job))

    @staticmethod
    def _in_thread(name: str, watcher: JobWatcher | None, call) -> JobState:
        return start_job(f"experiment: {name}", call, watcher, thread_name="fewshot-experiment")

    def run(self, config: FewShotConfig, job: JobState | None = None) -> FewShotOutcome:
        """Blocking. Bad input (too few examples, a bad config) raises before anything runs."""
        job = job or JobState(f"experiment: {config.name}")
        return self._as_job(job, lambda: self._fresh(config.validate(), job))

    def resume(self, folder: Path | str | None = None,
               job: JobState | None = None) -> FewShotOutcome:
        """Finish an interrupted (or stopped) experiment in its folder — the newest of them
        when ``folder`` is None — skipping every step it finished: the suite it stored, the
        adapters it trained (or that failed), the evaluation runs that are done; an
        evaluation run left half-way is finished in place. The same report as an
        uninterrupted run (same split, seeds and settings). Blocking."""
        job = job or JobState("experiment: resume")
        return self._as_job(job, lambda: self._resumed(folder, job))

    @staticmethod
    def _as_job(job: JobState, work) -> FewShotOutcome:
        try:
            outcome = work()
        except BaseException as error:
            job.fail(str(error))
            raise
        job.finish(outcome)
        return outcome

    # -- the steps ------------------------------------------------------------------------

    def _fresh(self, config: FewShotConfig, job: JobState) -> FewShotOutcome:
        now = datetime.now(UTC)
        stamp = now.strftime(STAMP)
        job.set_progress(0, 0, "reading the examples")
        examples = load_examples(self.tuning, config)
        split = split_examples(examples.pairs, held_out=config.held_out, ks=config.shot_ks,
                               seed=config.seed)
        model = str(self.models.resolve(config.model))
        folder = new_experiment_folder(self.tuning.paths, "few-shot", now)
        experiment_state.hold(folder)
        try:
            progress = ProgressFile.create(folder, "few-shot", started_at=now.isoformat(),
                                           stamp=stamp)
            write_json(folder / "config.json", {**config.to_dict(), "model_path": model,
                                                "system_used": examples.system})
            write_json(folder / "split.json", {**split.to_dict(), "problems": [
                str(p) for p in examples.problems]})
            recorded = Recorded(config, examples.system, model, split, now, stamp)
            return self._steps(recorded, progress, job)
        finally:
            experiment_state.release(folder)

    def _resumed(self, folder: Path | str | None, job: JobState) -> FewShotOutcome:
        state = experiment_state.to_resume(self.tuning.paths, "few-shot", folder)
        experiment_state.hold(state.folder)
        try:
            progress = ProgressFile.load(state.folder)
            recorded = read_folder(state.folder, progress)
            progress.resumed()
            job.set_progress(0, 0, f"resuming {state.folder.name}")
            return self._steps(recorded, progress, job)
        finally:
            experiment_state.release(state.folder)

    def _steps(self, recorded: Recorded, progress: ProgressFile,
               job: JobState) -> FewShotOutcome:
        config, split, model = recorded.config, recorded.split, recorded.model
        system, folder = recorded.system, progress.folder
        try:
            adapters = plan_adapters(config, split)
            arms = plan_arms(config, split, adapters)
            held = stored_suite(self.store, progress)
            if held is None:
                held = store_suite(self.store, suite_for(config, split, system, model),
                                   name=f"{config.name} {recorded.stamp}")
                mark_suite(progress, held)
            versions = dict(zip(config.shot_ks, held.versions))

            trained: list[AdapterResult] = []
            for plan in adapters:
                result = trained_adapter(progress, plan)
                if result is None:
                    result = train_adapter(self.tuning, config, plan, base=model, system=system,
                                           session_id=held.session.id, job=job,
                                           tag=recorded.stamp)
                    mark_adapter(progress, result)
                trained.append(result)
                job.add_partial(("adapter", result))
            paths = {r.key: r.adapter_path for r in trained if r.adapter_path}
            specs = variant_specs(config, arms, versions, model, paths)
            ran = [arm for arm in arms if not arm.adapter or arm.adapter in paths]
            evaluation = self._evaluate(held, specs, ran, config.repeats, job, progress) \
                if specs and not job.cancelled else None
            results = self._results(config, split, system, model, folder, held, arms,
                                    ran, trained, evaluation, job.cancelled,
                                    recorded.started, progress.elapsed())
        except Exception as error:
            progress.update(status="failed", error=str(error))
            raise
        document = build_document(results)
        document.write(folder / "report.html")
        document.write(folder / "report.md")
        write_json(folder / "results.json", results)  # last: the experiment has ended
        progress.update(status=results["status"])
        return FewShotOutcome(folder, results, document, split)

    def _evaluate(self, held, specs, arms: list[Arm], repeats: int, job: JobState,
                  progress: ProgressFile):
        """Every arm on the same cases and seeds, one evaluation run per adapter state.

        The engine never mixes adapter states in one batch or cache: arms interleaved in one run
        would empty the prompt cache at every switch (the nested k-shot prompts share their
        prefixes only while no adapter comes between them). The runs share the case set, so
        the units (case, repeat) pair across runs and one report compares every arm.

        The control's base runs first, before any adapter was ever applied, and the adapter at
        scale 0 runs last, after every adapter run: an engine that left an adapter attached
        would fail it. Both are greedy, so they run once (repeats would repeat the tokens).

        Each run is a step: marked started (with its id) at its first output and done at its
        end; a resume takes a done run as it is and finishes a started one in place. What the
        report needs is read back from the store, the same way for every run."""
        cases = held.case_set.cases
        groups: dict[tuple | str | None, list[int]] = {}
        for index, (spec, arm) in enumerate(zip(specs, arms)):
            active = spec.adapter_path and spec.adapter_scale != 0.0  # scale 0: the base state
            key = (arm.key if arm.kind == "control" else
                   (spec.adapter_path, spec.adapter_scale) if active else None)
            groups.setdefault(key, []).append(index)
        order = {"control-base": 0, "control-scale0": 2}
        keys = sorted(groups, key=lambda key: order.get(key, 1) if isinstance(key, str) else 1)
        times = {key: 1 if key in order else repeats for key in keys}
        total = sum(len(cases) * len(groups[key]) * times[key] for key in keys)
        variants: list = [None] * len(specs)
        run_ids: list[str] = []
        before = 0
        for key in keys:
            indices = groups[key]
            if job.cancelled:
                break
            chosen = [specs[i] for i in indices]
            job.set_progress(before, total, f"evaluating: {before}/{total} answers")
            run_id = self._group(held, chosen, "+".join(arms[i].key for i in indices),
                                 times[key], job, progress, _answers(job, before, total))
            for index, variant in zip(indices, self.store.runs.get(run_id).variants):
                variants[index] = variant
            run_ids.append(run_id)
            before += len(cases) * len(chosen) * times[key]
        outputs, results = stored_outputs(self.store, run_ids, [
            v.id for v, arm in zip(variants, arms) if v is not None and arm.kind == "control"])
        report = build_report([(v.id, v.label) for v in variants if v is not None], results,
                              seed=0)
        return run_ids, variants, report, outputs

    def _group(self, held, specs, key: str, repeats: int, job: JobState,
               progress: ProgressFile, answers: JobWatcher) -> str:
        """One adapter state's run: taken as it is, finished, or run; returns its id.
        ``answers`` sees the run's progress in cells."""
        run = group_run(self.store, progress, key, held.session.id, [s.label for s in specs])
        if run is not None and run.status in run_state.RESUMABLE:
            progress.mark("eval", key, state="started", run_id=run.id)
            finish_run(self.evaluation, run.id, job, answers)
        elif run is None:
            marker = MarkRunStarted(progress, "eval", key)
            step = step_job(job, f"evaluation of {key}", answers)
            handle, _, _ = self.evaluation.run_held(held, specs, repeats=repeats,
                                                    listener=marker, job=step)
            step.finish(handle.run)
            run = handle.run
        status = eval_step.run_status(self.store, run.id)
        if status is not None and status not in run_state.RESUMABLE:
            progress.mark("eval", key, state="done", run_id=run.id)
        return run.id

    def _results(self, config, split, system, model, folder, held, arms: list[Arm],
                 ran: list[Arm], trained: list[AdapterResult], evaluation, cancelled: bool,
                 started_at: datetime, wall_s: float) -> dict[str, Any]:
        by_key = {r.key: r for r in trained}
        run_ids, variants, report, outputs = evaluation or ([], [], None, {})
        variant_of = {arm.key: variant for arm, variant in zip(ran, variants)
                      if variant is not None}
        summaries = {v.variant_id: v for v in report.variants} if report else {}
        rows = []
        for arm in arms:
            row = {**arm.to_dict(), "status": "not run", "error": ""}
            adapter = by_key.get(arm.adapter) if arm.adapter else None
            if adapter is not None and adapter.status != "done":
                row.update(status="failed" if adapter.status == "failed" else "cancelled",
                           error=f"{adapter.label}: {adapter.error}")
            variant = variant_of.get(arm.key)
            if variant is not None:
                row.update(variant_id=variant.id, **_arm_figures(
                    summaries.get(variant.id),
                    [o for o in outputs.values() if o.variant_id == variant.id]))
            rows.append(row)
        comparison = _paired(report, rows) if report else None
        control = None
        if config.control:
            base, zero = variant_of.get("control-base"), variant_of.get("control-scale0")
            control = control_result(outputs, base.id if base else None,
                                     zero.id if zero else None,
                                     next((a.adapter for a in arms if a.key == "control-scale0"),
                                          None), by_key)
        return {
            "name": config.name, "started_at": started_at.isoformat(), "wall_s": round(wall_s, 1),
            "status": "cancelled" if cancelled else "done", "folder": str(folder),
            "model": model, "system": system, "session_id": held.session.id,
            "run_ids": run_ids, "examples": split.examples,
            "duplicates": split.duplicates, "held_out": len(split.held_out),
            "training": len(split.training), "ks": list(config.shot_ks),
            "repeats": config.repeats, "seed": config.seed, "assertion": config.assertion,
            "temperature": config.temperature, "max_tokens": config.max_tokens,
            "training_steps": config.training.max_steps, "arms": rows,
            "adapters": [r.to_dict() for r in trained], "control": control,
            "comparison": comparison}


def _arm_figures(summary, outputs: list[Output]) -> dict[str, Any]:
    answered = [o for o in outputs if o.answered]
    failed = [o for o in outputs if o.error and not o.cancelled]
    figures: dict[str, Any] = {
        "passed": summary.passed if summary else 0, "total": summary.total if summary else 0,
        "rate": summary.rate if summary else None,
        "low": summary.interval.low if summary else None,
        "high": summary.interval.high if summary else None,
        "prompt_tokens": fmean(o.prompt_tokens for o in answered) if answered else None,
        "latency_s": fmean(o.total_s for o in answered if o.total_s is not None)
        if any(o.total_s is not None for o in answered) else None,
        "outputs": len(outputs), "failed_outputs": len(failed)}
    if outputs and len(failed) == len(outputs):
        figures.update(status="failed", error=failed[0].error or "every answer failed")
    elif outputs and any(o.cancelled for o in outputs):
        figures.update(status="cancelled")
    elif outputs:
        figures.update(status="done" if not failed else "partial",
                       error=failed[0].error if failed else "")
    return figures


def _paired(report, rows: list[dict]) -> dict[str, Any] | None:
    """The best prompt arm against the best adapter arm (by pass rate; ties: the first)."""
    def best(kind: str):
        done = [r for r in rows if r["kind"] == kind and r.get("rate") is not None]
        return max(done, key=lambda r: r["rate"], default=None)

    prompt, adapter = best("prompt"), best("adapter")
    if prompt is None or adapter is None:
        return None
    ids = {prompt["variant_id"], adapter["variant_id"]}
    found = next((c for c in report.comparisons if {c.variant_a, c.variant_b} == ids), None)
    if found is None:
        return None
    return {"best_prompt": prompt["label"], "best_adapter": adapter["label"],
            "sentence": found.sentence, "p_value": found.passes.p_value, "n": found.passes.n}


def _answers(job: JobState, before: int, total: int) -> JobWatcher:
    """An evaluation run's progress in cells as the experiment's: ``before`` answers of
    earlier runs, ``total`` in all, the run's "N failed" kept."""

    def progress(cells) -> None:
        done = before + int(cells.done)
        extra = f", {cells.message}" if cells.message else ""
        job.set_progress(done, total, f"evaluating: {done}/{total} answers{extra}")

    return JobWatcher(on_progress=progress)
