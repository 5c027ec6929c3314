"""The lab's measuring steps, each one child process: the reference pass, one arm, one file's
pass rate on a suite. Results are plain dicts (what results.json keeps)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from ...core.chat_template import render_chat, resolve_template
from ...core.errors import WorkbenchError
from ...core.job_state import JobProgress, JobState, JobWatcher
from ...core.wording import counted
from ...engine.quantlab.child import ChildCancelled, ChildFailed, LabChild
from ...library.gguf_header import read_header
from .quantlab_config import QuantLabConfig, engine_settings


def _spec(config: QuantLabConfig, model: Path, engine: dict, **extra) -> dict:
    return {"model": str(model), "engine": engine, "n_ctx": config.n_ctx, "pp": config.pp,
            "tg": config.tg, "repeats": config.repeats, "top_k": config.top_k,
            "threads": config.threads, "seed": 0, **extra}


def write_spec(folder: Path, name: str, spec: dict) -> Path:
    path = folder / "specs" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=2), encoding="utf-8")
    return path


def reference_spec(config: QuantLabConfig, model: Path, texts: list[str],
                   npz: Path) -> dict:
    """The reference pass, which is also the reference's arm with default engine settings:
    it writes the top-K, reads the texts again to compare (0 when all is deterministic), and
    measures its speed; one child and one load fewer than a pass and an arm apart."""
    return {**_spec(config, model, {}), "texts": texts, "write_reference": str(npz),
            "compare_self": True}


def arm_spec(config: QuantLabConfig, model: Path, flags: str, npz: Path | None) -> dict:
    return _spec(config, model, engine_settings(flags),
                 reference=str(npz) if npz is not None else None)


def arm_label(kind: str, flags: str, reference: bool = False) -> str:
    label = kind + (" (reference)" if reference else "")
    return f"{label} {flags}".strip() if flags else label


def run_measure(spec_path: Path, log: Path, job: JobState,
                on_progress: Callable[[JobProgress], None]) -> dict:
    """One measuring child to its end (ChildFailed / ChildCancelled otherwise; the lab's
    ``job`` cancels it); ``on_progress`` gets the child's progress (its message, and done of
    total of its texts or speed repeats)."""
    started = time.perf_counter()
    result = LabChild("measure", [str(spec_path)], log, job).run(on_progress)
    result["seconds"] = time.perf_counter() - started
    return result


def pass_rate(evaluation, suite, yaml_text: str, model: Path, repeats: int, job: JobState,
              on_message: Callable[[str, float], None], engine: dict | None = None,
              run_id: str | None = None, listener=None) -> dict:
    """The evaluation lab's pass rate of one file on the suite (read once by the lab, with its
    YAML text), with its Wilson interval (the suite's own sampling settings, with the file as
    the model, loaded with ``engine``'s settings: flash_attn, cache_type_k/v). ``run_id``: the
    run an interrupted lab started for it, finished in place instead of a new one;
    ``listener``: told of each output (eval_step.MarkRunStarted). ``on_message`` gets what is
    done and the fraction of the cells done."""
    from ..evaluation.eval_service import report_for_run
    from ..evaluation.statistics import wilson
    from .eval_step import finish_run, run_status, step_job

    config = dict(suite.providers[0].config) if suite.providers else {}

    def cells(progress: JobProgress) -> None:
        on_message(f"suite: {int(progress.done)}/{counted(int(progress.total), 'cell')}",
                   progress.fraction or 0.0)

    if run_id and run_status(evaluation.store, run_id) is not None:
        finish_run(evaluation, run_id, job, JobWatcher(on_progress=cells))
        report = report_for_run(evaluation.store, run_id)
    else:
        outcome = evaluation.run_suite(suite, models=[str(model)], model_config=config,
                                       repeats=repeats, yaml_text=yaml_text,
                                       job=step_job(job, f"suite on {model.name}",
                                                    JobWatcher(on_progress=cells)),
                                       engine=engine, listener=listener)
        report, run_id = outcome.report, outcome.run.id
    if job.cancelled:
        raise ChildCancelled("cancelled")
    # Every prompt of the suite is a variant of its own; the file's pass rate counts them all.
    passed = sum(v.passed for v in report.variants)
    total = sum(v.total for v in report.variants)
    if total == 0:
        raise WorkbenchError("the suite gave no verdicts")
    interval = wilson(passed, total)
    return {"passed": passed, "total": total, "pass_rate": passed / total,
            "pass_low": interval.low, "pass_high": interval.high,
            "eval_run": run_id}


__all__ = ["ChildCancelled", "ChildFailed", "arm_label", "arm_spec", "pass_rate",
           "reference_spec", "run_measure", "write_spec"]


def chat_renderer(models, reference: str | Path, source: str | Path | None = None):
    """``(messages -> text, where the template came from)``: the reference file's chat
    template (or the one the user chose for ``source``, the model the lab was started on), with
    the generation prompt, so suite texts are read as the model receives them. Special tokens
    stay text here; the measuring child parses them as the model's control tokens. The BOS is
    left to the tokenizer (it adds one), so a template's ``bos_token`` renders empty."""
    header = read_header(reference)
    choice = None
    try:
        choice = models.template_choice(str(source or reference))
    except WorkbenchError:
        pass  # no settings for it: the file's own template
    template, where = resolve_template(header.get("tokenizer.chat_template"),
                                      str(header.get("general.architecture") or "unknown"),
                                      choice)
    return (lambda messages: render_chat(template, messages)), where
