"""GUI responsiveness while four columns stream: the largest gap in the Qt event loop.

The real main window (offscreen, a temporary WORKBENCH_HOME) runs 4 variants x N cases on the
bundled model. A 10 ms QTimer on the GUI thread records the time between its ticks (the probe of
tests/ui/test_workbench.py); the same probe over an idle window first is the baseline. A
watchdog thread samples the GUI thread's Python stack (sys._current_frames) whenever a tick is
late, so each long gap comes with what the GUI thread was doing. Goal: max gap < 50 ms.

    .venv/bin/python tests/bench/bench_gui.py [--cases 3] [--tokens 64] [--runs 2]
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["WORKBENCH_HOME"] = tempfile.mkdtemp(prefix="wb-gui-bench-")

from PySide6.QtCore import QElapsedTimer, QEventLoop, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from workbench.core.prompts import FewShotExample  # noqa: E402
from workbench.ui.app import create_main_window  # noqa: E402

GOAL_MS = 50
PROBE_MS = 10
LATE_S = 0.015  # a tick this late (due every 10 ms) gets the GUI thread's stack sampled
SAMPLE_EVERY_S = 0.005
COUNTRIES = ["Spain", "Chile", "Japan", "Kenya", "Norway", "Peru", "Egypt", "Canada"]


class Probe:
    """Gaps between ticks of a timer on the GUI thread, and stacks sampled during late ones."""

    def __init__(self):
        self.gaps: list[int] = []
        self.stalls: dict[float, list[tuple[str, ...]]] = collections.defaultdict(list)
        self.gap_starts: list[float] = []
        self._clock = QElapsedTimer()
        self._last_tick = time.perf_counter()
        self._main = threading.main_thread().ident
        self._running = False
        self._timer = QTimer(interval=PROBE_MS)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        if self._clock.isValid():
            self.gaps.append(self._clock.restart())
            self.gap_starts.append(self._last_tick)
        else:
            self._clock.start()
        self._last_tick = time.perf_counter()

    def _watch(self) -> None:
        while self._running:
            time.sleep(SAMPLE_EVERY_S)
            since = self._last_tick
            if time.perf_counter() - since > LATE_S:
                frame = sys._current_frames().get(self._main)
                if frame is not None:
                    stack = tuple(f"{s.filename}:{s.lineno} {s.name}"
                                  for s in traceback.extract_stack(frame))
                    self.stalls[since].append(stack)
                # A frame kept past its return keeps its locals: a QPainter of a paintEvent
                # stayed active (Qt's endPaint warning) and was later destroyed on this
                # thread, which crashed the soak once.
                del frame

    def __enter__(self) -> Probe:
        self._running = True
        threading.Thread(target=self._watch, daemon=True, name="gap-watchdog").start()
        self._timer.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._timer.stop()
        self._running = False

    def long_gaps(self, threshold_ms: int, most: int = 10) -> list[tuple[int, collections.Counter]]:
        """The longest gaps of ``threshold_ms`` or more, each with its samples counted by
        their innermost frames."""
        found = []
        for gap, start in zip(self.gaps, self.gap_starts):
            if gap >= threshold_ms:
                found.append((gap, collections.Counter(
                    culprit(stack) for stack in self.stalls.get(start, []))))
        return sorted(found, key=lambda item: -item[0])[:most]


CULPRIT_FRAMES = int(os.environ.get("BENCH_CULPRIT_FRAMES", "8"))


def culprit(stack: tuple[str, ...]) -> str:
    """The innermost frames (``BENCH_CULPRIT_FRAMES``, 8 unless set), from the first one in
    the workbench (or the top, if none)."""
    if stack and stack[-1].endswith(" wait_for"):
        # Inside loop.exec() with no Python frame running: Qt's own work (layout, painting,
        # delivering events) or a Python slot called from it waiting for the GIL.
        return "Qt itself (no Python running on the GUI thread)"
    ours = [i for i, line in enumerate(stack) if "/workbench/" in line]
    start = ours[0] if ours else max(0, len(stack) - 3)
    return "\n      ".join(short(line) for line in stack[start:][-CULPRIT_FRAMES:])


def short(line: str) -> str:
    for marker in ("/site-packages/", "/workbench/", "/tests/"):
        if marker in line:
            return marker.strip("/") + "/" + line.split(marker, 1)[1]
    return line


def wait_for(signal, timeout_ms: int):
    loop, got = QEventLoop(), []

    def done(*args) -> None:
        got.append(args)
        loop.quit()

    signal.connect(done)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()
    signal.disconnect(done)
    if not got:
        raise SystemExit(f"timed out after {timeout_ms} ms")
    return got[0]


def idle(ms: int) -> None:
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def compose(window, cases: int, tokens: int) -> None:
    composer = window.composer
    composer.system_edit.setPlainText("You are a helpful geography teacher.")
    composer.examples.set_examples([FewShotExample("Tell me about France.",
                                                   "France is a country in Western Europe.")])
    composer.template_edit.setPlainText("Tell me about {{ country }}.")
    composer.set_cases([({"country": c}, None) for c in COUNTRIES[:cases]])
    table = window.compare.variants
    table.clear()
    for i in range(4):
        table.add_variant(f"v{i}", temperature=0.3 * i, seed=i, max_tokens=tokens)


def gap_tail(gaps: list[int], goal_ms: int) -> tuple[int, int, int]:
    """The longest gap, the 99th percentile and how many gaps reached ``goal_ms`` (0 for
    none)."""
    ordered = sorted(gaps) or [0]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return ordered[-1], p99, sum(1 for g in gaps if g >= goal_ms)


def report(name: str, gaps: list[int]) -> None:
    longest, p99, over = gap_tail(gaps, GOAL_MS)
    print(f"{name:>10}: {len(gaps):5d} ticks   max {longest:4d} ms   p99 {p99:4d} ms   "
          f"median {statistics.median(gaps):4.0f} ms   gaps >= {GOAL_MS} ms: {over}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--culprits-over", type=int, default=GOAL_MS, metavar="MS",
                        help="show what the GUI thread did during gaps this long or longer")
    args = parser.parse_args()
    _app = QApplication.instance() or QApplication([])  # noqa: F841 - kept alive
    window, services = create_main_window()
    window.show()
    window.start(None)
    if window.models.host is None:
        wait_for(window.models.loaded, 120_000)
    compose(window, args.cases, args.tokens)
    print(f"4 variants x {args.cases} cases x {args.tokens} tokens, {args.runs} runs; "
          f"probe every {PROBE_MS} ms")

    with Probe() as baseline:
        idle(2000)
    streaming = Probe()
    with streaming:
        for _ in range(args.runs):
            started = time.perf_counter()
            window.compare.run_button.click()
            status = wait_for(window.compare.run_finished, 300_000)[0]
            print(f"run {status.value} in {time.perf_counter() - started:.1f} s, "
                  f"{len(window.compare.cells)} cells")
            errors = {o.error for o in window.compare.outputs.values() if o.error}
            if status.value != "done" or errors:
                raise SystemExit(f"the run did not complete: {errors or window.compare.state.text()}")
    report("idle", baseline.gaps)
    report("streaming", streaming.gaps)
    worst = max(streaming.gaps)
    print(f"largest gap while streaming: {worst} ms (goal < {GOAL_MS} ms), "
          f"{worst / max(baseline.gaps):.1f}x the idle window's")
    long_gaps = streaming.long_gaps(args.culprits_over)
    if long_gaps:
        print(f"the GUI thread during the longest gaps >= {args.culprits_over} ms (sampled "
              f"every {SAMPLE_EVERY_S * 1000:.0f} ms once a tick is "
              f"{LATE_S * 1000:.0f} ms overdue):")
        for gap, culprits in long_gaps:
            print(f"  {gap} ms:")
            for stack, count in culprits.most_common(4):
                print(f"    {count:3d} x {stack}")
    window.compare.stop()
    window.close()
    services.models.close()
    services.store.close()
    sys.stdout.flush()
    os._exit(0)  # as the app does (ui/app.py: leave_now)


if __name__ == "__main__":
    main()
