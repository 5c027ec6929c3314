"""One long retrieval job at a time (add files, re-chunk, re-embed) as a strip: what it is
doing, a progress bar, Cancel.

The service call is blocking and reports into a ``JobState``; it runs off the GUI thread as a
``run_in_background`` call and the window's one ``JobBridge`` brings its progress and end to
the GUI thread. Whatever the service does with the job, the strip ends it once the call
returns or raises (finishing twice is a no-op), so a service that only reports progress is
enough.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ...core.job_state import JobProgress, JobState
from ..jobs import JobBridge, run_in_background


class JobStrip(QWidget):
    ended = Signal(object)  # the JobState: status (done / cancelled / failed), outcome, error

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.label = QLabel("")
        self.label.setMaximumWidth(520)  # a long file name must not push Cancel away
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.label)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel_button)
        self.cancel_button.clicked.connect(self.cancel)
        self.state: JobState | None = None
        self.hide()

    @property
    def running(self) -> bool:
        return self.state is not None and not self.state.done.is_set()

    def start(self, title: str, work: Callable[[JobState], Any]) -> JobState:
        """Run ``work(job)`` off the GUI thread; ``ended`` tells how it went."""
        state = self.state = JobState(title)
        bridge = JobBridge(self).bind(state)
        bridge.progress.connect(self._on_progress)
        bridge.finished.connect(self._on_finished)
        bridge.finished.connect(bridge.deleteLater)
        self.label.setText(f"{title}…")
        self.bar.setRange(0, 0)  # busy until the first progress says how much there is
        self.cancel_button.setEnabled(True)
        self.show()
        # Not a child of the strip: a job outlives a closed panel and still ends.
        run_in_background(lambda: work(state), None, state.finish, state.fail)
        return state

    def cancel(self) -> None:
        if self.running:
            self.cancel_button.setEnabled(False)
            self.label.setText(f"{self.state.title}: cancelling…")
            self.state.cancel()

    def _on_progress(self, progress: JobProgress) -> None:
        if self.state is not None and self.state.cancelled:
            return  # "cancelling…" stays until it has stopped
        if progress.total:
            self.bar.setRange(0, 1000)
            self.bar.setValue(int(1000 * min(1.0, progress.done / progress.total)))
            # A percentage: the services count bytes while reading, chunks while embedding.
            self.bar.setFormat("%p%")
        detail = f": {progress.message}" if progress.message else ""
        self.label.setText(f"{self.state.title if self.state else ''}{detail}")

    def _on_finished(self, state: JobState) -> None:
        self.hide()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.ended.emit(state)
