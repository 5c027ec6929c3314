"""`workbench eval` against the same generations run bare.

    .venv/bin/python tests/bench/bench_eval.py [--cases 20] [--repeats 3] [--tokens 48]

A suite of 20 cases × 2 variants (greedy; sampled with a seed) × 3 repeats on the bundled model,
each case with a few cheap assertions. Measured in the same run:
- bare: the same 120 generations (same prompts, same seeds) one after another straight on a
  ModelHost, summed (the model loaded once beforehand, not counted);
- eval: the wall time of the `workbench eval` process, start to exit (process start, model load,
  storing the suite, every check and the report included).
Prints both and the ratio eval ÷ bare (the evaluation issue's goal: ≤ 1.10). The eval path
decodes cells of one model in parallel (the host batches them), so it can beat the bare sum.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

os.environ.setdefault("WORKBENCH_HOME", tempfile.mkdtemp(prefix="bench-eval-"))

from workbench.core.composition import build_messages  # noqa: E402
from workbench.core.generation import GenerationRequest  # noqa: E402
from workbench.core.prompts import PromptVersion  # noqa: E402
from workbench.library.bundled import BUNDLED_NAME  # noqa: E402
from workbench.services.compare import seed_for_repeat  # noqa: E402
from workbench.services.evaluation.suite_file import load_suite  # noqa: E402
from workbench.services.evaluation.suite_session import sampling_of  # noqa: E402
from workbench.services.models import ModelService  # noqa: E402

TOPICS = ["rain", "bread", "ships", "maps", "owls", "salt", "glass", "wool", "tea", "clocks",
          "bees", "iron", "snow", "ink", "rope", "moss", "silk", "coal", "figs", "kites",
          "reeds", "amber", "chalk", "dunes"]


def write_suite(folder: Path, cases: int, tokens: int) -> Path:
    lines = [
        "description: bench",
        "prompts:",
        "  - 'Write one short sentence about {{topic}}.'",
        "providers:",
        f"  - {{id: {BUNDLED_NAME}, label: greedy, config: {{temperature: 0, max_tokens: {tokens}}}}}",
        f"  - {{id: {BUNDLED_NAME}, label: sampled, config: {{temperature: 0.8, seed: 11, "
        f"max_tokens: {tokens}}}}}",
        "defaultTest:",
        "  assert:",
        "    - {type: max-length, value: 2000}",
        "    - {type: not-icontains, value: 'as an ai'}",
        "    - {type: regex, value: '\\w+'}",
        "tests:",
    ]
    for topic in TOPICS[:cases]:
        lines.append(f"  - {{vars: {{topic: {topic}}}, assert: [{{type: icontains, "
                     f"value: {topic}}}]}}")
    path = folder / "bench.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def bare(path: Path, repeats: int) -> float:
    suite = load_suite(path)
    models = ModelService()
    host = models.load_named(BUNDLED_NAME)
    try:
        host.generate(GenerationRequest(prompt="warm up")).result()
        prompt = suite.prompts[0]
        version = PromptVersion("bench", prompt.system, prompt.examples, prompt.user_template)
        total = 0.0
        for test in suite.tests:
            messages = tuple(build_messages(version, test.vars))
            for repeat in range(repeats):
                for provider in suite.providers:
                    sampling = seed_for_repeat(sampling_of(provider), repeat)
                    started = time.perf_counter()
                    host.generate(GenerationRequest(messages=messages, sampling=sampling)).result()
                    total += time.perf_counter() - started
        return total
    finally:
        models.close()


def through_eval(path: Path, repeats: int) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "workbench", "eval", str(path), "--repeat",
                           str(repeats)], capture_output=True, text=True, env=os.environ.copy())
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 100):
        raise SystemExit(f"workbench eval failed ({done.returncode}): {done.stderr}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_suite(Path(folder), args.cases, args.tokens)
        cells = args.cases * 2 * args.repeats
        bare_s = bare(path, args.repeats)
        eval_s = through_eval(path, args.repeats)
    print(f"{args.cases} cases × 2 variants × {args.repeats} repeats = {cells} generations, "
          f"≤ {args.tokens} tokens each, bundled model, {os.cpu_count()} CPUs")
    print(f"bare, one after another (model already loaded): {bare_s:7.2f} s")
    print(f"workbench eval, whole process:                  {eval_s:7.2f} s")
    print(f"ratio eval ÷ bare: {eval_s / bare_s:.2f} (goal ≤ 1.10)")


if __name__ == "__main__":
    main()
