"""``workbench quantlab MODEL --quants Q8_0,Q4_K_M,…``: which quantization should this machine
run? Makes the files with llama.cpp's quantizer, measures each (size, memory, speed, KL
divergence from the reference, pass rate with ``--suite``) and writes a report
(docs/quantlab.md). ``--resume [FOLDER]`` finishes an interrupted lab from its last finished
step."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "quantlab", help="quantize a model several ways and compare size, speed and quality",
        description="Make quantized files of MODEL with llama.cpp's quantizer (from its F16 "
                    "form when MODEL is already quantized), measure each: file size, peak "
                    "memory, prompt and decode tokens/s, KL divergence from the reference "
                    "and same-top-token share, and with --suite the pass rate; then a report with "
                    "a recommendation. Results are kept under the app's data folder.")
    parser.add_argument("model", metavar="MODEL", nargs="?",
                        help="a GGUF file or a library name (bundled: smollm2-135m-instruct)")
    parser.add_argument("--resume", nargs="?", const="", metavar="FOLDER",
                        help="finish an interrupted (or stopped) lab with its own settings: "
                             "its folder under the data folder's experiments/, by default the "
                             "newest; files still as recorded and arms already measured are "
                             "kept")
    parser.add_argument("--quants", default="Q8_0,Q4_K_M", metavar="TYPES",
                        help="comma-separated llama.cpp types (default Q8_0,Q4_K_M)")
    parser.add_argument("--existing", action="append", default=[], metavar="FILE",
                        help="an existing quantized file of the same model to measure as it "
                             "is (repeatable)")
    parser.add_argument("--engine", action="append", metavar="FLAGS",
                        help="engine settings as llama.cpp flags, each one more arm per file "
                             "(repeatable), e.g. \"-fa on -ctk q8_0\"")
    parser.add_argument("--suite", metavar="SUITE.yaml",
                        help="texts from the suite's prompts and answers, and pass rates")
    parser.add_argument("--texts", metavar="FILE",
                        help="read the token distributions on this file's texts (separated by "
                             "blank lines) instead of the suite's or the built-in samples")
    parser.add_argument("--repeats", type=int, default=3, metavar="N",
                        help="speed runs per arm (mean ± sd; default 3)")
    parser.add_argument("--pp", type=int, default=512, metavar="N",
                        help="prompt tokens per speed run (default 512)")
    parser.add_argument("--tg", type=int, default=128, metavar="N",
                        help="decoded tokens per speed run (default 128)")
    parser.add_argument("--top-k", type=int, default=32, metavar="K",
                        help="reference tokens kept per position for the KL divergence")
    parser.add_argument("--threads", type=int, default=0, metavar="N",
                        help="CPU threads (default: up to 8)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--out", metavar="FILE", help="also write the report (.html or .md)")
    parser.add_argument("--reopen", action="store_true",
                        help="MODEL is a stored lab (its folder or results.json): write its "
                             "report again without measuring")
    parser.set_defaults(func=cmd_quantlab)


def cmd_quantlab(args: argparse.Namespace) -> int:
    from ..core.errors import WorkbenchError
    from ..services.experiments.quantlab_outcome import load_results

    if args.model and args.resume == "" and Path(args.model).is_dir():
        args.model, args.resume = None, args.model  # quantlab FOLDER --resume
    if args.reopen:
        if not args.model:
            raise WorkbenchError("--reopen needs the stored lab's folder (MODEL).")
        outcome = load_results(Path(args.model))
    elif args.resume is not None:
        if args.model:
            raise WorkbenchError("--resume takes the lab's settings from its folder: give "
                                 "the folder (--resume FOLDER), not MODEL.")
        outcome = _run(args, resume=True)
    elif not args.model:
        raise WorkbenchError("Name the MODEL to quantize, or --resume an interrupted lab.")
    else:
        outcome = _run(args)
    if args.out:
        path = outcome.report().write(Path(args.out))
        print(f"Report written to {path}", file=sys.stderr)
    if args.json:
        print(json.dumps({"folder": str(outcome.folder), **outcome.results}, indent=2))
    else:
        from ..services.experiments.quantlab_report import HEADERS, recommend, table_rows

        rows = table_rows(outcome.results)
        widths = [max(len(str(c)) for c in column) for column in zip(HEADERS, *rows)]
        for row in [HEADERS, *rows]:
            print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
        print()
        print(recommend(outcome.results))
        print(f"Kept in {outcome.folder}")
    if outcome.results.get("status") == "cancelled" and not args.reopen:
        return 130  # stopped by Ctrl-C, as any command Ctrl-C stops (cli/main.py)
    failed = [arm for arm in outcome.arms if arm.get("status") == "failed"]
    return 1 if failed or outcome.results.get("status") != "done" else 0


def _texts(path: str | None) -> list[str]:
    if not path:
        return []
    from ..core.errors import WorkbenchError

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise WorkbenchError(f"Cannot read the texts file {path}: {error}") from None
    return [part.strip() for part in text.split("\n\n") if part.strip()]


def _run(args: argparse.Namespace, resume: bool = False):
    """The lab as a job the service starts, its progress on stderr; Ctrl-C cancels it (the
    running child is killed) and the lab ends cancelled with what it had measured."""
    from ..core.errors import WorkbenchError
    from ..core.job_state import FAILED, JobWatcher
    from ..services.experiments import experiment_state
    from ..services.experiments.quantlab import QuantLabService
    from ..services.experiments.quantlab_config import QuantLabConfig
    from ..services.models import ModelService
    from ..services.plugins import start_plugins
    from ..services.sessions import open_store

    config = None if resume else QuantLabConfig(
        model=args.model, quants=[q.strip() for q in args.quants.split(",") if q.strip()],
        existing=args.existing, engines=args.engine or [""], suite=args.suite,
        texts=_texts(args.texts),
        repeats=args.repeats, pp=args.pp, tg=args.tg, top_k=args.top_k, threads=args.threads)
    interrupted = (experiment_state.to_resume(None, "quantlab", args.resume or None)
                   if resume else None)
    store = open_store()
    models = ModelService(store=store)
    # a resumed lab may have a suite to finish (its settings are in its folder)
    plugins = start_plugins(models, safe_mode=args.safe_mode) if resume or args.suite else None
    service = QuantLabService(models, store, plugins=plugins)
    line = _ProgressLine(sys.stderr.isatty())
    try:
        if interrupted is not None:
            print(f"Resuming {interrupted}.", file=sys.stderr)
            job = service.start_resume(interrupted.folder, JobWatcher(on_progress=line.show))
        else:
            job = service.start(config, JobWatcher(on_progress=line.show))
        try:
            job.wait()
        except KeyboardInterrupt:
            print("\ncancelling: the running step is stopped, what was measured is kept",
                  file=sys.stderr, flush=True)
            job.cancel()
            job.wait()
    finally:
        line.end()
        models.close()
        store.close()
    if job.status == FAILED:
        raise WorkbenchError(job.error or "The quantization lab failed.")
    return job.outcome


class _ProgressLine:
    """The lab's progress on stderr: a terminal's line rewritten with every message, a log
    one line per step."""

    def __init__(self, terminal: bool):
        self.terminal = terminal
        self.started = time.monotonic()
        self.step: str | None = None

    def show(self, progress) -> None:
        step = progress.message.split(": ", 1)[0]  # "Q8_0: speed, repeat 1/3" is step Q8_0's
        if not self.terminal and step == self.step:
            return
        self.step = step
        # the fraction of the work done, each step weighted by its cost (quantlab_plan)
        text = (f"quantlab: {100 * (progress.fraction or 0):.0f}% · {progress.message} · "
                f"{time.monotonic() - self.started:.0f} s")
        print(("\r\x1b[K" if self.terminal else "") + text, end="" if self.terminal else "\n",
              file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.terminal:
            print(file=sys.stderr)
