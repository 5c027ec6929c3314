"""``workbench improve`` against DSPy at an equal budget of target-model calls, on the shipped
task and the bundled model (``make improve-peer``).

    .venv/bin/python tests/bench/bench_improve_peer.py [--budget 400] [--seed 0]
        [--optimizers bfrs,mipro] [--adapter chat|plain] [--dspy-python PATH] [--keep DIR]

1. The split: the engine's own ``split_cases`` on the suite's cases, the seed and the default
   held-out fraction, as ``workbench improve`` makes it (the run's split is checked against it).
2. ``workbench improve`` on the suite (a fresh WORKBENCH_HOME, the model in-process), budget B
   target-model calls in all, held-out included.
3. ``python -m llama_cpp.server`` on the bundled model on 127.0.0.1, behind the recording proxy
   (tests/services/recording_proxy.py), and for each DSPy optimizer ``tests/bench/dspy_peer.py``
   in DSPy's own venv (never this one), with the same seed and split; its compile gets
   B − 2 × held-out calls, so its compile plus the held-out answers of its start and its
   result cost what the workbench run did. The proxy counts the requests of each model name
   (target, proposer) as a check on the peer's own count.
4. Every arm's held-out answers are scored here by the project's check engine
   (``workbench.services.evaluation``: the Evaluator over the suite's cases): Wilson 95%
   intervals and an exact McNemar test against the start, paired by case.

Prints one table (start, workbench winner, DSPy BootstrapFewShotWithRandomSearch, DSPy MIPROv2)
and writes it with every answer to DIR/peer.json. Slow on 2 cores; the wall time moves with the
machine's other load (the load average is printed).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.plugins.test_openai_compat_cli import serving  # noqa: E402
from tests.services.recording_proxy import recording_proxy  # noqa: E402
from workbench.core.cases import CaseSet, TestCase  # noqa: E402
from workbench.core.runs import Output  # noqa: E402
from workbench.engine.host.threads import choose_threads, machine_load  # noqa: E402
from workbench.services.evaluation.evaluator import Evaluator  # noqa: E402
from workbench.services.evaluation.statistics import mcnemar_exact, wilson  # noqa: E402
from workbench.services.evaluation.suite_file import load_suite  # noqa: E402
from workbench.services.evaluation.suite_session import sampling_of  # noqa: E402
from workbench.services.improve.request import ImproveRequest  # noqa: E402
from workbench.services.improve.split import split_cases  # noqa: E402

TASK = ROOT / "resources" / "improve-sentiment.yaml"
DSPY_PYTHON = Path.home() / ".cache" / "workbench-dspy" / "venv" / "bin" / "python"
PEER = ROOT / "tests" / "bench" / "dspy_peer.py"
TARGET, PROPOSER = "smollm2-target", "smollm2-proposer"  # one model, two names to count by
PROPOSER_MAX_TOKENS = 100  # as the workbench proposer's (services/improve/proposer.py)
OPTIMIZERS = {"bfrs": "DSPy BootstrapFewShotWithRandomSearch", "mipro": "DSPy MIPROv2"}
# nothing the peer runs leaves 127.0.0.1 (litellm would fetch its model price list)
QUIET = {"LITELLM_LOCAL_MODEL_COST_MAP": "True", "HTTP_PROXY": "http://127.0.0.1:9",
         "HTTPS_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
         "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "127.0.0.1,localhost",
         "no_proxy": "127.0.0.1,localhost", "OPENAI_API_KEY": "none"}


# -- the task and its split -----------------------------------------------------------------------

def task_cases(suite) -> CaseSet:
    """The suite's tests as the engine's cases (position = the test's index)."""
    case_set = CaseSet("bench", suite.description, default_assertions=suite.default_assertions,
                       default_threshold=suite.default_threshold)
    cases = tuple(TestCase(case_set.id, {**suite.default_vars, **test.vars},
                           expected=test.expected, position=index, assertions=test.assertions,
                           threshold=test.threshold,
                           options={**suite.default_options, **test.options})
                  for index, test in enumerate(suite.tests))
    return dataclasses.replace(case_set, cases=cases)


def engine_split(case_set: CaseSet, seed: int) -> tuple[list[int], list[int]]:
    """(training, held-out) test indexes, from the engine's split at its default fraction."""
    fraction = ImproveRequest.__dataclass_fields__["held_out_fraction"].default
    split = split_cases(case_set.cases, fraction, seed)
    position = {case.id: case.position for case in case_set.cases}
    return ([position[i] for i in split.training], [position[i] for i in split.held_out])


def score(case_set: CaseSet, answers: dict[int, tuple[str | None, str | None]]
          ) -> dict[int, bool]:
    """Test index -> passed, by the project's check engine; ``answers``: index -> (text,
    error). An error (no answer) fails, as in any run."""
    evaluator = Evaluator(None, None)
    by_position = {case.position: case for case in case_set.cases}
    passed = {}
    for index, (text, error) in answers.items():
        case = by_position[index]
        output = Output("bench", "bench", case.id, text or "", error=error)
        passed[index] = evaluator.verdict(output, case, case_set).passed
    return passed


# -- workbench improve ---------------------------------------------------------------------------

def run_workbench(suite_path: Path, budget: int, seed: int, allow: str, home: Path) -> dict:
    """The command's JSON, with its wall time and exit code; a kept folder's earlier run of
    the same suite, budget, seed and changes is reused (to rerun only the DSPy side)."""
    asked = {"suite": str(suite_path), "budget": budget, "seed": seed, "allow": allow}
    done_before = home / "bench.json"
    if done_before.is_file() and json.loads(done_before.read_text())["asked"] == asked:
        return json.loads(done_before.read_text())["result"]
    env = {**os.environ, "WORKBENCH_HOME": str(home)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "workbench", "improve", str(suite_path),
                           "--budget", str(budget), "--seed", str(seed), "--allow", allow,
                           "--json", str(home / "improve.json")],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - started
    if done.returncode not in (0, 100):
        raise SystemExit(f"workbench improve failed (exit {done.returncode}):\n"
                         f"{done.stderr[-3000:]}")
    result = json.loads((home / "improve.json").read_text())
    result["wall_s"], result["exit"] = wall, done.returncode
    done_before.write_text(json.dumps({"asked": asked, "result": result}))
    return result


def held_out_answers(home: Path, result: dict, candidate_id: str
                     ) -> dict[int, tuple[str | None, str | None]]:
    """The candidate's held-out outputs as stored (test index -> (text, error))."""
    import sqlean

    candidate = next(c for c in result["candidates"] if c["id"] == candidate_id)
    [run_id] = [e["run_id"] for e in candidate["evaluations"] if e["stage"] == "held-out"]
    connection = sqlean.connect(str(home / "data" / "workbench.sqlite3"))
    try:
        rows = connection.execute(
            "SELECT t.position, o.text, o.error FROM outputs o JOIN variants v "
            "ON o.variant_id = v.id JOIN test_cases t ON o.case_id = t.id "
            "WHERE o.run_id = ? AND v.label = ? AND o.repeat = 0",
            (run_id, candidate["slot"])).fetchall()
        positions = dict(connection.execute("SELECT id, position FROM test_cases").fetchall())
    finally:
        connection.close()
    result.setdefault("positions", positions)
    return {position: (text, error) for position, text, error in rows}


# -- DSPy ----------------------------------------------------------------------------------------

def run_dspy(optimizer: str, spec: dict, work: Path, requests: list, python: Path) -> dict:
    """The peer's OUT with the proxy's counts and the wall time; a kept folder's finished run
    of the same spec is reused (to rerun one optimizer, or only the workbench side)."""
    spec_path, out_path = work / f"{optimizer}-spec.json", work / f"{optimizer}.json"
    text = json.dumps({**spec, "optimizer": optimizer, "api_base": None}, sort_keys=True)
    if out_path.is_file() and spec_path.is_file() and spec_path.read_text() == text:
        return json.loads(out_path.read_text())
    out_path.unlink(missing_ok=True)
    spec_path.write_text(text)
    run_spec = work / f"{optimizer}-run-spec.json"
    run_spec.write_text(json.dumps({**spec, "optimizer": optimizer}))
    before = len(requests)
    started = time.monotonic()
    with (work / f"{optimizer}.log").open("w") as log:
        done = subprocess.run([str(python), str(PEER), str(run_spec), str(out_path)],
                              stdout=log, stderr=subprocess.STDOUT, check=False,
                              env={**os.environ, **QUIET, "DSPY_CACHEDIR": str(work / "cache")})
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"dspy_peer.py {optimizer} failed (exit {done.returncode}); see "
                         f"{work / f'{optimizer}.log'}")
    result = json.loads(out_path.read_text())
    seen = Counter((r.body or {}).get("model") for r in requests[before:]
                   if r.method == "POST" and "completions" in r.path)
    result["proxy"] = {"target": seen.get(TARGET, 0), "proposer": seen.get(PROPOSER, 0)}
    result["wall_s"] = wall
    out_path.write_text(json.dumps(result, indent=1))
    return result


