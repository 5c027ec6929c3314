"""``workbench eval SUITE.yaml``: a suite run headless, for CI.

Exit codes follow promptfoo: 0 passed (or every variant reached ``--threshold``), 100 below it,
1 for a bad suite, a missing model, or cells that failed to generate. The run is stored like
any comparison, so it opens in the app afterwards (its session is named ``eval: …``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..core.wording import counted
from .job_wait import INTERRUPTED, wait_for
from .shipped import shipped_or_path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval", help="run an evaluation suite (promptfoo's YAML layout) and report pass rates",
        description="Run a suite: every prompt × model over every test, check the assertions, "
                    "print pass rates with 95% intervals and paired comparisons. Exit 0 when "
                    "it passes, 100 when below the threshold, 1 on errors.")
    parser.add_argument("suite", metavar="SUITE.yaml", nargs="?",
                        help="a suite file, or the name of a shipped one: redteam, example-suite")
    parser.add_argument("--resume", nargs="?", const="", metavar="RUN",
                        help="finish an interrupted (or stopped) run: only its missing cells, "
                             "same run, same settings and seeds. RUN: its id or the first "
                             "characters of it; without RUN, the latest such run of SUITE.yaml "
                             "(or of any suite)")
    parser.add_argument("-m", "--model", action="append", dest="models", metavar="MODEL",
                        help="a variant's model (repeatable): used when the suite names no "
                             "providers, or instead of them")
    parser.add_argument("--max-tokens", type=int, metavar="N",
                        help="most tokens per answer for the -m models (default 256)")
    parser.add_argument("--temperature", type=float, metavar="T",
                        help="temperature for the -m models (default llama.cpp's 0.8)")
    parser.add_argument("--repeat", type=int, default=1, metavar="N",
                        help="generate every cell N times, each with its own recorded seed")
    parser.add_argument("--threshold", type=_fraction, metavar="P",
                        help="pass when every variant's pass rate is at least P (0..1; "
                             "default: every case must pass)")
    parser.add_argument("--concurrency", type=int, metavar="N",
                        help="requests in flight at once to a remote (OpenAI-compatible) model")
    parser.add_argument("--json", dest="json_file", metavar="FILE",
                        help="write the full results as JSON")
    parser.add_argument("--junit", dest="junit_file", metavar="FILE",
                        help="write JUnit XML (one test case per case × repeat × variant)")
    parser.add_argument("--export", dest="export_files", action="append", default=[],
                        metavar="FILE", help="write the results in the format of FILE's suffix "
                        "(repeatable): any exporter plugin's (`workbench plugins` lists "
                        "them); .json, .xml, .jsonl and .csv are built in")
    parser.add_argument("--output", dest="output_file", metavar="FILE",
                        help="write the results in promptfoo's layout (promptfoo eval -o "
                             "FILE.json), which promptfoo import/view/share open")
    parser.set_defaults(func=cmd_eval)


def _fraction(text: str) -> float:
    value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a pass rate between 0 and 1")
    return value


def cmd_eval(args: argparse.Namespace) -> int:
    from ..core.errors import WorkbenchError
    from ..core.job_state import JobWatcher
    from ..services.compare import RunService
    from ..services.evaluation.differences import promptfoo_notes
    from ..services.evaluation.eval_service import EvalService
    from ..services.evaluation.preflight import check_file, preflight_for
    from ..services.evaluation.suite_providers import provider_notes
    from ..services.evaluation.suite_session import providers_for
    from ..services.models import ModelService
    from ..services.plugins import start_plugins
    from ..services.sessions import open_store

    if args.repeat < 1:
        raise WorkbenchError(f"--repeat must be 1 or more, not {args.repeat}.")
    _resume_suite_argument(args)
    if args.suite is None and args.resume is None:
        raise WorkbenchError("Name a suite file (workbench eval SUITE.yaml), or --resume a run.")
    path = suite_path(args.suite) if args.suite else None
    # A results file from an earlier run must not be left looking like this run's.
    for stale in (args.json_file, args.junit_file, args.output_file, *args.export_files):
        if stale:
            Path(stale).unlink(missing_ok=True)
    store = open_store()
    models = ModelService(store=store)
    plugins = start_plugins(models, safe_mode=args.safe_mode)
    service = EvalService(store, models, RunService(store, models, plugins), plugins)
    progress = ProgressLine()
    watcher = JobWatcher(on_progress=progress)
    try:
        if args.resume is not None:
            run = _run_to_resume(store, args.resume, path)
            print(f"Resuming run {run.id[:8]} ({_progress_text(store, run)} done).",
                  file=sys.stderr)
            job = service.start_resume(run.id, concurrency=args.concurrency, watcher=watcher)
            name = _suite_name(store, run) or (path.stem if path else "suite")
            threshold = _threshold(store, run, args.threshold)
        else:
            # every problem of the suite at once, file:line each, before anything is stored
            suite = check_file(path, preflight_for(service), models=args.models,
                               model_config=_config(args))
            _note_interrupted(store, path)
            for note in provider_notes(suite, providers_for(suite, args.models, _config(args))):
                print(f"workbench: note: {note}", file=sys.stderr)  # promptfoo ids: once
            for note in promptfoo_notes(suite):  # deliberate differences, said once
                print(f"workbench: note: {note}", file=sys.stderr)
            job = service.start_suite(suite, models=args.models, model_config=_config(args),
                                      repeats=args.repeat, concurrency=args.concurrency,
                                      threshold=args.threshold, yaml_text=_text(path),
                                      watcher=watcher)
            name, threshold = path.stem, args.threshold
        outcome = _ended(job, progress)
        if outcome is None:  # cancelled (Ctrl-C): the run is kept, to be resumed
            return INTERRUPTED
        code = outcome.exit_code(threshold)
        for line in outcome.report.lines():
            print(line)
        print(f"Stored as session '{store.sessions.get(outcome.session_id).name}' "
              f"(run {outcome.run.id[:8]}).")
        write_results(args, plugins, store, outcome, {
            "suite": str(path) if path else name, "suite_name": name, "exit_code": code,
            "threshold": threshold,
            "errors": outcome.errors, "report": outcome.report.to_dict()})
        # every non-zero exit says why: each variant below the threshold, or what failed
        kind = "fail" if code == 100 else "error"
        for reason in outcome.exit_reasons(threshold) if code else ():
            print(f"workbench: {kind}: {reason}", file=sys.stderr)
        return code
    except WorkbenchError:
        progress.finish()
        raise
    finally:
        models.close()
        store.close()


def _ended(job, progress: ProgressLine):
    """The job's EvalOutcome once it ends; None when Ctrl-C cancelled it (said on stderr)."""
    from ..core.job_state import CANCELLED

    wait_for(job, "eval: cancelling: the cells running stop, the run is kept")
    progress.finish()
    if job.status != CANCELLED:
        return job.outcome
    run = job.outcome.run if job.outcome is not None else None
    resume = f"`workbench eval --resume {run.id[:8]}` finishes it" if run else "nothing was run"
    print(f"workbench: cancelled; {resume}.", file=sys.stderr)
    return None


