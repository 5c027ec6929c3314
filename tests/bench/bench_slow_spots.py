"""The slow spots a user timed (issue 28, item 16), each measured in fresh processes, repeated,
as medians, so that a run on a quiet machine can quote them beside the busy one's:

* the window's imports (``import workbench.ui.app``: what runs before the window can show);
* the first token of the first generation, split into its parts: the model host started and
  loaded, the chat template rendered the first time, the first generation's first token, and
  a second generation's first token (what is left is warm-up);
* the System report's checks (``run_checks``, what Help ▸ System report runs in the
  background) and ``workbench doctor`` from the shell;
* the quantization lab's progress: each step's share of the bar against its share of the
  measured time, for a tiny lab (``--lab``; about a minute on a quiet machine).

The load average is printed with the figures: on a busy machine wall time is mostly waiting.
tests/bench/bench_startup.py measures the window shown and the model ready end to end.

    .venv/bin/python tests/bench/bench_slow_spots.py [--rounds 3] [--lab]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

IMPORT_WINDOW = ("import time; t = time.perf_counter(); import workbench.ui.app; "
                 "print(time.perf_counter() - t)")

FIRST_TOKEN = """
import json, time
t0 = time.perf_counter()
from workbench.core.generation import GenerationRequest, TokenEvent
from workbench.core.messages import ChatMessage
from workbench.core.sampling import GREEDY
from workbench.services.models import DEFAULT_N_CTX, ModelService
models = ModelService()
settings = models.settings_for(str(models.default_path()), n_ctx=DEFAULT_N_CTX)
t1 = time.perf_counter()
host = models.load(settings)
t2 = time.perf_counter()
prompt = host.render([ChatMessage("user", "Name three colours.")])
t3 = time.perf_counter()

def first_token():
    start = time.perf_counter()
    stream = host.generate(GenerationRequest(prompt=prompt,
                                             sampling=GREEDY.with_(max_tokens=8)))
    first = None
    for event in stream:
        if first is None and isinstance(event, TokenEvent):
            first = time.perf_counter() - start
    return first

first, second = first_token(), first_token()
models.close()
print(json.dumps({"imports": t1 - t0, "host started and loaded": t2 - t1,
                  "first render": t3 - t2, "first generation's first token": first,
                  "second generation's first token": second}))
"""

SYSTEM_REPORT = ("import time; from workbench.services.doctor import run_checks; "
                 "t = time.perf_counter(); run_checks(); print(time.perf_counter() - t)")


def python(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def timed_command(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    return time.perf_counter() - start


def line(name: str, values: list[float]) -> str:
    return (f"{name:>34}: median {statistics.median(values):6.2f} s   "
            f"min {min(values):6.2f}   max {max(values):6.2f}   (n={len(values)})")


def lab_shares(home: str) -> None:
    """A tiny lab: each step's share of the bar beside its share of the time it took."""
    os.environ["WORKBENCH_HOME"] = home
    from workbench.core.job_state import JobState, JobWatcher
    from workbench.services.experiments.quantlab import QuantLabService
    from workbench.services.experiments.quantlab_config import QuantLabConfig
    from workbench.services.models import ModelService
    from workbench.services.sessions import open_store

    store = open_store()
    models = ModelService(store=store)
    job, seen = JobState(), []
    job.watch(JobWatcher(on_progress=lambda p: seen.append(
        (time.perf_counter(), p.fraction or 0.0, p.message))))
    QuantLabService(models, store).run(QuantLabConfig(
        "smollm2-135m-instruct", quants=["Q8_0", "Q4_K_M"], repeats=2, pp=64, tg=16,
        threads=1), job)
    models.close()
    store.close()
    # a step begins with a message of its own ("measuring Q8_0"); "label: …" is within one
    starts = [(t, f, m) for t, f, m in seen if ": " not in m]
    starts = [row for number, row in enumerate(starts)
              if number == 0 or row[2] != starts[number - 1][2]]
    spent = starts[-1][0] - starts[0][0]
    print(f"\nquantization lab (tiny), {spent:.1f} s; each step's share of the bar / time:")
    for (t, f, m), (t_next, f_next, _m) in zip(starts, starts[1:]):
        print(f"  {m:<34} bar {100 * (f_next - f):5.1f}%   time {100 * (t_next - t) / spent:5.1f}%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lab", action="store_true", help="also run a tiny quantization lab")
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="wb-slow-spots-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_HOME=home)
    print(f"{args.rounds} rounds, {os.cpu_count()} CPUs, load average at start "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    timed_command([sys.executable, "-m", "workbench", "sessions"], env)  # makes the database

    figures: dict[str, list[float]] = {}
    for _round in range(args.rounds):
        figures.setdefault("import workbench.ui.app", []).append(
            float(python(IMPORT_WINDOW, env)))
        for name, value in json.loads(python(FIRST_TOKEN, env)).items():
            figures.setdefault(name, []).append(value)
        figures.setdefault("System report (run_checks)", []).append(
            float(python(SYSTEM_REPORT, env)))
        figures.setdefault("workbench doctor", []).append(
            timed_command([sys.executable, "-m", "workbench", "doctor"], env))
    for name, values in figures.items():
        print(line(name, values))
    print(f"load average at the end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.lab:
        lab_shares(home)


if __name__ == "__main__":
    main()
