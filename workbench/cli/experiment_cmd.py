"""``workbench experiment few-shot-vs-lora CONFIG.toml``: prompt examples against a LoRA
adapter on the same held-out cases, with a report (HTML or Markdown) and the results as JSON.

Progress goes to stderr; the summary (or ``--json``: the results) to stdout. The experiment's
folder under the app's data folder keeps config, split, results and both reports; with
``--resume [FOLDER]`` an interrupted (or stopped) experiment goes on from its last finished step.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .job_wait import INTERRUPTED, wait_for
from .shipped import shipped_or_path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "experiment", help="run an experiment (few-shot vs fine-tune) and write its report",
        description="Experiments answer one question each with the evaluation lab.")
    kinds = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)
    fewshot = kinds.add_parser(
        "few-shot-vs-lora", help="k-shot prompts against LoRA adapters on held-out cases",
        description="Split an example set (seeded, no leakage), evaluate zero-shot, k-shot "
                    "prompts and LoRA adapters trained on the same examples on the held-out "
                    "cases, and write a report with pass rates, intervals and a paired test.")
    fewshot.add_argument("config", metavar="CONFIG.toml", nargs="?",
                         help="an experiment config, or the shipped example's name "
                              "(few-shot-vs-lora)")
    fewshot.add_argument("--resume", nargs="?", const="", metavar="FOLDER",
                         help="finish an interrupted (or stopped) experiment instead: its "
                              "folder under the data folder's experiments/, by default the "
                              "newest one; the steps it finished are not done again")
    fewshot.add_argument("--out", metavar="FILE",
                         help="also write the report here (.html, or .md with its PNGs beside)")
    fewshot.add_argument("--json", action="store_true", dest="as_json",
                         help="print the results as JSON instead of the summary")
    fewshot.set_defaults(func=cmd_fewshot)


def config_path(text: str) -> Path:
    """A file, else the example shipped with the app (works from an installed wheel)."""
    return shipped_or_path(text, "EXAMPLES", ".toml")


def cmd_fewshot(args: argparse.Namespace) -> int:
    from ..core.errors import WorkbenchError
    from ..core.job_state import JobWatcher
    from ..services.compare import RunService
    from ..services.evaluation.eval_service import EvalService
    from ..services.experiments import experiment_state
    from ..services.experiments.fewshot_config import load_toml
    from ..services.experiments.fewshot_runner import FewShotService
    from ..services.models import ModelService
    from ..services.plugins import start_plugins
    from ..services.sessions import open_store
    from ..services.tuning import TuningService

    if args.config is not None and args.resume == "" and Path(args.config).is_dir():
        args.config, args.resume = None, args.config  # experiment FOLDER --resume
    if (args.config is None) == (args.resume is None):
        raise WorkbenchError("Give an experiment config (CONFIG.toml) or --resume [FOLDER] "
                             "to finish an interrupted experiment: one of the two.")
    config = load_toml(config_path(args.config)) if args.config else None
    store = open_store()
    models = ModelService(store=store)
    plugins = start_plugins(models, safe_mode=args.safe_mode)
    evaluation = EvalService(store, models, RunService(store, models, plugins), plugins)
    tuning = TuningService(store, models, plugins=plugins)
    service = FewShotService(tuning, evaluation)
    watcher = JobWatcher(on_progress=StepLine())
    try:
        if config is None:
            state = experiment_state.to_resume(tuning.paths, "few-shot", args.resume)
            print(f"Resuming {state}.", file=sys.stderr)
            job = service.start_resume(state.folder, watcher)
        else:
            for state in experiment_state.resumable(tuning.paths, "few-shot")[:1]:
                print(f"workbench: note: {state}; `workbench experiment few-shot-vs-lora "
                      f"--resume {state.folder}` finishes it instead.", file=sys.stderr)
            job = service.start(config, watcher)
        # Ctrl-C: the running trainer is killed and generating stops; the folder is kept
        wait_for(job, "experiment: cancelling: the step running stops, the folder is kept")
    finally:
        print(file=sys.stderr, flush=True)
        models.close()
        store.close()
    outcome = job.outcome
    if outcome is None:  # cancelled before its folder was made: nothing to report
        print("workbench: cancelled before the experiment started.", file=sys.stderr)
        return INTERRUPTED
    if args.out:
        outcome.document.write(Path(args.out))
    results = outcome.results
    if args.as_json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    else:
        for arm in results["arms"]:
            rate = "-" if arm.get("rate") is None else f"{arm['rate']:.0%}"
            print(f"{arm['label']:<34} {rate:>5}  {arm['status']}"
                  + (f": {arm['error'][:120]}" if arm.get("error") else ""))
        if results.get("comparison"):
            print(results["comparison"]["sentence"])
        if results.get("control"):
            print(results["control"]["sentence"])
        print(f"report: {outcome.folder / 'report.html'}"
              + (f" and {args.out}" if args.out else ""))
    failed = any(a["status"] in ("failed", "partial") for a in results["arms"])
    if outcome.cancelled:
        print(f"workbench: cancelled; `workbench experiment few-shot-vs-lora --resume "
              f"{outcome.folder}` finishes it.", file=sys.stderr)
        return INTERRUPTED
    return 1 if failed else 0


class StepLine:
    """The current step on stderr: rewritten in place on a terminal, on change otherwise."""

    def __init__(self):
        self.started = time.monotonic()
        self.terminal = sys.stderr.isatty()
        self.last = ""

    def __call__(self, progress) -> None:
        text = progress.message or "working"
        if not self.terminal:  # a log: one line per step and every 10% of answers
            key = text.split(":")[0]
            if progress.total:
                key += f" {int(10 * progress.done / progress.total)}"
            if key == self.last:
                return
            self.last = key
        elapsed = time.monotonic() - self.started
        print(("\r\x1b[K" if self.terminal else "") + f"experiment: {text} · {elapsed:.0f} s",
              end="" if self.terminal else "\n", file=sys.stderr, flush=True)
