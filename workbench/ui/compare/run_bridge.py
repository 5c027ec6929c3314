"""The grid's RunListener: a run's worker threads call it, the GUI thread gets signals."""

from __future__ import annotations

import collections
import threading

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from ...core.job_state import JobWatcher


class RunBridge(QObject):
    """RunListener for worker threads: each call becomes a signal on the GUI thread.

    Tokens and cell starts are queued signals. Finished cells, verdicts and the run's end go
    through one ordered queue that the GUI thread drains BATCH at a time per turn of its event
    loop: a stop turns thousands of queued cells into outputs at once, and handling them in one
    go stalled the window for a quarter of a second.

    The run's end is read from its handle (a JobState: the RunStatus its outcome) once the
    grid ``follow``s it, and queued behind the cells it finished; the listener's own
    ``run_finished`` would only repeat it."""

    BATCH = 50

    started = Signal(str, str)
    token = Signal(str, str, str)
    finished = Signal(object)
    run_done = Signal(object)  # the RunHandle that ended: its run, its RunStatus as outcome
    annotated = Signal(str, str, object, object)  # variant id, case id, flags, scores
    evaluated = Signal(object)  # EvalResult: an output checked against its case's assertions
    _pending = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._queue: collections.deque = collections.deque()
        self._lock = threading.Lock()
        self._scheduled = False
        self._pending.connect(self._drain, Qt.ConnectionType.QueuedConnection)

    def cell_started(self, variant_id, case_id):
        self.started.emit(variant_id, case_id)

    def cell_token(self, variant_id, case_id, text):
        self.token.emit(variant_id, case_id, text)

    def cell_finished(self, output):
        self._put(self.finished, (output,))

    def follow(self, handle) -> None:
        """``run_done`` once ``handle`` ends (at once if it has). Thread-safe: a resume is
        started off the GUI thread."""
        handle.watch(JobWatcher(on_finished=lambda ended: self._put(self.run_done, (ended,))))

    def run_finished(self, run_id, status):
        """Part of the RunListener protocol; the end comes from the handle (``follow``)."""

    def cell_annotated(self, output_id, variant_id, case_id, flags, scores):
        self.annotated.emit(variant_id, case_id, list(flags), dict(scores))

    def cell_evaluated(self, result):
        self._put(self.evaluated, (result,))

    def _put(self, signal, args: tuple) -> None:
        with self._lock:
            self._queue.append((signal, args))
            if self._scheduled:
                return
            self._scheduled = True
        self._pending.emit()

    def _drain(self) -> None:
        for _ in range(self.BATCH):
            with self._lock:
                if not self._queue:
                    self._scheduled = False
                    return
                signal, args = self._queue.popleft()
            signal.emit(*args)
        QTimer.singleShot(0, self, self._drain)  # the rest after the event loop's turn
