"""``workbench improve`` on the shipped task and the bundled model, against the issue's goal: a
significant held-out gain within 400 generations on 2 CPU cores.

    .venv/bin/python tests/bench/bench_improve.py [--budget 400] [--seed 0] [--allow WHAT]

Runs the command as a user would (a fresh WORKBENCH_HOME: process start, model load, every
evaluation and the report counted) and prints the held-out pass rate of the start and of the
winner with their 95% intervals, the exact McNemar p-value, the generations (target-model
calls) and proposer calls spent, the wall time, and — so a DSPy run at equal budget can be
matched — the training and held-out case ids (the suite's test indexes). On a shared machine
the wall time moves with the other load: say so when quoting it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TASK = ROOT / "resources" / "improve-sentiment.yaml"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allow", default="instruction,examples,format")
    parser.add_argument("--suite", default=str(TASK))
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-improve-"))
    env = {**os.environ, "WORKBENCH_HOME": str(home)}
    load = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "workbench", "improve", args.suite,
                           "--budget", str(args.budget), "--seed", str(args.seed),
                           "--allow", args.allow, "--json", str(home / "improve.json"),
                           "--out", str(home / "report.html")],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.monotonic() - started
    if done.returncode not in (0, 100):
        print(done.stderr[-3000:], file=sys.stderr)
        return 1
    result = json.loads((home / "improve.json").read_text())
    evidence, spent = result["evidence"], result["spent"]
    positions = _positions(home)
    print(f"cores: {os.cpu_count()}  load average before: {load:.1f}  budget {args.budget}  "
          f"seed {args.seed}  allow {args.allow}")
    for side in ("start", "winner"):
        interval = evidence[f"{side}_interval"]
        print(f"  {side:<7} held-out {evidence[f'{side}_passed']}/{evidence['units']} "
              f"({evidence[f'{side}_rate']:.0%}, 95% {interval['low']:.0%}–"
              f"{interval['high']:.0%})")
    print(f"  {evidence['sentence']}  (p = {evidence['test']['p_value']:.4g}; "
          f"{evidence['verdict']}; exit {done.returncode})")
    best = next(c for c in result["candidates"] if c["id"] == result["best_id"])
    print(f"  best: {best['slot']} ({best['change']}), {len(result['candidates'])} candidates")
    print(f"  target-model calls: {spent['target_calls']} ({spent['search_generations']} search "
          f"+ {spent['held_out_generations']} held-out); proposer calls: "
          f"{spent['proposer_calls']}")
    print(f"  training cases (test index): {[positions[i] for i in result['split']['training']]}")
    print(f"  held-out cases (test index): {[positions[i] for i in result['split']['held_out']]}")
    print(f"wall {wall:.1f} s (work {spent['wall_s']:.1f} s); report: {home / 'report.html'}")
    return 0


def _positions(home: Path) -> dict[str, int]:
    """Case id -> the test's index in the suite file (read from the session database)."""
    import sqlean

    connection = sqlean.connect(str(home / "data" / "workbench.sqlite3"))
    try:
        return {case_id: position for case_id, position in
                connection.execute("SELECT id, position FROM test_cases")}
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