def server_options() -> list[str]:
    """The threads the app's own host would take now (a thread on a busy core stalls every
    llama.cpp step), the model's whole context (MIPROv2's proposer prompts pass 2048 tokens), and
    the target's name."""
    threads = str(choose_threads(os.cpu_count(), machine_load()).n_threads)
    return ["--n_ctx", "8192", "--n_threads", threads, "--n_threads_batch", threads,
            "--model_alias", TARGET]


def dspy_version(python: Path, package: str) -> str:
    done = subprocess.run([str(python), "-c", f"import importlib.metadata as m; "
                           f"print(m.version('{package}'))"], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "?"


# -- the table -----------------------------------------------------------------------------------

def row(name: str, passed: dict[int, bool], start: dict[int, bool], calls: str,
        wall_s: float) -> dict:
    order = sorted(start)
    mine, theirs = [passed[i] for i in order], [start[i] for i in order]
    interval = wilson(sum(mine), len(mine))
    test = mcnemar_exact(theirs, mine)
    return {"arm": name, "passed": sum(mine), "total": len(mine), "rate": sum(mine) / len(mine),
            "low": interval.low, "high": interval.high, "p_vs_start": test.p_value,
            "calls": calls, "wall_s": round(wall_s, 1),
            "failed_cases": [i for i in order if not passed[i]]}


def print_table(rows: list[dict]) -> None:
    print(f"{'arm':<46} {'held-out':>8} {'rate [95% Wilson]':>20} {'p vs start':>10}  "
          f"{'target calls (proposer)':<26} {'wall s':>7}")
    for r in rows:
        p = "—" if r["arm"] == "start" else f"{r['p_vs_start']:.3g}"
        print(f"{r['arm']:<46} {r['passed']:>3}/{r['total']:<4} "
              f"{r['rate']:>5.0%} [{r['low']:.0%}, {r['high']:.0%}]{'':>4} {p:>10}  "
              f"{r['calls']:<26} {r['wall_s']:>7}")


@dataclasses.dataclass
class Bench:
    """What every arm shares: the arguments, the task and its split, the work folder, and
    the table and details filled arm by arm."""

    args: argparse.Namespace
    work: Path
    suite_path: Path
    suite: object
    case_set: CaseSet
    training: list[int]
    held_out: list[int]
    rows: list[dict] = dataclasses.field(default_factory=list)
    arms: dict = dataclasses.field(default_factory=dict)
    start: dict[int, bool] = dataclasses.field(default_factory=dict)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allow", default="instruction,examples,format")
    parser.add_argument("--optimizers", default="bfrs,mipro")
    parser.add_argument("--adapter", choices=("chat", "plain"), default="chat",
                        help="DSPy's prompt format: its ChatAdapter (default), or the task's "
                             "own prompt with the completion as the answer")
    parser.add_argument("--suite", default=str(TASK))
    parser.add_argument("--dspy-python", default=str(DSPY_PYTHON))
    parser.add_argument("--keep", help="work folder (default: a new temporary one)")
    return parser.parse_args()


def prepare(args: argparse.Namespace) -> Bench:
    """The work folder, the suite's cases and the engine's split of them."""
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-improve-peer-"))
    work.mkdir(parents=True, exist_ok=True)
    suite_path = Path(args.suite).resolve()
    suite = load_suite(suite_path)
    case_set = task_cases(suite)
    training, held_out = engine_split(case_set, args.seed)
    print(f"split (seed {args.seed}): {len(training)} training {training}; "
          f"{len(held_out)} held-out {held_out}", flush=True)
    return Bench(args, work, suite_path, suite, case_set, training, held_out)


def workbench_arms(bench: Bench) -> None:
    """``workbench improve`` on the task: the start's row and its result's."""
    args = bench.args
    home = bench.work / "workbench-home"
    home.mkdir(exist_ok=True)
    improved = run_workbench(bench.suite_path, args.budget, args.seed, args.allow, home)
    start_answers = held_out_answers(home, improved, improved["start_id"])
    best_answers = held_out_answers(home, improved, improved["best_id"])
    positions = improved["positions"]
    if sorted(positions[i] for i in improved["split"]["held_out"]) != bench.held_out:
        raise SystemExit("workbench improve split the cases differently from split_cases")
    spent = improved["spent"]
    start = bench.start = score(bench.case_set, start_answers)
    bench.rows += [row("start", start, start, f"{len(start)} (held-out)", 0),
                   row("workbench improve winner" if improved["significant"] else
                       "workbench improve best (no winner)", score(bench.case_set, best_answers),
                       start, f"{spent['target_calls']} ({spent['proposer_calls']})",
                       improved["wall_s"])]
    bench.arms["workbench"] = {"answers": {str(k): v for k, v in best_answers.items()},
                               "start_answers": {str(k): v for k, v in start_answers.items()},
                               "evidence": improved["evidence"], "spent": spent,
                               "exit": improved["exit"]}
    print(f"workbench improve: exit {improved['exit']}, {spent['target_calls']} target calls, "
          f"{improved['wall_s']:.0f} s", flush=True)


def dspy_arms(bench: Bench, python: Path) -> None:
    """Each DSPy optimizer on the same split, through the recording proxy, at the budget the
    workbench run had (less the held-out answers of its start and its result)."""
    from workbench.library.bundled import bundled_model_path

    args = bench.args
    compile_budget = args.budget - 2 * len(bench.held_out)
    with serving(bundled_model_path(), bench.work, *server_options()) as base, \
            recording_proxy(base) as (proxy, requests):
        spec = {"suite": str(bench.suite_path), "training": bench.training,
                "held_out": bench.held_out, "seed": args.seed, "budget": compile_budget,
                "api_base": proxy, "target_model": TARGET, "proposer_model": PROPOSER,
                "max_tokens": sampling_of(bench.suite.providers[0]).max_tokens,
                "proposer_max_tokens": PROPOSER_MAX_TOKENS, "adapter": args.adapter}
        for optimizer in [o.strip() for o in args.optimizers.split(",") if o.strip()]:
            dspy_arm(bench, optimizer, run_dspy(optimizer, spec, bench.work, requests, python))


def dspy_arm(bench: Bench, optimizer: str, peer: dict) -> None:
    """One optimizer's row, its answers (and its own start's) scored by the check engine."""
    calls = peer["calls"]
    answers = {a["index"]: (a["answer"], a.get("error")) for a in peer["compiled"]["answers"]}
    target_calls = calls["compile_target"] + calls["held_out_target"]
    bench.rows.append(row(f"{OPTIMIZERS[optimizer]} ({bench.args.adapter})",
                          score(bench.case_set, answers), bench.start,
                          f"{target_calls} ({calls['compile_proposer']})", peer["wall_s"]))
    dspy_start = {a["index"]: (a["answer"], a.get("error")) for a in peer["start"]["answers"]}
    peer["scored_start"] = score(bench.case_set, dspy_start)
    bench.arms[optimizer] = peer
    print(f"{optimizer}: {target_calls} target calls (proxy saw {peer['proxy']}), "
          f"{peer['wall_s']:.0f} s", flush=True)


def print_summary(bench: Bench, load: tuple[float, float, float], python: Path) -> None:
    args = bench.args
    print()
    print(f"seed {args.seed}, budget {args.budget} target-model calls, cores {os.cpu_count()}, "
          f"load average at start {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}; dspy "
          f"{dspy_version(python, 'dspy')}, llama-cpp-python "
          f"{dspy_version(Path(sys.executable), 'llama-cpp-python')}")
    print_table(bench.rows)
    for optimizer in OPTIMIZERS:
        if optimizer in bench.arms:
            zero = bench.arms[optimizer]["scored_start"]
            print(f"  {OPTIMIZERS[optimizer]}: its zero-shot start ({args.adapter} adapter) "
                  f"passes {sum(zero.values())}/{len(zero)} held-out; settings "
                  f"{bench.arms[optimizer]['settings']}")


def main() -> int:
    args = parse_arguments()
    python = Path(args.dspy_python)
    if not python.is_file():
        raise SystemExit(f"no DSPy venv at {python}: `make improve-peer` makes it")
    bench = prepare(args)
    load = os.getloadavg()
    workbench_arms(bench)
    dspy_arms(bench, python)
    print_summary(bench, load, python)
    (bench.work / "peer.json").write_text(json.dumps({
        "seed": args.seed, "budget": args.budget, "training": bench.training,
        "held_out": bench.held_out, "load_average": load, "rows": bench.rows,
        "arms": bench.arms}, indent=1, default=str))
    print(f"details: {bench.work / 'peer.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