def _resume_suite_argument(args: argparse.Namespace) -> None:
    """``--resume suite.yaml`` means the latest interrupted run of that suite."""
    value = args.resume
    if value and args.suite is None and (value.endswith((".yaml", ".yml"))
                                         or Path(value).is_file()):
        args.suite, args.resume = value, ""


def _run_to_resume(store, prefix: str, path: Path | None):
    from ..core.errors import WorkbenchError
    from ..services import run_state

    if prefix:
        return run_state.find_run(store, prefix)
    runs = run_state.resumable_runs(store, str(path) if path else None)
    if not runs:
        where = f" of {path}" if path else ""
        raise WorkbenchError(f"No interrupted or stopped run{where} to resume.")
    return runs[0]


def _note_interrupted(store, path: Path) -> None:
    """Say when this suite has a run that could be finished instead of started again."""
    from ..services import run_state

    for run in run_state.resumable_runs(store, str(path))[:1]:
        print(f"workbench: note: run {run.id[:8]} of this suite was {run.status.value} at "
              f"{_progress_text(store, run)}; `workbench eval --resume {run.id[:8]}` finishes "
              "it instead of starting over.", file=sys.stderr)


def _progress_text(store, run) -> str:
    from ..services import run_state

    return str(run_state.progress(store, run))


def _suite_name(store, run) -> str | None:
    eval_run = store.evaluations.eval_run(run.id)
    if eval_run is None or eval_run.suite_id is None:
        return None
    stored = store.evaluations.suite(eval_run.suite_id)
    return Path(stored.source_path).stem if stored.source_path else stored.name


def _threshold(store, run, given: float | None) -> float | None:
    """--threshold if given, else the one the run was started with."""
    if given is not None:
        return given
    eval_run = store.evaluations.eval_run(run.id)
    return eval_run.threshold if eval_run is not None else None


def suite_path(text: str) -> Path:
    """A file, else a suite shipped with the app (``redteam``)."""
    return shipped_or_path(text, "SUITES", ".yaml")


def _config(args: argparse.Namespace) -> dict:
    config = {}
    if args.max_tokens is not None:
        config["max_tokens"] = args.max_tokens
    if args.temperature is not None:
        config["temperature"] = args.temperature
    return config


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


class ProgressLine:
    """One line on stderr, rewritten in place on a terminal, every 10% otherwise (CI logs)."""

    def __init__(self):
        self.started = time.monotonic()
        self.terminal = sys.stderr.isatty()
        self.shown = -1

    def __call__(self, progress) -> None:  # a JobProgress: cells done, in all, "N failed"
        done, total = int(progress.done), int(progress.total)
        percent = int(100 * done / total) if total else 100
        if not self.terminal and percent // 10 == self.shown // 10 and done != total:
            return
        self.shown = percent
        elapsed = time.monotonic() - self.started
        text = (f"eval: {done}/{counted(total, 'cell')} ({percent}%)"
                + (f" · {progress.message}" if progress.message else "") + f" · {elapsed:.0f} s")
        print(("\r" if self.terminal else "") + text, end="" if self.terminal else "\n",
              file=sys.stderr, flush=True)

    def finish(self) -> None:
        if self.terminal and self.shown >= 0:
            print(file=sys.stderr)


def write_results(args: argparse.Namespace, plugins, store, outcome, summary: dict) -> None:
    """--json, --junit, --export and --output: every file through the exporter plugins (the
    format by the option, or by the file's suffix), promptfoo's layout by its own writer."""
    from ..services.results_export import export_results

    wanted = [(args.json_file, ".json"), (args.junit_file, ".xml")]
    for file, suffix in wanted + [(file, None) for file in args.export_files]:
        if file:
            export_results(store, plugins, outcome.run, file, suffix=suffix, summary=summary)
    if args.output_file:
        from ..services.evaluation.promptfoo_results import write_promptfoo_results
        write_promptfoo_results(store, outcome.run, args.output_file, summary["exit_code"])
