"""Cold start: launch to the main window shown, and to the default model ready.

Each round launches ``python -m workbench`` offscreen on one temporary WORKBENCH_HOME, with
WORKBENCH_EXIT_AFTER_SHOWN / WORKBENCH_EXIT_AFTER_READY (ui/startup_probe.py): the app prints
the moment and quits. Baselines measured in the same run, alternating with the app so that
machine noise hits both alike: an empty Qt window shown (what Qt itself costs), and a bare
``llama_cpp.Llama(model_path=BUNDLED)`` in a fresh interpreter (what llama.cpp needs to load),
and the same with a KV cache the size of the model host's.
Goals: window shown < 1.0 s; model ready <= 0.5 s after the bare load's time. The app also
runs with the model named on the command line, which turns the early model load off: what the
preload costs the window and gains the model.

    .venv/bin/python tests/bench/bench_startup.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from workbench.library.bundled import BUNDLED_NAME, bundled_model_path

TIMEOUT_S = 120
SHOWN_GOAL_S, READY_OVER_GOAL_S = 1.0, 0.5

EMPTY_WINDOW = """
import time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow()
class First(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, lambda: (print("workbench-probe shown", time.time(), flush=True),
                                          app.exit(0)))
        return False
probe = First()
window.installEventFilter(probe)
window.resize(1500, 950)
window.show()
app.exec()
"""

BARE_LOAD = "import llama_cpp; llama_cpp.Llama(model_path={path!r}, verbose=False{extra})"
# The host gives each of its 4 parallel sequences (CPU) the window's n_ctx of 4096: its KV
# cache holds 16384 cells, and clearing it is most of its load time over llama.cpp's default.
HOST_KV = ", n_ctx=16384"
HOST_KV_ROW = "  same, host's KV size"


def launch(args: list[str], env: dict[str, str], wanted: str | None) -> float:
    """Seconds from launching ``args`` to the probe line ``wanted`` (to exit when None)."""
    start = time.time()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, err = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise SystemExit(f"{args[-1][:60]!r} did not finish within {TIMEOUT_S} s") from None
    ended = time.time()
    if proc.returncode != 0:
        raise SystemExit(f"{args[-1][:60]!r} exited with {proc.returncode}:\n{err[-2000:]}")
    if wanted is None:
        return ended - start
    for line in out.splitlines():
        parts = line.split()
        if parts[:2] == ["workbench-probe", wanted]:
            return float(parts[2]) - start
    raise SystemExit(f"no 'workbench-probe {wanted}' line in the output:\n{out}\n{err[-2000:]}")


def app_run(env: dict[str, str], what: str, *args: str) -> float:
    var = {"shown": "WORKBENCH_EXIT_AFTER_SHOWN", "ready": "WORKBENCH_EXIT_AFTER_READY"}[what]
    return launch([sys.executable, "-m", "workbench", *args], dict(env, **{var: "1"}), what)


def summary(name: str, values: list[float]) -> str:
    return (f"{name:>24}: median {statistics.median(values) * 1000:7.0f} ms   "
            f"min {min(values) * 1000:7.0f} ms   max {max(values) * 1000:7.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    model = str(bundled_model_path())
    home = tempfile.mkdtemp(prefix="wb-startup-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_HOME=home)
    print(f"{args.rounds} rounds, python {sys.version.split()[0]}, WORKBENCH_HOME {home}")

    # The first launch creates the database (migrations) and the settings: reported apart.
    first = app_run(env, "shown")
    print(f"first launch on an empty home: window shown after {first * 1000:.0f} ms")

    # Naming the model (-m) turns off the preload (ui/preload.py): its cost and gain, apart.
    named = ("gui", "-m", BUNDLED_NAME)
    groups = [[("empty Qt window shown", lambda: launch(
                   [sys.executable, "-c", EMPTY_WINDOW], env, "shown")),
               ("app window shown", lambda: app_run(env, "shown")),
               ("  same, no preload", lambda: app_run(env, "shown", *named))],
              [("bare llama.cpp load", lambda: launch(
                   [sys.executable, "-c", BARE_LOAD.format(path=model, extra="")], env, None)),
               (HOST_KV_ROW, lambda: launch(
                   [sys.executable, "-c", BARE_LOAD.format(path=model, extra=HOST_KV)], env,
                   None)),
               ("app model ready", lambda: app_run(env, "ready")),
               ("  same, no preload", lambda: app_run(env, "ready", *named))]]
    results: dict[tuple[int, str], list[float]] = {}
    for round_no in range(args.rounds):
        for number, group in enumerate(groups):
            # rotate who goes first within each group
            shift = round_no % len(group)
            for name, run in group[shift:] + group[:shift]:
                results.setdefault((number, name), []).append(run())

    for number, group in enumerate(groups):
        for name, _run in group:
            print(summary(name, results[number, name]))
    medians = {key: statistics.median(values) for key, values in results.items()}
    qt, shown = medians[0, "empty Qt window shown"], medians[0, "app window shown"]
    bare, ready = medians[1, "bare llama.cpp load"], medians[1, "app model ready"]
    print(f"window shown: {shown:.3f} s (goal < {SHOWN_GOAL_S:.1f} s), "
          f"{shown / qt:.2f}x an empty Qt window")
    print(f"model ready - bare load: {ready - bare:+.3f} s (goal <= {READY_OVER_GOAL_S:.1f} s), "
          f"ready/bare {ready / bare:.2f}")
    bare_kv = medians[1, HOST_KV_ROW]
    print(f"model ready - bare load with the host's KV size: {ready - bare_kv:+.3f} s")
    print(f"the preload changed: window shown {shown - medians[0, '  same, no preload']:+.3f} s, "
          f"model ready {ready - medians[1, '  same, no preload']:+.3f} s")


if __name__ == "__main__":
    main()
