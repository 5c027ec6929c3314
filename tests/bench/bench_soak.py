"""A long evaluation, killed at a random moment and resumed: memory stays flat, speed stays
flat, and the resumed run ends with every cell exactly once.

    .venv/bin/python tests/bench/bench_soak.py [--cells 10000] [--tokens 4] [--seed 7]

One suite of CELLS cases × 1 variant on the bundled model (answers of at most TOKENS tokens,
sampled with a seed, three cheap checks each). Measured in the same run:
- baseline: 500 of the same generations straight on a ModelHost, one after another (the model
  loaded once beforehand), as seconds per 500 cells;
- soak: `workbench eval` in a child process, sampled every second: cells stored (read from the
  session database), the resident memory of the CLI and of its model host(s); killed with
  SIGKILL once a randomly chosen number of cells is stored (seeded), then `--resume`d to the
  end and sampled the same way.
Prints seconds per 500 cells through the run (first, median, last chunk; ratio to the
baseline), memory growth of the CLI and the host from the first 500 cells to the end, and the
check that the run holds exactly CELLS outputs and verdicts, none twice. Nothing is asserted
on time: the figures are for the notes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="bench-soak-"))

import psutil  # noqa: E402

from tests.cli.test_eval_resume import outputs_stored  # noqa: E402
from workbench.core.composition import build_messages  # noqa: E402
from workbench.core.generation import GenerationRequest  # noqa: E402
from workbench.core.prompts import PromptVersion  # noqa: E402
from workbench.core.runs import RunStatus  # noqa: E402
from workbench.library.bundled import BUNDLED_NAME  # noqa: E402
from workbench.services.evaluation.suite_file import load_suite  # noqa: E402
from workbench.services.evaluation.suite_session import sampling_of  # noqa: E402
from workbench.services.models import ModelService  # noqa: E402
from workbench.services.sessions import open_store  # noqa: E402

WORDS = ["rain", "bread", "ships", "maps", "owls", "salt", "glass", "wool", "tea", "clocks",
         "bees", "iron", "snow", "ink", "rope", "moss", "silk", "coal", "figs", "kites"]


def write_suite(folder: Path, cells: int, tokens: int) -> Path:
    lines = ["description: soak",
             "prompts: ['Say one word about {{topic}} number {{n}}.']",
             "providers:",
             f"  - {{id: {BUNDLED_NAME}, label: soak, config: {{temperature: 0.8, seed: 5, "
             f"max_tokens: {tokens}}}}}",
             "defaultTest:",
             "  assert:",
             "    - {type: max-length, value: 2000}",
             "    - {type: not-icontains, value: 'as an ai'}",
             "    - {type: regex, value: '\\w*'}",
             "tests:"]
    lines += [f"  - {{vars: {{topic: {WORDS[i % len(WORDS)]}, n: {i}}}}}" for i in range(cells)]
    path = folder / "soak.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def baseline(path: Path, cells: int = 500) -> float:
    """Seconds for ``cells`` of the suite's generations straight on a host, one by one."""
    suite = load_suite(path)
    models = ModelService()
    host = models.load_named(BUNDLED_NAME)
    try:
        host.generate(GenerationRequest(prompt="warm up")).result()
        prompt = suite.prompts[0]
        version = PromptVersion("bench", prompt.system, prompt.examples, prompt.user_template)
        sampling = sampling_of(suite.providers[0])
        started = time.perf_counter()
        for test in suite.tests[:cells]:
            messages = tuple(build_messages(version, test.vars))
            host.generate(GenerationRequest(messages=messages, sampling=sampling)).result()
        return time.perf_counter() - started
    finally:
        models.close()


def rss_mb(process: psutil.Process) -> tuple[float, float]:
    """Resident memory of the CLI and of its children (the model hosts), in MB."""
    try:
        own = process.memory_info().rss
        children = sum(c.memory_info().rss for c in process.children(recursive=True))
    except psutil.Error:
        return 0.0, 0.0
    return own / 2**20, children / 2**20


