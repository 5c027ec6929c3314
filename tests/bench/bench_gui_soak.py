"""The soak through the window: a long run in the real main window, stopped at a random moment
and resumed, while a 10 ms timer on the GUI thread records every gap in the event loop.

    .venv/bin/python tests/bench/bench_gui_soak.py [--cells 10000] [--tokens 4] [--seed 7]

CELLS cases × 1 variant on the bundled model (answers of at most TOKENS tokens, sampled with a
seed), every case checked (max-length). The run is stopped (■ Stop) once a seeded random
number of cells is done, then ↻ Resume finishes only the missing cells. Measured in the same
run: the idle window's gaps (the baseline), the gaps while the cases are set and while the run
streams, each with its maximum, p99 and the count over 100 ms; what the GUI thread did during
the longest ones (sampled stacks); the GUI process's memory through the run; and the check
that the run ends with every cell exactly once. Nothing is asserted: figures for the notes.
Run it under Xvfb to see the window (`xvfb-run -s "-screen 0 1600x1000x24"`), or offscreen.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="wb-gui-soak-")

import psutil  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.bench.bench_gui import PROBE_MS, Probe, gap_tail, idle, wait_for  # noqa: E402
from workbench.core.evaluation import Assertion  # noqa: E402
from workbench.core.runs import RunStatus  # noqa: E402
from workbench.services.workspace import SetChecks  # noqa: E402
from workbench.ui.app import create_main_window  # noqa: E402
from workbench.ui.collector import freeze_startup_objects  # noqa: E402

GOAL_MS = 100
WORDS = ["rain", "bread", "ships", "maps", "owls", "salt", "glass", "wool", "tea", "clocks"]


def compose(window, cells: int, tokens: int) -> None:
    composer = window.composer
    composer.system_edit.setPlainText("")
    composer.template_edit.setPlainText("Say one word about {{ topic }} number {{ n }}.")
    composer.set_cases([({"topic": WORDS[i % len(WORDS)], "n": str(i)}, None)
                        for i in range(cells)])
    table = window.compare.variants
    table.clear()
    table.add_variant("soak", temperature=0.8, seed=5, max_tokens=tokens)


def check_every_case(window) -> None:
    """An every-case check, as the Assertions dialog's "Every case" tab sets it."""
    window.composer.cases.shared = SetChecks((Assertion("max-length", 2000),))


def summary(name: str, gaps: list[int]) -> str:
    longest, p99, over = gap_tail(gaps, GOAL_MS)
    return (f"{name:>22}: {len(gaps):6d} ticks  max {longest:5d} ms  p99 {p99:4d} ms  "
            f"gaps >= {GOAL_MS} ms: {over}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--tokens", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication([])  # noqa: F841 - kept alive
    window, services = create_main_window()
    window.resize(1600, 1000)
    window.show()
    window.start(None)
    freeze_startup_objects()  # as run_app does before its event loop
    if window.models.host is None:
        wait_for(window.models.loaded, 120_000)
    me = psutil.Process()
    with Probe() as baseline:
        idle(2000)
    with Probe() as setting:
        compose(window, args.cells, args.tokens)
        check_every_case(window)
        idle(500)
    compare = window.compare
    stop_at = random.Random(args.seed).randint(args.cells // 5, args.cells * 3 // 5)
    memory = [me.memory_info().rss / 2**20]
    with Probe() as streaming:
        started = time.perf_counter()
        compare.run_button.click()
        while len(compare.outputs) < stop_at and compare.running:
            idle(1000)
            memory.append(me.memory_info().rss / 2**20)
        stopped_at = len(compare.outputs)
        compare.stop_button.click()
        if compare.running:
            wait_for(compare.run_finished, 60_000)
        while not compare.resume_button.isVisible():  # offered once the run list says stopped
            idle(100)
        compare.resume_button.click()
        while not compare.running:  # prepared in the background, then started
            idle(50)
        while compare.running:
            idle(1000)
            memory.append(me.memory_info().rss / 2**20)
        elapsed = time.perf_counter() - started
    run = compare.run
    store = services.store
    outputs = store.runs.outputs(run.id)
    cells = {(o.variant_id, o.case_id, o.repeat) for o in outputs}
    print(f"{args.cells} cells × ≤ {args.tokens} tokens, 1 variant, bundled model, "
          f"{os.cpu_count()} CPUs; probe every {PROBE_MS} ms")
    print(f"stopped at {stopped_at} cells (target {stop_at}), resumed; "
          f"{elapsed:.0f} s; run {store.runs.get(run.id).status.value}")
    print(summary("idle window", baseline.gaps))
    print(summary(f"setting {args.cells} cases", setting.gaps))
    print(summary("run, stop, resume", streaming.gaps))
    print(f"GUI process memory: {memory[0]:.0f} MB at the start, {max(memory):.0f} MB peak, "
          f"{memory[-1]:.0f} MB at the end")
    print(f"outputs {len(outputs)}, distinct cells {len(cells)}, cancelled kept "
          f"{sum(1 for o in outputs if o.cancelled)} (expected {args.cells}, "
          f"{args.cells}, 0); run status {RunStatus(store.runs.get(run.id).status).value}")
    for gap, culprits in streaming.long_gaps(GOAL_MS, most=6):
        print(f"  {gap} ms:")
        for stack, count in culprits.most_common(3):
            print(f"    {count:3d} x {stack}")
    window.close()
    services.models.close()
    services.store.close()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
