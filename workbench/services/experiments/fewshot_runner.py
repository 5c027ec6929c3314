"""Few-shot vs fine-tune, end to end: split → adapters → one evaluation run of every arm on the
same held-out cases → results and a report, kept in the app's data folder
(``experiments/<UTC timestamp>-few-shot/``) and, as an evaluation run, in the session database.

The GUI and ``workbench experiment few-shot-vs-lora`` call only ``FewShotService``; the work is
one JobState (progress with the current step as its message, cancel, the outcome).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from statistics import fmean
from typing import Any

from ...core.experiment_split import Split, split_examples
from ...core.job_state import JobState, JobWatcher
from ...core.runs import Output
from ..evaluation.report import build_report
from ..evaluation.runner import EvalService
from ..evaluation.suite_session import store_suite
from ..tuning import TuningService
from .fewshot_arms import Arm, load_examples, plan_adapters, plan_arms, suite_for, variant_specs
from .fewshot_config import FewShotConfig
from .fewshot_control import control_result
from .fewshot_report import build_document
from .fewshot_training import AdapterResult, train_adapter
from .folders import STAMP, new_experiment_folder
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
        job = JobState(f"experiment: {config.name}")
        if watcher is not None:
            job.watch(watcher)

        def work() -> None:
            try:
                self.run(config, job)
            except BaseException:  # noqa: BLE001 - already told through the job
                pass

        threading.Thread(target=work, daemon=True, name="fewshot-experiment").start()
        return job

    def run(self, config: FewShotConfig, job: JobState | None = None) -> FewShotOutcome:
        """Blocking. Bad input (too few examples, a bad config) raises before anything runs."""
        job = job or JobState(f"experiment: {config.name}")
        try:
            outcome = self._run(config.validate(), job)
        except BaseException as error:
            job.fail(str(error))
            raise
        job.finish(outcome)
        return outcome

    # -- the steps ------------------------------------------------------------------------

    def _run(self, config: FewShotConfig, job: JobState) -> FewShotOutcome:
        started = time.monotonic()
        now = datetime.now(UTC)
        stamp = now.strftime(STAMP)
        job.set_progress(0, 0, "reading the examples")
        examples = load_examples(self.tuning, config)
        split = split_examples(examples.pairs, held_out=config.held_out, ks=config.shot_ks,
                               seed=config.seed)
        model = str(self.models.resolve(config.model))
        folder = new_experiment_folder(self.tuning.paths, "few-shot", now)
        _write(folder / "config.json", {**config.to_dict(), "model_path": model,
                                        "system_used": examples.system})
        _write(folder / "split.json", {**split.to_dict(), "problems": [
            str(p) for p in examples.problems]})
        adapters = plan_adapters(config, split)
        arms = plan_arms(config, split, adapters)
        held = store_suite(self.store, suite_for(config, split, examples.system, model),
                           name=f"{config.name} {stamp}")
        versions = dict(zip(config.shot_ks, held.versions))

        trained: list[AdapterResult] = []
        for plan in adapters:
            result = train_adapter(self.tuning, config, plan, base=model,
                                   system=examples.system, session_id=held.session.id, job=job,
                                   tag=stamp)
            trained.append(result)
            job.add_partial(("adapter", result))
        paths = {r.key: r.adapter_path for r in trained if r.adapter_path}
        specs = variant_specs(config, arms, versions, model, paths)
        ran = [arm for arm in arms if not arm.adapter or arm.adapter in paths]
        evaluation = self._evaluate(held, specs, ran, config.repeats, job) if specs and \
            not job.cancelled else None
        results = self._results(config, split, examples.system, model, folder, held, arms,
                                ran, trained, evaluation, job.cancelled,
                                now, time.monotonic() - started)
        _write(folder / "results.json", results)
        document = build_document(results)
        document.write(folder / "report.html")
        document.write(folder / "report.md")
        return FewShotOutcome(folder, results, document, split)

    def _evaluate(self, held, specs, arms: list[Arm], repeats: int, job: JobState):
        """Every arm on the same cases and seeds, one evaluation run per adapter state.

        The engine never mixes adapter states in one batch or cache: arms interleaved in one run
        would empty the prompt cache at every switch (the nested k-shot prompts share their
        prefixes only while no adapter comes between them). The runs share the case set, so
        the units (case, repeat) pair across runs and one report compares every arm.

        The control's base runs first, before any adapter was ever applied, and the adapter at
        scale 0 runs last, after every adapter run: an engine that left an adapter attached
        would fail it. Both are greedy, so they run once (repeats would repeat the tokens)."""
        service = self.evaluation
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
        outputs: dict[str, Output] = {}
        results: list = []
        run_ids: list[str] = []
        before = 0
        for key in keys:
            indices = groups[key]
            if job.cancelled:
                break
            chosen = [specs[i] for i in indices]

            def progress(done: int, _cells: int, failed: int, before=before) -> None:
                extra = f", {failed} failed" if failed else ""
                job.set_progress(before + done, total,
                                 f"evaluating: {before + done}/{total} answers{extra}")

            progress(0, total, 0)
            handle, listener, _ = service.run_held(held, chosen, repeats=times[key],
                                                   progress=progress, total=total, job=job)
            for index, variant in zip(indices, handle.run.variants):
                variants[index] = variant
            outputs.update(listener.outputs)
            results += list(listener.results.values())
            run_ids.append(handle.run.id)
            before += len(cases) * len(chosen) * times[key]
        report = build_report([(v.id, v.label) for v in variants if v is not None], results,
                              seed=0)
        return run_ids, variants, report, outputs

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


def _write(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