def watch(args: list[str], samples: list[tuple], kill_at: int | None = None,
          started_at: float = 0.0) -> int:
    """Run `workbench eval ARGS`, sampling (time, cells, cli MB, host MB) every second; with
    ``kill_at``, SIGKILL it once that many cells are stored. Returns its exit code."""
    child = subprocess.Popen([sys.executable, "-m", "workbench", "eval", *args],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             env=os.environ.copy())
    process = psutil.Process(child.pid)
    hosts: list[psutil.Process] = []
    while child.poll() is None:
        time.sleep(1.0)
        try:
            hosts = process.children(recursive=True) or hosts
        except psutil.Error:
            pass
        cells = outputs_stored()
        samples.append((time.perf_counter() - started_at, cells, *rss_mb(process)))
        if kill_at is not None and cells >= kill_at:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
            for host in hosts:  # a host whose parent died reads EOF and ends; say if not
                try:
                    host.wait(10)
                except psutil.TimeoutExpired:
                    print(f"a model host (pid {host.pid}) outlived its killed CLI by 10 s")
                    host.kill()
                except psutil.Error:
                    pass
            return -signal.SIGKILL
    if child.returncode not in (0, 100):
        print(child.stderr.read()[-2000:])
    return child.returncode


def per_500(samples: list[tuple]) -> list[float]:
    """Seconds each successive 500 cells took, counted from the first stored cell (model load
    and set-up left out), interpolated between the one-second samples."""
    chunks: list[float] = []
    mark = last_time = None
    previous = None
    for moment, cells, *_ in samples:
        if mark is None:
            if cells > 0:
                mark, last_time = cells + 500, moment
            previous = (moment, cells)
            continue
        while cells >= mark:
            fraction = (mark - previous[1]) / max(1, cells - previous[1])
            at = previous[0] + fraction * (moment - previous[0])
            chunks.append(at - last_time)
            last_time, mark = at, mark + 500
        previous = (moment, cells)
    return chunks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--tokens", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--baseline", type=int, default=500, metavar="N",
                        help="generations timed straight on a host (scaled to 500)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="soak-suite-"))
    path = write_suite(folder, args.cells, args.tokens)
    base = baseline(path, args.baseline) * 500 / args.baseline
    kill_at = random.Random(args.seed).randint(args.cells // 5, args.cells * 3 // 5)

    first: list[tuple] = []
    started = time.perf_counter()
    code = watch([str(path)], first, kill_at=kill_at, started_at=started)
    stored_at_kill = outputs_stored()
    second: list[tuple] = []
    resumed = time.perf_counter()
    out = folder / "out.json"
    code = watch(["--resume", str(path), "--json", str(out)], second, started_at=resumed)
    total_s = time.perf_counter() - started

    store = open_store()
    try:
        [run_id] = store.runs.ids_with_status(RunStatus.DONE)
        outputs = store.runs.outputs(run_id)
        keys = [(o.variant_id, o.case_id, o.repeat) for o in outputs]
        results = store.evaluations.results(run_id)
    finally:
        store.close()
    report = json.loads(out.read_text()) if out.exists() else {}

    chunks = per_500(first) + per_500([(t, c - stored_at_kill, *m) for t, c, *m in second])
    growth = {}
    for name, index in (("CLI", 2), ("host", 3)):
        for label, samples in (("first run", first), ("resumed run", second)):
            values = [s[index] for s in samples if s[index] > 0]
            if len(values) > 2:
                growth[(name, label)] = (values[min(len(values) - 1, 5)], max(values))
    print(f"{args.cells} cells × ≤ {args.tokens} tokens, bundled model, {os.cpu_count()} CPUs")
    print(f"baseline: {args.baseline} generations straight on a host, one by one, as seconds "
          f"per 500: {base:6.1f} s")
    print(f"killed with SIGKILL at {stored_at_kill} cells stored (target {kill_at}); "
          f"resumed, exit code {code}; {total_s:.0f} s in all")
    if chunks:
        print(f"seconds per 500 cells: first {chunks[0]:.1f}, median "
              f"{statistics.median(chunks):.1f}, last {chunks[-1]:.1f} "
              f"(max {max(chunks):.1f}); median ÷ baseline {statistics.median(chunks) / base:.2f}")
        print("  each chunk: " + " ".join(f"{c:.1f}" for c in chunks))
    for (name, label), (early, peak) in growth.items():
        print(f"memory of the {name} ({label}): {early:.0f} MB after ~5 s, peak {peak:.0f} MB, "
              f"growth {peak - early:+.0f} MB")
    print(f"outputs {len(outputs)}, distinct cells {len(set(keys))}, verdicts {len(results)}, "
          f"results in --json {len(report.get('results', []))} (expected {args.cells} each)")


if __name__ == "__main__":
    main()
