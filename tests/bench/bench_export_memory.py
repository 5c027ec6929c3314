"""The end of a run in bounded memory: the report and each export of a stored run of 2,000 and
of 20,000 cells should peak at about the same memory (issue 23, section 5).

    .venv/bin/python tests/bench/bench_export_memory.py [--cells 2000 20000] [--repeat 1]

For each size a real SQLite file is filled through the store as a run leaves it (no model:
cases with three checks each, two variants, an output and a verdict per cell, a rating on a
few), then each part runs in a fresh child process that samples its own resident memory every
5 ms: the report (``run_summary``: the report at a run's end), the JSON report, JSON lines,
CSV and JUnit exports (``export_results``) and promptfoo's results file (``eval --output``).
Printed: each part's peak growth over the child's memory before it started, in MB, and its
seconds. The libraries the report's statistics import on first use are imported before the
measurement (a one-time cost). Nothing is asserted: the figures are for the notes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

PARTS = ("report", ".json", ".jsonl", ".csv", ".xml", "promptfoo")
WORDS = ["rain", "bread", "ships", "maps", "owls", "salt", "glass", "wool", "tea", "clocks"]


def build(path: Path, cells: int) -> str:
    """A run of ``cells`` cells (two variants), stored and checked; returns its id."""
    from workbench.core.cases import CaseSet, TestCase
    from workbench.core.evaluation import Assertion, AssertionResult, EvalResult, EvalRun, combine
    from workbench.core.prompts import Prompt, PromptVersion
    from workbench.core.ratings import Rating
    from workbench.core.runs import Output, Run, RunStatus, Variant
    from workbench.core.sampling import SamplingSettings
    from workbench.core.sessions import Session
    from workbench.store import Store

    store = Store.open(path)
    session = store.sessions.add(Session("bench export"))
    prompt = store.prompts.add_prompt(Prompt(session.id, "p"))
    version = store.prompts.save_version(PromptVersion(
        prompt.id, "You answer in one word.", user_template="One word about {{topic}} {{n}}."))
    checks = (Assertion("max-length", 2000), Assertion("not-icontains", "as an ai"),
              Assertion("regex", "\\w*"))
    cases = tuple(TestCase("", {"topic": WORDS[n % len(WORDS)], "n": str(n)}, assertions=checks)
                  for n in range(cells // 2))
    case_set = store.case_sets.save(CaseSet(session.id, "cases", cases=cases))
    sampling = SamplingSettings(temperature=0.8, seed=5, max_tokens=4)
    run_id = "bench-export-run"
    variants = tuple(Variant(run_id, version.id, f"/models/m{n}.gguf", sampling, label=f"v{n}",
                             position=n) for n in range(2))
    store.runs.add(Run(session.id, "bench export", case_set.id, RunStatus.DONE, variants,
                       id=run_id))
    store.evaluations.add_eval_run(EvalRun(run_id, repeats=1))
    for start in range(0, len(case_set.cases), 1000):
        outputs, results = [], []
        for n, case in enumerate(case_set.cases[start:start + 1000], start):
            for variant in variants:
                text = f"{WORDS[(n + variant.position) % len(WORDS)]} {n}"
                output = Output(run_id, variant.id, case.id, text, token_count=4,
                                prompt_tokens=30, time_to_first_token_s=0.02,
                                tokens_per_second=90.0, total_s=0.07, finish_reason="length",
                                sampling=sampling, seed=5 + n, model_path=variant.model_path,
                                chat_template="{% for m in messages %}{{ m.content }}"
                                              "{% endfor %}" * 8,
                                engine_settings={"n_ctx": 2048, "n_batch": 512})
                outputs.append(output)
                passed = (n + variant.position) % 4 != 0
                results.append(EvalResult(run_id, output.id, variant.id, case.id, 0, combine(
                    [AssertionResult(check, passed or check.type != "regex", 1.0 if passed
                                     else 0.0, "" if passed else "no word")
                     for check in checks])))
        with store.transaction():
            for output in outputs:
                store.runs.add_output(output)
        store.evaluations.add_results(results)
        for output in outputs[::97]:
            store.ratings.rate(Rating(output.id, 4, rater="bench"))
    store.close()
    return run_id


def measure(path: Path, run_id: str, part: str) -> dict:
    """In this (fresh) process: the part's peak resident memory over where it started."""
    import psutil

    from workbench.services.evaluation.promptfoo_results import write_promptfoo_results
    from workbench.services.plugins import start_plugins
    from workbench.services.results_export import export_results, run_summary
    from workbench.store import Store

    # what the report's statistics import on first use (scipy, statsmodels, lazily loaded
    # parts of them: ~150 MB once, whatever the run's size) is loaded before, by a report
    # of a few made-up verdicts, so the figure is the run's own cost
    warm_up_statistics()

    store = Store.open(path)
    run = store.runs.get(run_id)
    plugins = start_plugins(None)
    target = Path(tempfile.mkdtemp(prefix="bench-export-")) / f"out{part}"
    process = psutil.Process()
    peak, done = [process.memory_info().rss], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.005)

    before = process.memory_info().rss
    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    if part == "report":
        run_summary(store, run)
    elif part == "promptfoo":
        write_promptfoo_results(store, run, target.with_suffix(".json"), 0)
    else:
        export_results(store, plugins, run, target, summary={"exit_code": 0})
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"part": part, "growth_mb": (peak[0] - before) / 2**20, "seconds": seconds}


def warm_up_statistics() -> None:
    from workbench.core.evaluation import CaseVerdict, EvalResult
    from workbench.services.evaluation.report import build_report

    made_up = [EvalResult("r", f"o{v}{n}", f"v{v}", f"c{n}", 0,
                          CaseVerdict(n % 3 != v, float(n % 3 != v)))
               for v in range(2) for n in range(12)]
    build_report([("v0", "a"), ("v1", "b")], made_up)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each part (median)")
    parser.add_argument("--measure", nargs=3, metavar=("DB", "RUN", "PART"),
                        help=argparse.SUPPRESS)  # the child's side
    args = parser.parse_args()
    if args.measure:
        db, run_id, part = args.measure
        print(json.dumps(measure(Path(db), run_id, part)))
        return
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'cells':>6}  " + "  ".join(f"{part:>14}" for part in PARTS))
    for cells in args.cells:
        folder = Path(tempfile.mkdtemp(prefix="bench-export-db-"))
        started = time.perf_counter()
        run_id = build(folder / "workbench.sqlite3", cells)
        print(f"(built {cells} cells in {time.perf_counter() - started:.0f} s)", file=sys.stderr)
        figures = []
        for part in PARTS:
            runs = []
            for _ in range(args.repeat):
                child = subprocess.run(
                    [sys.executable, __file__, "--measure", str(folder / "workbench.sqlite3"),
                     run_id, part], capture_output=True, text=True, check=True)
                runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
            runs.sort(key=lambda figure: figure["growth_mb"])
            middle = runs[len(runs) // 2]
            figures.append(f"+{middle['growth_mb']:5.1f} MB {middle['seconds']:4.1f}s")
        print(f"{cells:>6}  " + "  ".join(f"{figure:>14}" for figure in figures), flush=True)


if __name__ == "__main__":
    main()
